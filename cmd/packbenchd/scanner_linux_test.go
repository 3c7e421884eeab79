package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/device/devicetest"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/station"
)

// TestScannerConfig: [[scanners]] decodes, PACKBENCH_SCANNER adds one, and
// bad entries stop the daemon before it opens anything.
func TestScannerConfig(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "bench.toml")
	if err := os.WriteFile(file, []byte(minimalTOML+`
[[scanners]]
name = "left"
path = "/dev/input/by-id/usb-Left-event-kbd"
layout = "de"
suffix = "tab"
idle_gap = "100ms"
[[scanners]]
path = "/dev/ttyACM0"
baud = 115200
`), 0o644); err != nil {
		t.Fatal(err)
	}
	cfg, err := loadConfig(file, envMap(map[string]string{"PACKBENCH_SCANNER": "/dev/input/by-id/usb-Env-event-kbd"}))
	if err != nil {
		t.Fatal(err)
	}
	if err := cfg.finish(flagValues{dataDir: dir}, envMap(nil), noHome, host); err != nil {
		t.Fatal(err)
	}
	want := []device.ScannerConfig{
		{Name: "left", Path: "/dev/input/by-id/usb-Left-event-kbd", Kind: "evdev", Layout: "de", Suffix: "tab", IdleGap: device.Duration(100 * time.Millisecond)},
		{Name: "ttyACM0", Path: "/dev/ttyACM0", Kind: "serial", Baud: 115200},
		{Name: "usb-Env-event-kbd", Path: "/dev/input/by-id/usb-Env-event-kbd", Kind: "evdev"},
	}
	if len(cfg.Scanners) != len(want) {
		t.Fatalf("scanners %+v, want %d", cfg.Scanners, len(want))
	}
	for i, w := range want {
		g := cfg.Scanners[i].WithDefaults()
		if g.Name != w.Name || g.Path != w.Path || g.Kind != w.Kind || (w.Layout != "" && g.Layout != w.Layout) ||
			(w.Suffix != "" && g.Suffix != w.Suffix) || g.IdleGap != w.IdleGap || (w.Baud != 0 && g.Baud != w.Baud) {
			t.Errorf("scanner %d: %+v, want %+v", i, g, w)
		}
	}

	for _, tc := range []struct{ toml, want string }{
		{"[[scanners]]\nlayout = \"us\"\n", "scanners[0]: device: invalid config: scanner path: required"},
		{"[[scanners]]\npath = \"/dev/input/event3\"\nlayout = \"dvorak\"\n", `scanners[0]: device: invalid config: scanner "event3": layout "dvorak"`},
		{"[[scanners]]\npath = \"/a/kbd\"\n[[scanners]]\npath = \"/b/kbd\"\n", `scanners[1]: name "kbd": used by another scanner`},
		{"[[scanners]]\npath = \"/dev/input/event3\"\nsufix = \"tab\"\n", "unknown key scanners.sufix"},
	} {
		if err := os.WriteFile(file, []byte(minimalTOML+tc.toml), 0o644); err != nil {
			t.Fatal(err)
		}
		cfg, err := loadConfig(file, envMap(nil))
		if err == nil {
			err = cfg.finish(flagValues{dataDir: dir}, envMap(nil), noHome, host)
		}
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%q: %v, want an error containing %q", tc.toml, err, tc.want)
		}
	}

	example, err := loadConfig("packbench.example.toml", envMap(nil))
	if err != nil {
		t.Fatal(err)
	}
	if len(example.Scanners) != 1 || !strings.HasSuffix(example.Scanners[0].Path, "-event-kbd") {
		t.Errorf("example [[scanners]] not decoded: %+v", example.Scanners)
	}
}

// TestDaemonScanners drives the real daemon with no browser: keyboard-mode
// scanners (a German one from [[scanners]], a US one from
// PACKBENCH_SCANNER) write input_event bytes into FIFOs; a scan arms its
// order, a placement on the simulated scale prints one label at the
// printer emulator, a scanner unplugged and plugged back is read again
// with no restart, and an unknown code shows as the flow's problem.
func TestDaemonScanners(t *testing.T) {
	emu, addr := emulator(t, nil)
	dir := t.TempDir()
	de, err := devicetest.NewKeyboardScanner(filepath.Join(dir, "usb-DE-event-kbd"), device.NativeEventLayout, "de")
	if err != nil {
		t.Fatal(err)
	}
	defer de.Close()
	us, err := devicetest.NewKeyboardScanner(filepath.Join(dir, "usb-US-event-kbd"), device.NativeEventLayout, "us")
	if err != nil {
		t.Fatal(err)
	}
	defer us.Close()
	cfgFile := benchConfig(t, dir, addr, "[[scanners]]\nname = \"left\"\nlayout = \"de\"\npath = "+`"`+de.Path()+`"`+"\n")
	key := "scanner-test-key-0123456789abcdef0123456789"
	d := startDaemon(t, dir, []string{"PACKBENCH_API_KEY=" + key, "PACKBENCH_SCANNER=" + us.Path()}, "--config", cfgFile)
	d.key = key

	o1 := createOrder(t, d, "LPN-Zy-1", 1)
	o2 := createOrder(t, d, "LPN-Zy-2", 1)
	armedWith := func(id string) func(station.FlowState) bool {
		return func(f station.FlowState) bool {
			return f.State == station.FlowArmed && f.Order != nil && f.Order.ID == id
		}
	}

	// The German scanner's Z and y are KEY_Y and KEY_Z: read with its
	// layout they arm the right order.
	if err := de.Scan("LPN-Zy-1"); err != nil {
		t.Fatal(err)
	}
	waitFlow(t, d, "order 1 armed by the de scanner", armedWith(o1.ID))
	d.must("POST", "/api/v1/scale/sim", map[string]any{"grams": 1250}, nil)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := emu.WaitLabels(ctx, 1); err != nil {
		t.Fatal(err)
	}
	waitFlow(t, d, "label printed", func(f station.FlowState) bool {
		return f.Order != nil && f.Order.ID == o1.ID && f.JobState == queue.StatePrinted
	})
	d.must("POST", "/api/v1/scale/sim", map[string]any{"grams": 0}, nil)

	// The second scanner, from the environment, unplugged and back.
	if err := us.Unplug(); err != nil {
		t.Fatal(err)
	}
	if _, err := d.waitLog(regexp.MustCompile(`scanner unavailable.*usb-US-event-kbd`), 10*time.Second); err != nil {
		t.Fatalf("no outage logged: %v", err)
	}
	if err := us.Plug(); err != nil {
		t.Fatal(err)
	}
	if err := us.Scan("LPN-Zy-2"); err != nil {
		t.Fatal(err)
	}
	waitFlow(t, d, "order 2 armed by the replugged us scanner", armedWith(o2.ID))
	if n := len(emu.Labels()); n != 1 {
		t.Fatalf("%d labels at the printer, want exactly 1", n)
	}

	// An unknown code: the flow says so (the page, MQTT and status show it).
	if err := de.Scan("NO-SUCH-ORDER"); err != nil {
		t.Fatal(err)
	}
	poll(t, "no_order problem", 20*time.Second, func() (bool, error) {
		var f station.FlowState
		_, err := d.call("GET", "/api/v1/flow", nil, &f)
		return err == nil && f.Problem != nil && f.Problem.Code == station.ProblemNoOrder, err
	})
	// A command barcode from the scanner works with no screen: the last
	// label is printed again (issue 16: scans drive the flow).
	if err := de.Scan("PB-CMD-REPRINT"); err != nil {
		t.Fatal(err)
	}
	if err := emu.WaitLabels(ctx, 2); err != nil {
		t.Fatalf("no reprint after the command barcode: %v", err)
	}
	if labels := emu.Labels(); !bytes.Equal(labels[0], labels[1]) {
		t.Errorf("the reprint differs from the label:\n%s\n%s", labels[0], labels[1])
	}
	if !strings.Contains(d.log(), "scanners=2") {
		t.Errorf("the ready line does not count two scanners:\n%s", d.log())
	}
}
