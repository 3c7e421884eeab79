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

	"github.com/packbench/packbench/device/devicetest"
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

// guideDaemon starts the real daemon with the printer emulator and the
// configuration a guide shows (its last toml block), with key as the API key.
func guideDaemon(t *testing.T, blocks []docBlock, key string) (*daemon, *devicetest.Emulator) {
	t.Helper()
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
	d := startDaemon(t, dir, []string{"PACKBENCH_API_KEY=" + key}, "--config", cfgFile)
	d.key = key
	return d, emu
}

// runGuide runs a guide's sh examples in order, each in bash with env
// (from env(), so an example may add to it for the next), and checks each
// answer shown after one. after, if not nil, sees every example's output.
// It returns how many examples ran.
func runGuide(t *testing.T, blocks []docBlock, env func() []string, after func(n int, out []byte)) int {
	t.Helper()
	ran := 0
	for i, b := range blocks {
		if b.lang != "sh" {
			continue
		}
		cmd := exec.Command("bash", "-euo", "pipefail", "-c", b.text)
		cmd.Dir = t.TempDir()
		cmd.Env = env()
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("example %d: %v\n%s\n%s%s", ran+1, err, b.text, out, stderr.Bytes())
		}
		ran++
		if after != nil {
			after(ran, out)
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
	return ran
}

// TestFulfilGuide runs docs/integrations/fulfil.md: its configuration on
// the real daemon, each curl example, and each answer shown after one.
func TestFulfilGuide(t *testing.T) {
	blocks := docBlocks(t, filepath.Join("..", "..", "docs", "integrations", "fulfil.md"))
	d, emu := guideDaemon(t, blocks, fulfilKey)
	env := []string{"BENCH=" + d.url, "KEY=" + fulfilKey, "PATH=" + os.Getenv("PATH")}
	ran := runGuide(t, blocks, func() []string { return env }, nil)
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
