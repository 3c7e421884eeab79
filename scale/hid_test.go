package scale_test

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/packbench/packbench/scale"
	"github.com/packbench/packbench/scale/scaletest"
)

func newHIDBench(t *testing.T) *scaletest.HIDBench {
	t.Helper()
	b, err := scaletest.NewHIDBench(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	return b
}

func plug(t *testing.T, b *scaletest.HIDBench, n int, desc []byte, name string) *scaletest.HIDScale {
	t.Helper()
	s, err := b.Plug(n, desc, name)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

func TestFindHIDScales(t *testing.T) {
	b := newHIDBench(t)
	plug(t, b, 0, scaletest.KeyboardDescriptor, "Some Keyboard")
	plug(t, b, 10, scaletest.ScaleDescriptor, "DYMO M25")
	plug(t, b, 2, scaletest.ScaleDescriptor, "DYMO M10")
	got, err := scale.FindHIDScales(b.Sysfs, b.Dev)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || !strings.HasSuffix(got[0].Path, "/hidraw2") || !strings.HasSuffix(got[1].Path, "/hidraw10") {
		t.Fatalf("found %+v: want hidraw2, hidraw10 and not the keyboard", got)
	}
	if got[0].Name != "DYMO M10" || got[0].ID != "0003:00000922:00008003" {
		t.Errorf("uevent: %+v", got[0])
	}
	none, err := scale.FindHIDScales(t.TempDir(), "/dev")
	if err != nil || len(none) != 0 {
		t.Errorf("empty sysfs: %v %v", none, err)
	}
}

func hidOpener(t *testing.T, b *scaletest.HIDBench) scale.Opener {
	t.Helper()
	open, err := scale.NewOpener(scale.Config{Driver: "hid"}, &scale.Options{SysfsRoot: b.Sysfs, DevRoot: b.Dev, OpenHID: b.Open})
	if err != nil {
		t.Fatal(err)
	}
	return open
}

func TestHIDReadsNewestAndSkipsNonWeights(t *testing.T) {
	b := newHIDBench(t)
	s := plug(t, b, 3, scaletest.ScaleDescriptor, "DYMO M10")
	c, err := hidOpener(t, b)(context.Background())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	// Not weights: another report id, an all-zero buffer: skipped.
	for _, rep := range [][]byte{hexb("01 02 03 04 05 06"), hexb("00 00 00 00 00 00")} {
		if err := s.Send(rep); err != nil {
			t.Fatal(err)
		}
	}
	// A weight report in a unit we cannot convert: a fault, not silence
	// (which would keep repeating the previous weight).
	if err := s.Send(hexb("03 04 00 00 90 00")); err != nil {
		t.Fatal(err)
	}
	if r, err := c.Next(ctx); err != nil || r.Status != scale.StatusFault || !errors.Is(r.Err, scale.ErrUnknownUnit) {
		t.Fatalf("unknown unit: %v %v", r, err)
	}
	// Then 40 motion reports climbing to 7.8 oz, and the stable one.
	for i := 1; i <= 40; i++ {
		if err := s.Send([]byte{3, 3, 11, 0xff, byte(i), 0}); err != nil {
			t.Fatal(err)
		}
	}
	if err := s.Send(hexb("03 04 0b ff 4e 00")); err != nil {
		t.Fatal(err)
	}
	prev := int64(-1)
	for {
		r, err := c.Next(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if !r.HasWeight() || r.Milligrams < prev {
			t.Fatalf("reading %v after %d mg: stale or not a weight", r, prev)
		}
		prev = r.Milligrams
		if r.Status == scale.StatusStable {
			if r.Milligrams != 221_126 || r.Display() != "7.8 oz" || r.Source != "hid:"+s.Path {
				t.Fatalf("got %v", r)
			}
			break
		}
	}
	// Nothing new: the last report is repeated while the device stays open.
	r, err := c.Next(ctx)
	if err != nil || r.Milligrams != 221_126 {
		t.Fatalf("hold: %v %v", r, err)
	}
	if err := c.Zero(ctx); err != nil {
		t.Fatalf("Zero: %v", err)
	}
	out, err := s.ReadOutput(5 * time.Second)
	if err != nil || string(out) != "\x02\x02" {
		t.Errorf("zero output report %x, %v; want 02 02", out, err)
	}
	if err := c.Tare(ctx); !errors.Is(err, scale.ErrNotSupported) {
		t.Errorf("Tare: %v", err)
	}
}

// Unplug gives EIO; the link publishes a fault (never 0 g), rediscovers the
// scale under its new hidraw number and reads on.
func TestHIDUnplugReplug(t *testing.T) {
	b := newHIDBench(t)
	s := plug(t, b, 3, scaletest.ScaleDescriptor, "DYMO M10")
	link := scale.NewLink(hidOpener(t, b), &scale.LinkOptions{MinBackoff: time.Millisecond, MaxBackoff: 5 * time.Millisecond, Source: "hid:auto"})
	sub, unsub := link.Subscribe(64)
	defer unsub()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error)
	go func() { done <- link.Run(ctx) }()
	defer func() { cancel(); <-done }()

	timeout := time.After(10 * time.Second)
	want := func(what string, ok func(scale.Reading) bool) scale.Reading {
		t.Helper()
		for {
			select {
			case r := <-sub:
				if ok(r) {
					return r
				}
			case <-timeout:
				t.Fatalf("timed out waiting for %s", what)
			}
		}
	}
	if err := s.Send(hexb("03 04 02 00 6e 03")); err != nil {
		t.Fatal(err)
	}
	r := want("878 g from hidraw3", func(r scale.Reading) bool { return r.Milligrams == 878_000 })
	if !strings.HasSuffix(r.Source, "/hidraw3") {
		t.Errorf("source %q", r.Source)
	}
	if err := s.Unplug(); err != nil {
		t.Fatal(err)
	}
	fault := want("a fault reading", func(r scale.Reading) bool { return r.Status != scale.StatusStable })
	if fault.Status != scale.StatusFault || fault.HasWeight() || !errors.Is(fault.Err, scale.ErrDisconnected) {
		t.Fatalf("after unplug got %v (err %v), want a disconnected fault", fault, fault.Err)
	}
	if !strings.Contains(fault.Err.Error(), "input/output error") {
		t.Errorf("fault %v does not carry the EIO", fault.Err)
	}
	// While nothing is plugged, faults say no scale was found.
	want("a no-scale fault", func(r scale.Reading) bool { return errors.Is(r.Err, scale.ErrNoScale) })
	s2 := plug(t, b, 7, scaletest.ScaleDescriptor, "DYMO M10")
	if err := s2.Send(hexb("03 04 0b ff 6f 04")); err != nil {
		t.Fatal(err)
	}
	r = want("113.5 oz from hidraw7", func(r scale.Reading) bool { return r.HasWeight() })
	if r.Milligrams != 3_217_671 || !strings.HasSuffix(r.Source, "/hidraw7") {
		t.Fatalf("after replug got %v", r)
	}
	if latest, ok := link.Latest(); !ok || !latest.HasWeight() {
		t.Errorf("Latest %v %v", latest, ok)
	}
	if err := link.Zero(context.Background()); err != nil {
		t.Errorf("Zero through the link: %v", err)
	}
}

func TestHIDNoScale(t *testing.T) {
	b := newHIDBench(t)
	plug(t, b, 0, scaletest.KeyboardDescriptor, "Some Keyboard")
	_, err := hidOpener(t, b)(context.Background())
	if !errors.Is(err, scale.ErrNoScale) || !strings.Contains(err.Error(), "--driver") {
		t.Errorf("err %v: want ErrNoScale telling how to name one", err)
	}
}
