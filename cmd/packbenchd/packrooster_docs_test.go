package main

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestPackroosterGuide runs docs/integrations/packrooster.md: its
// configuration on the real daemon, each curl example in order (the
// credential the first one makes is $CLIENT_ID and $CLIENT_SECRET for the
// rest), and each answer shown after one.
func TestPackroosterGuide(t *testing.T) {
	blocks := docBlocks(t, filepath.Join("..", "..", "docs", "integrations", "packrooster.md"))
	d, _ := guideDaemon(t, blocks, packroosterKey)
	env := []string{"BENCH=" + d.url, "KEY=" + packroosterKey, "PATH=" + os.Getenv("PATH")}
	var outputs []string
	ran := runGuide(t, blocks, func() []string { return env }, func(n int, out []byte) {
		outputs = append(outputs, string(out))
		if n != 1 {
			return
		}
		var c struct {
			ClientID     string `json:"client_id"`
			ClientSecret string `json:"client_secret"`
		}
		if err := json.Unmarshal(out, &c); err != nil || c.ClientID == "" || c.ClientSecret == "" {
			t.Fatalf("the first example made no credential: %v: %s", err, out)
		}
		env = append(env, "CLIENT_ID="+c.ClientID, "CLIENT_SECRET="+c.ClientSecret)
	})
	if ran < 8 {
		t.Fatalf("ran %d examples", ran)
	}
	// The label URL example: the PNG, then the ZPL, with no credential.
	found := false
	for _, o := range outputs {
		if o == "200 image/png\n200 application/zpl\n" {
			found = true
		}
	}
	if !found {
		t.Errorf("no example fetched the label URL as PNG and ZPL: %q", outputs)
	}
	// The repeated call printed nothing: one print job in all (the
	// return label is not printed). Whether it printed before the cancel
	// is the printer's race, so the jobs are counted, not the labels.
	var jl struct {
		Jobs []json.RawMessage `json:"jobs"`
	}
	d.must("GET", "/api/v1/jobs?limit=500", nil, &jl)
	if len(jl.Jobs) != 1 {
		t.Errorf("%d print jobs, want 1", len(jl.Jobs))
	}
	if strings.Contains(d.log(), packroosterKey) {
		t.Error("the API key is in the daemon's log")
	}
	d.stop()
}
