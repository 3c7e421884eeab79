package main

import (
	"net/http"
	"regexp"
	"strings"
	"testing"
)

// TestPairCommand: packbench pair prints a code (and its QR code) that a
// screen then redeems for a kiosk token at the real daemon.
func TestPairCommand(t *testing.T) {
	t.Setenv("PACKBENCH_API_KEY", "")
	t.Setenv("PACKBENCH_URL", "")
	t.Setenv("PACKBENCH_DATA_DIR", t.TempDir())
	dir := t.TempDir()
	url := runDaemon(t, dir)
	out, _, err := cli(t, runPair, "", "--url", url, "--data-dir", dir, "--name", "Bench 2 screen")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`pairing code: ([0-9]{4}) ([0-9]{4})\n`).FindStringSubmatch(out)
	if m == nil || !strings.Contains(out, `for "Bench 2 screen"`) || !strings.Contains(out, url+"/#pair="+m[1]+m[2]) {
		t.Fatalf("pair printed:\n%s", out)
	}
	if rows := strings.Count(out, "█"); rows < 100 {
		t.Fatalf("no QR code drawn:\n%s", out)
	}
	resp, err := http.Post(url+"/api/v1/kiosks/pair", "application/json", strings.NewReader(`{"code":"`+m[1]+" "+m[2]+`"}`))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusCreated {
		t.Fatalf("redeeming the printed code: %d", resp.StatusCode)
	}
	if _, _, err := cli(t, runPair, "", "--url", url, "--data-dir", dir, "extra"); err == nil {
		t.Fatal("pair took an argument")
	}
}
