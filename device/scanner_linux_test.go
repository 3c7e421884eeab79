package device_test

import (
	"context"
	"errors"
	"io"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/device/devicetest"
	"github.com/packbench/packbench/internal/backoff"
	"github.com/packbench/packbench/internal/clocktest"
)

// scanRun is one Scanner running in the background, its scans and drops
// on channels.
type scanRun struct {
	scans  chan device.Scan
	drops  chan error
	opens  chan bool // grabbed, per open
	downs  chan error
	clock  *clocktest.Clock
	done   chan error
	cancel context.CancelFunc
}

func runScanner(t *testing.T, cfg device.ScannerConfig, layout device.EventLayout) *scanRun {
	t.Helper()
	r := &scanRun{
		scans: make(chan device.Scan, 16), drops: make(chan error, 16), opens: make(chan bool, 16), downs: make(chan error, 16),
		clock: clocktest.NewClock(time.Unix(1_800_000_000, 0)), done: make(chan error, 1),
	}
	s, err := device.NewScanner(cfg, &device.ScannerOptions{
		Clock: r.clock, EventLayout: layout,
		Reopen: backoff.Backoff{Min: time.Second, Max: 4 * time.Second, Jitter: func() float64 { return 0 }},
		OnDrop: func(_ string, err error) { r.drops <- err },
		OnOpen: func(_ string, grabbed bool) { r.opens <- grabbed },
		OnDown: func(_ string, err error) { r.downs <- err },
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	go func() { r.done <- s.Run(ctx, func(sc device.Scan) { r.scans <- sc }) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-r.done:
			if err != nil {
				t.Errorf("Run: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Run did not return after cancel")
		}
	})
	return r
}

func (r *scanRun) next(t *testing.T) device.Scan {
	t.Helper()
	select {
	case sc := <-r.scans:
		return sc
	case err := <-r.drops:
		t.Fatalf("dropped instead of a scan: %v", err)
	case <-time.After(10 * time.Second):
		t.Fatal("no scan within 10s")
	}
	return device.Scan{}
}

// opened waits for the scanner to open its device and says whether it
// took the grab.
func (r *scanRun) opened(t *testing.T) bool {
	t.Helper()
	select {
	case g := <-r.opens:
		return g
	case <-time.After(10 * time.Second):
		t.Fatal("the scanner did not open its device within 10s")
	}
	return false
}

func (r *scanRun) drop(t *testing.T) error {
	t.Helper()
	select {
	case sc := <-r.scans:
		t.Fatalf("scan %q, want a drop", sc.Code)
	case err := <-r.drops:
		return err
	case <-time.After(10 * time.Second):
		t.Fatal("no drop within 10s")
	}
	return nil
}

func keyboardScanner(t *testing.T, layout device.EventLayout, kbd string) *devicetest.KeyboardScanner {
	t.Helper()
	k, err := devicetest.NewKeyboardScanner(filepath.Join(t.TempDir(), "usb-Scanner-event-kbd"), layout, kbd)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(k.Close)
	return k
}

// TestScannerReplaysLayouts: recorded event streams through a FIFO, in
// both struct layouts and two keyboard layouts, with shifted characters,
// become the codes the scanner read; a FIFO is read without the grab.
func TestScannerReplaysLayouts(t *testing.T) {
	for _, layout := range []device.EventLayout{device.EventLayout64, device.EventLayout32} {
		for _, kbd := range []string{"us", "de"} {
			t.Run(layout.String()+"/"+kbd, func(t *testing.T) {
				k := keyboardScanner(t, layout, kbd)
				r := runScanner(t, device.ScannerConfig{Name: "bench", Path: k.Path(), Layout: kbd}, layout)
				if grabbed := r.opened(t); grabbed {
					t.Fatal("a FIFO reported as grabbed")
				}
				for _, code := range []string{"LPN-Zy01", "Order#42/Ab_z", "1Z999AA10123456784"} {
					if err := k.Scan(code); err != nil {
						t.Fatal(err)
					}
					sc := r.next(t)
					if sc.Code != code || sc.Source != "bench" || !sc.At.Equal(r.clock.Now()) {
						t.Fatalf("scan %+v, want %q from bench at %v", sc, code, r.clock.Now())
					}
				}
			})
		}
	}
}

// TestScannerEvdevOverPty: input_event bytes through a pty (a character
// device that refuses EVIOCGRAB) are read the same way, ungrabbed.
func TestScannerEvdevOverPty(t *testing.T) {
	k, err := devicetest.NewKeyboardScannerPTY(device.EventLayout32, "uk")
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	r := runScanner(t, device.ScannerConfig{Path: k.Path(), Kind: "evdev", Layout: "uk"}, device.EventLayout32)
	if grabbed := r.opened(t); grabbed {
		t.Fatal("a pty reported as grabbed")
	}
	if err := k.Scan(`UK"£@#~1`); err != nil {
		t.Fatal(err)
	}
	if sc := r.next(t); sc.Code != `UK"£@#~1` {
		t.Fatalf("scan %q", sc.Code)
	}
}

// TestScannerWrongLayout: the same key events read with the wrong layout
// give another code: the layout setting matters (a German scanner's Z is
// KEY_Y).
func TestScannerWrongLayout(t *testing.T) {
	k := keyboardScanner(t, device.EventLayout64, "de")
	r := runScanner(t, device.ScannerConfig{Path: k.Path(), Layout: "us"}, device.EventLayout64)
	if err := k.Scan("ZY"); err != nil {
		t.Fatal(err)
	}
	if sc := r.next(t); sc.Code != "YZ" {
		t.Fatalf("de scan of ZY read as us: %q, want YZ", sc.Code)
	}
}

// TestScannerPartialReads: events split across reads (mid-event, mid-
// timeval) are put together.
func TestScannerPartialReads(t *testing.T) {
	for _, layout := range []device.EventLayout{device.EventLayout64, device.EventLayout32} {
		t.Run(layout.String(), func(t *testing.T) {
			k := keyboardScanner(t, layout, "us")
			r := runScanner(t, device.ScannerConfig{Path: k.Path()}, layout)
			b, err := k.Events("PART-1\n")
			if err != nil {
				t.Fatal(err)
			}
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			sz := layout.Size()
			if err := k.WriteSplit(ctx, b, 3, sz+5, 4*sz+sz/2, len(b)-1); err != nil {
				t.Fatal(err)
			}
			if sc := r.next(t); sc.Code != "PART-1" {
				t.Fatalf("scan %q, want PART-1", sc.Code)
			}
		})
	}
}

// advanceWhileWaiting moves the clock past each reopen wait the scanner
// starts, until ctx ends.
func advanceWhileWaiting(ctx context.Context, c *clocktest.Clock) {
	for c.WaitWaiters(ctx, 1) == nil {
		c.Advance(time.Minute)
	}
}

// TestScannerReplug: the device disappears (mid-scan, even) and comes back
// at the same path; the scanner reopens it with backoff on its clock, with
// no restart, and the half scan is dropped, never glued to the next.
func TestScannerReplug(t *testing.T) {
	k := keyboardScanner(t, device.EventLayout64, "us")
	r := runScanner(t, device.ScannerConfig{Path: k.Path()}, device.EventLayout64)
	r.opened(t)
	if err := k.Scan("BEFORE"); err != nil {
		t.Fatal(err)
	}
	if sc := r.next(t); sc.Code != "BEFORE" {
		t.Fatalf("scan %q", sc.Code)
	}
	half, err := k.Events("HALF")
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Write(half); err != nil {
		t.Fatal(err)
	}
	if err := k.Unplug(); err != nil {
		t.Fatal(err)
	}
	if err := r.drop(t); !errors.Is(err, device.ErrScanIncomplete) {
		t.Fatalf("half scan at unplug: %v, want ErrScanIncomplete", err)
	}
	// Unplugged: the scanner waits on its clock, retrying.
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.clock.WaitWaiters(ctx, 1); err != nil {
		t.Fatal(err)
	}
	r.clock.Advance(time.Minute) // a retry finds nothing
	if err := r.clock.WaitWaiters(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if err := k.Plug(); err != nil {
		t.Fatal(err)
	}
	if err := k.Scan("AFTER"); err != nil {
		t.Fatal(err)
	}
	actx, stop := context.WithCancel(ctx)
	defer stop()
	go advanceWhileWaiting(actx, r.clock)
	if sc := r.next(t); sc.Code != "AFTER" {
		t.Fatalf("after replug: %q, want AFTER", sc.Code)
	}
	stop()
	if n := len(r.opens); n != 1 {
		t.Fatalf("%d opens after the replug, want 1", n)
	}
	// One outage, told once (not at every failed retry).
	if n := len(r.downs); n != 1 {
		t.Fatalf("outage told %d times, want once", n)
	}
	if err := <-r.downs; !errors.Is(err, io.EOF) {
		t.Fatalf("outage cause %v, want EOF (the FIFO's writer went away)", err)
	}
	// The reopen waits grew while the device was away.
	if w := r.clock.Waited(); len(w) < 2 || w[1] <= w[0] {
		t.Fatalf("reopen waits %v: want a growing backoff", w)
	}
}

// TestScannerTooLong: a scan longer than max_length is dropped whole and
// reported; the next one is read as usual.
func TestScannerTooLong(t *testing.T) {
	k := keyboardScanner(t, device.EventLayout64, "us")
	r := runScanner(t, device.ScannerConfig{Path: k.Path(), MaxLength: 8}, device.EventLayout64)
	if err := k.Scan("123456789"); err != nil {
		t.Fatal(err)
	}
	if err := r.drop(t); !errors.Is(err, device.ErrScanTooLong) {
		t.Fatalf("drop %v, want ErrScanTooLong", err)
	}
	if err := k.Scan("12345678"); err != nil {
		t.Fatal(err)
	}
	if sc := r.next(t); sc.Code != "12345678" {
		t.Fatalf("scan %q", sc.Code)
	}
}

// TestScannerSuffixAndIdleGap: a configured suffix character ends a scan;
// with an idle gap, a scanner that sends no suffix has its scan ended by
// the injected clock.
func TestScannerSuffixAndIdleGap(t *testing.T) {
	k := keyboardScanner(t, device.EventLayout64, "us")
	r := runScanner(t, device.ScannerConfig{Path: k.Path(), Suffix: "#", IdleGap: device.Duration(80 * time.Millisecond)}, device.EventLayout64)
	b, err := k.Events("AB#")
	if err != nil {
		t.Fatal(err)
	}
	if err := k.Write(b); err != nil {
		t.Fatal(err)
	}
	if sc := r.next(t); sc.Code != "AB" {
		t.Fatalf("suffix scan %q, want AB", sc.Code)
	}
	if b, err = k.Events("NOSUFFIX-9"); err != nil {
		t.Fatal(err)
	}
	// One write below PIPE_BUF arrives in one read, so the scanner arms
	// one idle wait for the whole code.
	if err := k.Write(b); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.clock.WaitWaiters(ctx, 1); err != nil {
		t.Fatal(err)
	}
	select {
	case sc := <-r.scans:
		t.Fatalf("scan %q before the idle gap passed", sc.Code)
	default:
	}
	r.clock.Advance(79 * time.Millisecond)
	select {
	case sc := <-r.scans:
		t.Fatalf("scan %q before the idle gap passed", sc.Code)
	default:
	}
	r.clock.Advance(time.Millisecond)
	if sc := r.next(t); sc.Code != "NOSUFFIX-9" {
		t.Fatalf("idle scan %q", sc.Code)
	}
}

// TestScannerSynDropped: when the kernel drops events mid-scan the scan is
// dropped (it has holes), and the next one is whole.
func TestScannerSynDropped(t *testing.T) {
	k := keyboardScanner(t, device.EventLayout64, "us")
	r := runScanner(t, device.ScannerConfig{Path: k.Path()}, device.EventLayout64)
	a, _ := k.Events("AB")
	c, _ := k.Events("C\n")
	b := slices.Concat(a, recorded(8, 0, 0, []rec{{device.EvSyn, device.SynDropped, 0}, {device.EvKey, 31, 1}, {device.EvSyn, device.SynReport, 0}}), c)
	if err := k.Write(b); err != nil {
		t.Fatal(err)
	}
	if err := r.drop(t); !errors.Is(err, device.ErrScanIncomplete) {
		t.Fatalf("drop %v, want ErrScanIncomplete", err)
	}
	if err := k.Scan("WHOLE"); err != nil {
		t.Fatal(err)
	}
	if sc := r.next(t); sc.Code != "WHOLE" {
		t.Fatalf("scan %q", sc.Code)
	}
}

// TestScannersAtOnce: several scanners run side by side, each scan named
// by its scanner.
func TestScannersAtOnce(t *testing.T) {
	// No options: the platform's own layout (16 bytes under qemu-arm).
	k1 := keyboardScanner(t, device.NativeEventLayout, "us")
	k2 := keyboardScanner(t, device.NativeEventLayout, "fr")
	var mu sync.Mutex
	got := map[string][]string{}
	all := make(chan struct{}, 8)
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	for _, c := range []device.ScannerConfig{{Name: "left", Path: k1.Path()}, {Name: "right", Path: k2.Path(), Layout: "fr"}} {
		s, err := device.NewScanner(c, nil)
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() {
			s.Run(ctx, func(sc device.Scan) {
				mu.Lock()
				got[sc.Source] = append(got[sc.Source], sc.Code)
				mu.Unlock()
				all <- struct{}{}
			})
		})
	}
	defer func() { cancel(); wg.Wait() }()
	for i := range 2 {
		if err := k1.Scan("L" + string(rune('0'+i))); err != nil {
			t.Fatal(err)
		}
		if err := k2.Scan("R" + string(rune('0'+i))); err != nil {
			t.Fatal(err)
		}
	}
	for range 4 {
		select {
		case <-all:
		case <-time.After(10 * time.Second):
			t.Fatalf("scans so far %v", got)
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if !slices.Equal(got["left"], []string{"L0", "L1"}) || !slices.Equal(got["right"], []string{"R0", "R1"}) {
		t.Fatalf("scans %v", got)
	}
}

// TestSerialScanner: a serial scanner on a pty, lines ended by CR, LF or
// CRLF; after the port vanishes Run keeps retrying and returns nil when
// stopped.
func TestSerialScanner(t *testing.T) {
	p, err := devicetest.NewSerialScanner()
	if err != nil {
		t.Fatal(err)
	}
	defer p.Close()
	r := runScanner(t, device.ScannerConfig{Name: "ser", Path: p.Path(), Baud: 115200}, 0)
	r.opened(t) // the line is raw before the scanner sends
	if err := p.Send("ONE\r\nTWO\nTHREE\r"); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"ONE", "TWO", "THREE"} {
		if sc := r.next(t); sc.Code != want || sc.Source != "ser" {
			t.Fatalf("scan %+v, want %s from ser", sc, want)
		}
	}
	p.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if err := r.clock.WaitWaiters(ctx, 1); err != nil {
		t.Fatalf("after the port vanished the scanner must wait to retry: %v", err)
	}
}

// TestScannerConfig: defaults by path and the rules.
func TestScannerConfig(t *testing.T) {
	for path, kind := range map[string]string{
		"/dev/input/by-id/usb-X-event-kbd": device.ScannerEvdev, "/tmp/fifo": device.ScannerEvdev,
		"/dev/ttyACM0": device.ScannerSerial, "/dev/serial/by-id/usb-X": device.ScannerSerial, "/dev/pts/3": device.ScannerSerial,
	} {
		if c := (device.ScannerConfig{Path: path}).WithDefaults(); c.Kind != kind || c.Layout != "us" || c.MaxLength != device.DefaultScanMax {
			t.Errorf("%s: %+v, want kind %s", path, c, kind)
		}
	}
	for _, c := range []device.ScannerConfig{
		{}, {Path: "/x", Layout: "dvorak"}, {Path: "/x", Kind: "bluetooth"}, {Path: "/x", Suffix: "ab"},
		{Path: "/dev/ttyACM0", Baud: 7}, {Path: "/x", MaxLength: -1}, {Path: "/x", IdleGap: -1},
	} {
		if err := c.Validate(); !errors.Is(err, device.ErrConfig) {
			t.Errorf("%+v: %v, want ErrConfig", c, err)
		}
	}
}
