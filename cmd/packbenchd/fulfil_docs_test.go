package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// docBlock is one fenced block of a guide.
type docBlock struct{ lang, text string }

var reFence = regexp.MustCompile("(?ms)^```([a-z]*)\n(.*?)^```\n")

func docBlocks(t *testing.T, path string) []docBlock {
	t.Helper()
	md, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []docBlock
	for _, m := range reFence.FindAllStringSubmatch(string(md), -1) {
		out = append(out, docBlock{m[1], m[2]})
	}
	return out
}

// matchDoc checks an answer against the guide's: every member the guide
// shows is there with the same value; a string ending in "…" is a prefix.
func matchDoc(path string, want, got any) error {
	switch w := want.(type) {
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: want an object, got %v", path, got)
		}
		if len(g) != len(w) {
			return fmt.Errorf("%s: members %v, the guide shows %v", path, keys(g), keys(w))
		}
		for k, v := range w {
			if err := matchDoc(path+"."+k, v, g[k]); err != nil {
				return err
			}
		}
	case []any:
		g, ok := got.([]any)
		if !ok || len(g) != len(w) {
			return fmt.Errorf("%s: want %d items, got %v", path, len(w), got)
		}
		for i := range w {
			if err := matchDoc(fmt.Sprintf("%s[%d]", path, i), w[i], g[i]); err != nil {
				return err
			}
		}
	case string:
		g, ok := got.(string)
		if p, cut := strings.CutSuffix(w, "…"); cut && ok && strings.HasPrefix(g, p) {
			return nil
		}
		if !ok || g != w {
			return fmt.Errorf("%s: %q, the guide shows %q", path, got, w)
		}
	default:
		if fmt.Sprint(want) != fmt.Sprint(got) {
			return fmt.Errorf("%s: %v, the guide shows %v", path, got, want)
		}
	}
	return nil
}

func keys(m map[string]any) []string {
	var out []string
	for k := range m {
		out = append(out, k)
	}
	return out
}

// runGuideExamples runs a guide's sh blocks in order with bash and env
// (plus PATH), and checks each answer against the json block shown after
// it (matchDoc). It returns how many examples ran.
func runGuideExamples(t *testing.T, blocks []docBlock, env []string) int {
	t.Helper()
	ran := 0
	for i, b := range blocks {
		if b.lang != "sh" {
			continue
		}
		cmd := exec.Command("bash", "-euo", "pipefail", "-c", b.text)
		cmd.Env = append(append([]string(nil), env...), "PATH="+os.Getenv("PATH"))
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("example %d: %v\n%s\n%s%s", ran+1, err, b.text, out, stderr.Bytes())
		}
		ran++
		if i+1 < len(blocks) && blocks[i+1].lang == "json" {
			var want, got any
			if err := json.Unmarshal([]byte(blocks[i+1].text), &want); err != nil {
				t.Fatalf("the answer shown after example %d is not JSON: %v", ran, err)
			}
			if err := json.Unmarshal(out, &got); err != nil {
				t.Fatalf("example %d answered %s: %v", ran, out, err)
			}
			if err := matchDoc("answer", want, got); err != nil {
				t.Errorf("example %d: %v\n%.400s", ran, err, out)
			}
		}
	}
	return ran
}

// TestFulfilGuide runs docs/integrations/fulfil.md: its configuration on
// the real daemon, each curl example, and each answer shown after one.
func TestFulfilGuide(t *testing.T) {
	blocks := docBlocks(t, filepath.Join("..", "..", "docs", "integrations", "fulfil.md"))
	emu, addr := emulator(t, nil)
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
	d := startDaemon(t, dir, []string{"PACKBENCH_API_KEY=" + fulfilKey}, "--config", cfgFile)
	d.key = fulfilKey
	ran := runGuideExamples(t, blocks, []string{"BENCH=" + d.url, "KEY=" + fulfilKey})
	if ran < 3 {
		t.Fatalf("ran %d examples", ran)
	}
	// The two labels the guide issues were printed, once each.
	allPrinted(t, d, 2)
	if n := len(emu.Labels()); n != 2 {
		t.Errorf("%d labels printed, want 2", n)
	}
	d.stop()
}
