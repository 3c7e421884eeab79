package scale_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/packbench/packbench/scale"
	"github.com/packbench/packbench/scale/scaletest"
)

// serialRig is a pty with an emulated scale on its master side.
type serialRig struct {
	pty *scaletest.Pty
	emu *scaletest.SerialScale
}

func newSerialRig(t *testing.T, proto scaletest.Protocol) *serialRig {
	t.Helper()
	p, err := scaletest.OpenPty()
	if err != nil {
		t.Fatal(err)
	}
	emu := scaletest.NewSerialScale(proto)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); emu.Serve(ctx, p.Master) }()
	t.Cleanup(func() { cancel(); p.Close(); <-done })
	return &serialRig{pty: p, emu: emu}
}

func (r *serialRig) open(t *testing.T, cfg scale.Config) scale.Conn {
	t.Helper()
	cfg.Device = r.pty.TTYPath
	open, err := scale.NewOpener(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	c, err := open(context.Background())
	if err != nil {
		t.Fatalf("open %s through go.bug.st/serial: %v", cfg.Device, err)
	}
	t.Cleanup(func() { c.Close() })
	return c
}

// nextWith reads until a reading matches or the deadline passes: the
// continuous emulator may still be sending the previous state.
func nextWith(t *testing.T, c scale.Conn, ok func(scale.Reading) bool) scale.Reading {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	for {
		r, err := c.Next(ctx)
		if err != nil {
			t.Fatalf("Next: %v", err)
		}
		if ok(r) {
			return r
		}
	}
}

func TestSerialEndToEnd(t *testing.T) {
	oz78 := scaletest.State{Value: 78, Exp: -1, Unit: scale.UnitOunce, Status: scale.StatusStable}
	lb1234 := scaletest.State{Value: 1234, Exp: -2, Unit: scale.UnitPound, Status: scale.StatusStable}
	g100 := scaletest.State{Value: 10000, Exp: -2, Unit: scale.UnitGram, Status: scale.StatusStable}
	kgMotion := scaletest.State{Value: 145, Exp: -2, Unit: scale.UnitKilogram, Status: scale.StatusMotion}
	tests := []struct {
		name   string
		proto  scaletest.Protocol
		cfg    scale.Config
		parity bool
		state  scaletest.State
		wantMg int64
		status scale.Status
		disp   string
	}{
		{"mt-sics", scaletest.MTSICS, scale.Config{Driver: "mt-sics"}, false, g100, 100_000, scale.StatusStable, "100.00 g"},
		{"mt-sics motion", scaletest.MTSICS, scale.Config{Driver: "mt-sics"}, false, kgMotion, 1_450_000, scale.StatusMotion, "1.45 kg"},
		{"nci", scaletest.NCI, scale.Config{Driver: "nci"}, false, lb1234, 5_597_330, scale.StatusStable, "12.34 lb"},
		{"nci 7E1 bytes", scaletest.NCI, scale.Config{Driver: "nci"}, true, oz78, 221_126, scale.StatusStable, "7.8 oz"},
		{"nci 3825", scaletest.NCI3825, scale.Config{Driver: "nci"}, true, kgMotion, 1_450_000, scale.StatusMotion, "1.45 kg"},
		{"toledo", scaletest.Toledo, scale.Config{Driver: "toledo", Unit: "lb"}, false, lb1234, 5_597_330, scale.StatusStable, "12.34 lb"},
		{"toledo 7E1 bytes", scaletest.Toledo, scale.Config{Driver: "toledo", Unit: "oz"}, true, oz78, 221_126, scale.StatusStable, "7.8 oz"},
		{"toledo-cont", scaletest.ToledoCont, scale.Config{Driver: "toledo-cont"}, false, lb1234, 5_597_330, scale.StatusStable, "12.34 lb"},
		{"toledo-cont 7E1 bytes", scaletest.ToledoCont, scale.Config{Driver: "toledo-cont"}, true, kgMotion, 1_450_000, scale.StatusMotion, "1.45 kg"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rig := newSerialRig(t, tc.proto)
			rig.emu.Parity7E1(tc.parity)
			rig.emu.Set(tc.state)
			tc.cfg.PollInterval = scale.Duration(time.Millisecond)
			c := rig.open(t, tc.cfg)
			r := nextWith(t, c, func(r scale.Reading) bool { return r.Milligrams == tc.wantMg })
			if r.Status != tc.status || r.Display() != tc.disp || !r.HasWeight() {
				t.Errorf("reading %v: want %s %s", r, tc.disp, tc.status)
			}
			if r.Source == "" || r.Time.IsZero() {
				t.Errorf("reading %+v lacks source or time", r)
			}
		})
	}
}

func TestSerialZeroTare(t *testing.T) {
	ctx := context.Background()
	t.Run("mt-sics zero and tare", func(t *testing.T) {
		rig := newSerialRig(t, scaletest.MTSICS)
		rig.emu.Set(scaletest.State{Value: 512, Exp: -1, Unit: scale.UnitGram, Status: scale.StatusStable})
		c := rig.open(t, scale.Config{Driver: "mt-sics"})
		if err := c.Zero(ctx); err != nil {
			t.Fatalf("Zero: %v", err)
		}
		r := nextWith(t, c, func(scale.Reading) bool { return true })
		if r.Status != scale.StatusZero || r.Milligrams != 0 {
			t.Errorf("after zero: %v", r)
		}
		rig.emu.Set(scaletest.State{Value: 3, Exp: 0, Unit: scale.UnitGram, Status: scale.StatusMotion})
		if err := c.Tare(ctx); !errors.Is(err, scale.ErrRefused) {
			t.Errorf("Tare in motion: %v, want ErrRefused", err)
		}
		if got := rig.emu.Commands(); len(got) < 3 || got[0] != "Z" {
			t.Errorf("commands %q", got)
		}
	})
	t.Run("nci zero, no tare", func(t *testing.T) {
		rig := newSerialRig(t, scaletest.NCI)
		c := rig.open(t, scale.Config{Driver: "nci"})
		if err := c.Zero(ctx); err != nil {
			t.Fatalf("Zero: %v", err)
		}
		if err := c.Tare(ctx); !errors.Is(err, scale.ErrNotSupported) {
			t.Errorf("Tare: %v, want ErrNotSupported", err)
		}
	})
	t.Run("toledo zero sends Z", func(t *testing.T) {
		rig := newSerialRig(t, scaletest.Toledo)
		rig.emu.Set(scaletest.State{Value: 100, Exp: -2, Unit: scale.UnitPound, Status: scale.StatusStable})
		c := rig.open(t, scale.Config{Driver: "toledo", Unit: "lb"})
		if err := c.Zero(ctx); err != nil {
			t.Fatal(err)
		}
		r := nextWith(t, c, func(r scale.Reading) bool { return r.Status == scale.StatusZero })
		if r.Milligrams != 0 {
			t.Errorf("after zero: %v", r)
		}
		cmds := rig.emu.Commands()
		if cmds[0] != "Z" {
			t.Errorf("commands %q: want Z first", cmds)
		}
		rig.emu.Set(scaletest.State{Value: 100, Exp: -2, Unit: scale.UnitPound, Status: scale.StatusOver})
		if err := c.Zero(ctx); !errors.Is(err, scale.ErrRefused) {
			t.Errorf("Zero while over capacity: %v, want ErrRefused", err)
		}
		if err := c.Tare(ctx); err != nil {
			t.Errorf("Tare: %v", err)
		}
	})
	t.Run("toledo-cont has neither", func(t *testing.T) {
		rig := newSerialRig(t, scaletest.ToledoCont)
		c := rig.open(t, scale.Config{Driver: "toledo-cont"})
		if err := c.Zero(ctx); !errors.Is(err, scale.ErrNotSupported) {
			t.Errorf("Zero: %v", err)
		}
		if err := c.Tare(ctx); !errors.Is(err, scale.ErrNotSupported) {
			t.Errorf("Tare: %v", err)
		}
	})
}

// A scale that powers off stops answering: the driver reports ErrTimeout,
// never a zero weight.
func TestSerialPowerOff(t *testing.T) {
	for _, proto := range []scaletest.Protocol{scaletest.MTSICS, scaletest.NCI, scaletest.Toledo, scaletest.ToledoCont} {
		t.Run(string(proto), func(t *testing.T) {
			rig := newSerialRig(t, proto)
			rig.emu.Set(scaletest.State{Value: 250, Exp: -2, Unit: scale.UnitPound, Status: scale.StatusStable})
			c := rig.open(t, scale.Config{Driver: string(proto), Unit: "lb", ReplyTimeout: scale.Duration(150 * time.Millisecond), PollInterval: scale.Duration(time.Millisecond)})
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			// The short reply timeout keeps the power-off wait short, so a
			// loaded machine may miss it before power-off too: wait for a
			// weight, letting early timeouts pass.
			for {
				r, err := c.Next(ctx)
				if errors.Is(err, scale.ErrTimeout) {
					continue
				}
				if err != nil {
					t.Fatalf("Next before power-off: %v", err)
				}
				if r.Milligrams > 0 {
					break
				}
			}
			rig.emu.Power(false)
			for {
				r, err := c.Next(ctx)
				if errors.Is(err, scale.ErrTimeout) {
					return
				}
				if err != nil {
					t.Fatalf("Next: %v, want ErrTimeout", err)
				}
				if r.Milligrams != 1_133_981 { // frames already in flight
					t.Fatalf("after power-off got %v", r)
				}
			}
		})
	}
}

func TestSerialMisconfiguredChecksum(t *testing.T) {
	rig := newSerialRig(t, scaletest.ToledoCont)
	rig.emu.Checksum(false)
	rig.emu.Set(scaletest.State{Value: 1234, Exp: -2, Unit: scale.UnitPound, Status: scale.StatusStable})
	c := rig.open(t, scale.Config{Driver: "toledo-cont"}) // expects a checksum byte
	_, err := c.Next(context.Background())
	if err == nil {
		t.Fatal("frames without checksum accepted by a checksum reader")
	}
	c.Close() // the port is opened exclusively (TIOCEXCL)
	off := false
	c2 := rig.open(t, scale.Config{Driver: "toledo-cont", Checksum: &off})
	r := nextWith(t, c2, func(r scale.Reading) bool { return true })
	if r.Milligrams != 5_597_330 {
		t.Errorf("got %v", r)
	}
}

// A refusal ("S I" while busy) is a fault reading, not a dropped line.
func TestSerialRefusalIsFaultReading(t *testing.T) {
	rig := newSerialRig(t, scaletest.MTSICS)
	rig.emu.Set(scaletest.State{Status: scale.StatusNeedsZero})
	c := rig.open(t, scale.Config{Driver: "mt-sics", PollInterval: scale.Duration(time.Millisecond)})
	r, err := c.Next(context.Background())
	if err != nil || r.Status != scale.StatusFault || r.HasWeight() || !errors.Is(r.Err, scale.ErrRefused) {
		t.Fatalf("got %v, %v; want a fault reading wrapping ErrRefused", r, err)
	}
	rig.emu.Set(scaletest.State{Value: 5, Exp: 0, Unit: scale.UnitKilogram, Status: scale.StatusStable})
	if r := nextWith(t, c, func(r scale.Reading) bool { return r.HasWeight() }); r.Milligrams != 5_000_000 {
		t.Errorf("after recovery %v", r)
	}
}
