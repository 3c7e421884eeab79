package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
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
	_, addr := emulator(t, nil)
	dir := t.TempDir()
	var cfg string
	for _, b := range blocks {
		if b.lang == "toml" {
			cfg = b.text
		}
	}
	if cfg == "" {
		t.Fatal("the guide shows no configuration")
	}
	cfgFile := filepath.Join(dir, "bench.toml")
	if err := os.WriteFile(cfgFile, fmt.Appendf(nil, "[[printer]]\nname = \"zebra\"\ntransport = \"tcp\"\naddress = %q\n[scale]\ndriver = \"sim\"\n%s", addr, cfg), 0o644); err != nil {
		t.Fatal(err)
	}
	d := startDaemon(t, dir, []string{"PACKBENCH_API_KEY=" + packroosterKey}, "--config", cfgFile)
	d.key = packroosterKey
	env := []string{"BENCH=" + d.url, "KEY=" + packroosterKey, "PATH=" + os.Getenv("PATH")}
	ran := 0
	var outputs []string
	for i, b := range blocks {
		if b.lang != "sh" {
			continue
		}
		cmd := exec.Command("bash", "-euo", "pipefail", "-c", b.text)
		cmd.Dir = t.TempDir()
		cmd.Env = env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("example %d: %v\n%s\n%s%s", ran+1, err, b.text, out, stderr.Bytes())
		}
		ran++
		outputs = append(outputs, string(out))
		if ran == 1 { // the credential for the examples after it
			var c struct {
				ClientID     string `json:"client_id"`
				ClientSecret string `json:"client_secret"`
			}
			if err := json.Unmarshal(out, &c); err != nil || c.ClientID == "" || c.ClientSecret == "" {
				t.Fatalf("the first example made no credential: %v: %s", err, out)
			}
			env = append(env, "CLIENT_ID="+c.ClientID, "CLIENT_SECRET="+c.ClientSecret)
		}
		if i+1 < len(blocks) && blocks[i+1].lang == "json" {
			var want, got any
			if err := json.Unmarshal([]byte(blocks[i+1].text), &want); err != nil {
				t.Fatalf("the answer shown after example %d is not JSON: %v", ran, err)
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("example %d answered %s: %v", ran, out, err)
			}
			if err := matchDoc("answer", want, got); err != nil {
				t.Errorf("example %d: %v\n%.600s", ran, err, out)
			}
		}
	}
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
