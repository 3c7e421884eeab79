package main

import (
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packbench/packbench/firmware"
)

// TestFirmwareCLI walks the release tooling and an apply on a bench's
// data directory.
func TestFirmwareCLI(t *testing.T) {
	dir := t.TempDir()
	data := filepath.Join(dir, "data")
	prefix := filepath.Join(dir, "release")
	if _, _, err := cli(t, runFirmware, "", "keygen", "--out", prefix); err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "built")
	os.WriteFile(bin, []byte("packbenchd 1.4.0"), 0o755)
	rel := filepath.Join(dir, "rel")
	if _, _, err := cli(t, runFirmware, "", "release", "--key", prefix+".key", "--version", "1.4.0", "--min-version", "1.3.0", "--out", rel, bin); err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{"manifest.json", "packbenchd"} {
		if out, _, err := cli(t, runFirmware, "", "verify", "--key", prefix+".pub", filepath.Join(rel, f)); err != nil || !strings.Contains(out, "verified") {
			t.Fatalf("verify %s: %q, %v", f, out, err)
		}
	}
	// Another key is refused, and so is the apply with it.
	other := filepath.Join(dir, "other")
	cli(t, runFirmware, "", "keygen", "--out", other)
	if _, _, err := cli(t, runFirmware, "", "verify", "--key", other+".pub", filepath.Join(rel, "packbenchd")); !errors.Is(err, firmware.ErrSignature) {
		t.Fatalf("verify with another key: %v", err)
	}
	if _, _, err := cli(t, runFirmware, "", "apply", "--data-dir", data, "--trust", other+".pub", filepath.Join(rel, "manifest.json")); !errors.Is(err, firmware.ErrSignature) {
		t.Fatalf("apply with another key: %v", err)
	}
	if _, err := os.Stat(filepath.Join(data, "firmware")); !os.IsNotExist(err) {
		t.Fatalf("a refused apply wrote the store: %v", err)
	}
	out, _, err := cli(t, runFirmware, "", "apply", "--data-dir", data, "--trust", prefix+".pub", filepath.Join(rel, "manifest.json"))
	if err != nil || !strings.Contains(out, "switched to 1.4.0") {
		t.Fatalf("apply: %q, %v", out, err)
	}
	out, _, err = cli(t, runFirmware, "", "boot-check", "--data-dir", data)
	if err != nil {
		t.Fatal(err)
	}
	if b, _ := os.ReadFile(strings.TrimSpace(out)); string(b) != "packbenchd 1.4.0" {
		t.Fatalf("boot-check names %q holding %q", out, b)
	}
	out, _, err = cli(t, runFirmware, "", "status", "--data-dir", data, "--json")
	var st firmware.Status
	if err != nil || json.Unmarshal([]byte(out), &st) != nil || st.Current != "1.4.0" || st.Pending == nil || st.Pending.Starts != 1 {
		t.Fatalf("status: %s, %v", out, err)
	}
}

// TestFirmwareVerifyMinisign checks a signature made by Debian's
// minisign with `packbench firmware verify`, and ours with theirs.
func TestFirmwareVerifyMinisign(t *testing.T) {
	ms, err := exec.LookPath("minisign")
	if err != nil {
		t.Skip("minisign not installed (apt-get install -y minisign)")
	}
	dir := t.TempDir()
	file := filepath.Join(dir, "packbenchd")
	os.WriteFile(file, []byte("binary"), 0o755)
	if out, err := exec.Command(ms, "-G", "-W", "-p", filepath.Join(dir, "k.pub"), "-s", filepath.Join(dir, "k.key")).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if out, err := exec.Command(ms, "-S", "-s", filepath.Join(dir, "k.key"), "-m", file).CombinedOutput(); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if _, _, err := cli(t, runFirmware, "", "verify", "--key", filepath.Join(dir, "k.pub"), file); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cli(t, runFirmware, "", "keygen", "--out", filepath.Join(dir, "ours")); err != nil {
		t.Fatal(err)
	}
	if _, _, err := cli(t, runFirmware, "", "sign", "--key", filepath.Join(dir, "ours.key"), file); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command(ms, "-V", "-p", filepath.Join(dir, "ours.pub"), "-m", file).CombinedOutput(); err != nil {
		t.Fatalf("minisign -V: %v\n%s", err, out)
	}
}
