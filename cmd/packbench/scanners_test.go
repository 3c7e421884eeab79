package main

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packbench/packbench/device"
)

// fakeInputs lays out udev's by-id links and sysfs names for a keyboard and
// a scanner, as on a bench.
func fakeInputs(t *testing.T) (byID, sysfs string) {
	t.Helper()
	root := t.TempDir()
	byID, sysfs = filepath.Join(root, "dev", "input", "by-id"), filepath.Join(root, "sys")
	if err := os.MkdirAll(byID, 0o755); err != nil {
		t.Fatal(err)
	}
	for link, node := range map[string]string{
		"usb-Logitech_USB_Keyboard-event-kbd":                    "event2",
		"usb-Honeywell_Imaging___Mobility_1900-event-kbd":        "event5",
		"usb-Honeywell_Imaging___Mobility_1900-if01-event-mouse": "event6",
	} {
		if err := os.Symlink("../"+node, filepath.Join(byID, link)); err != nil {
			t.Fatal(err)
		}
	}
	for node, name := range map[string]string{"event2": "Logitech USB Keyboard", "event5": "Honeywell Imaging & Mobility 1900"} {
		dir := filepath.Join(sysfs, "class", "input", node, "device")
		if err := os.MkdirAll(dir, 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, "name"), []byte(name+"\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return byID, sysfs
}

func runScannersCmd(t *testing.T, args ...string) string {
	t.Helper()
	var out bytes.Buffer
	std := &stdio{in: strings.NewReader(""), out: &out, err: io.Discard, log: slog.New(slog.DiscardHandler)}
	if err := runScanners(context.Background(), std, args); err != nil {
		t.Fatal(err)
	}
	return out.String()
}

// TestScannersCommand: keyboards under by-id are listed with their names,
// the scanner first, with the path to configure; a machine with none says
// so and how to proceed.
func TestScannersCommand(t *testing.T) {
	byID, sysfs := fakeInputs(t)
	var devs []device.InputDevice
	if err := json.Unmarshal([]byte(runScannersCmd(t, "--by-id", byID, "--sysfs", sysfs, "--json")), &devs); err != nil {
		t.Fatal(err)
	}
	scanner := filepath.Join(byID, "usb-Honeywell_Imaging___Mobility_1900-event-kbd")
	if len(devs) != 2 || devs[0].Path != scanner || !devs[0].Likely || devs[0].Name != "Honeywell Imaging & Mobility 1900" ||
		devs[0].Node != filepath.Join(filepath.Dir(byID), "event5") || devs[1].Likely || devs[1].Name != "Logitech USB Keyboard" {
		t.Fatalf("devices %+v", devs)
	}
	table := runScannersCmd(t, "--by-id", byID, "--sysfs", sysfs)
	if !strings.Contains(table, "path = \""+scanner+"\"") || !strings.Contains(table, "Logitech USB Keyboard") {
		t.Fatalf("table:\n%s", table)
	}

	none := runScannersCmd(t, "--by-id", filepath.Join(t.TempDir(), "missing"), "--sysfs", sysfs)
	if !strings.HasPrefix(none, "none found") || !strings.Contains(none, "/dev/ttyACM0") {
		t.Fatalf("without devices:\n%s", none)
	}
	if got := runScannersCmd(t, "--by-id", filepath.Join(t.TempDir(), "missing"), "--json"); strings.TrimSpace(got) != "[]" {
		t.Fatalf("json without devices: %q", got)
	}
}
