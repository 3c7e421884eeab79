package main

import (
	"context"
	"fmt"
	"net"

	"github.com/packbench/packbench/api"
	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/internal/duration"
)

// Raw9100Config is [raw9100]: the bench listens like a network Zebra
// printer (api.Raw9100). Off while listen is empty.
type Raw9100Config struct {
	// Listen is host:port, e.g. "0.0.0.0:9100"; empty: off.
	Listen string `toml:"listen" json:"listen"`
	// Printer receives the jobs; default: the default printer (the flow's).
	Printer string `toml:"printer" json:"printer"`
	// Limits; zero means the default (see packbench.example.toml).
	MaxConnections int               `toml:"max_connections" json:"max_connections"` // 16
	MaxFormat      int               `toml:"max_format" json:"max_format"`           // 4 MiB, and at most that
	MaxBytes       int64             `toml:"max_bytes" json:"max_bytes"`             // 64 MiB per connection
	IdleTimeout    duration.Duration `toml:"idle_timeout" json:"idle_timeout"`       // 30s without a byte
}

// raw9100Env is PACKBENCH_RAW9100_LISTEN.
var raw9100Env = envOverride{"PACKBENCH_RAW9100_LISTEN", "[raw9100] listen: HOST:PORT, e.g. 0.0.0.0:9100 (turns the raw 9100 port on)",
	func(c *Config, v string) error { c.Raw9100.Listen = v; return nil }}

// finishLimits fills the zero limits of a listening [raw9100] with the
// defaults, so the config view shows what is in force.
func (r *Raw9100Config) finishLimits() {
	if r.Listen == "" {
		return
	}
	setDefault(&r.MaxConnections, api.DefaultRaw9100Conns)
	setDefault(&r.MaxFormat, api.DefaultRaw9100MaxFormat)
	setDefault(&r.MaxBytes, api.DefaultRaw9100MaxBytes)
	setDefault(&r.IdleTimeout, duration.Duration(api.DefaultRaw9100Idle))
}

// validate checks [raw9100] against the printers; the limits are
// checked again by api.NewRaw9100.
func (r Raw9100Config) validate(printers []device.PrinterConfig) error {
	if r.Listen == "" {
		if r.Printer != "" || r.MaxConnections != 0 || r.MaxFormat != 0 || r.MaxBytes != 0 || r.IdleTimeout != 0 {
			return fmt.Errorf("config: [raw9100] sets limits or a printer but no listen address (the port is off)")
		}
		return nil
	}
	if _, _, err := net.SplitHostPort(r.Listen); err != nil {
		return fmt.Errorf("config: raw9100.listen %q: want host:port (e.g. 0.0.0.0:9100): %v", r.Listen, err)
	}
	if r.Printer != "" {
		found := false
		for _, p := range printers {
			found = found || p.Name == r.Printer
		}
		if !found {
			return fmt.Errorf("config: raw9100.printer %q: no [[printer]] has that name", r.Printer)
		}
	}
	if r.MaxConnections < 0 || r.MaxFormat < 0 || r.MaxBytes < 0 || r.IdleTimeout < 0 {
		return fmt.Errorf("config: raw9100: limits must be positive (0 means the default)")
	}
	if r.MaxFormat > api.DefaultRaw9100MaxFormat {
		return fmt.Errorf("config: raw9100.max_format: at most %d bytes (a job's payload limit), got %d", api.DefaultRaw9100MaxFormat, r.MaxFormat)
	}
	return nil
}

// openRaw9100 makes the raw 9100 listener when [raw9100] listen is set
// and binds its port, so a port in use stops the daemon before READY.
func (b *bench) openRaw9100() error {
	rc := b.cfg.Raw9100
	if rc.Listen == "" {
		return nil
	}
	var err error
	b.raw, err = api.NewRaw9100(b.db, b.station, b.view, &api.Raw9100Options{
		Printer: rc.Printer, MaxConnections: rc.MaxConnections, MaxFormat: rc.MaxFormat,
		MaxBytes: rc.MaxBytes, IdleTimeout: rc.IdleTimeout.Std(), Logger: b.log,
	})
	if err != nil {
		return fmt.Errorf("raw9100: %w", err)
	}
	if b.rawLn, err = net.Listen("tcp", rc.Listen); err != nil {
		return fmt.Errorf("raw9100: listen: %w", err)
	}
	return nil
}

// raw9100Addr is where the raw 9100 port listens; "" when it is off. The
// mDNS _pdl-datastream._tcp announcement takes its port from here.
func (b *bench) raw9100Addr() string {
	if b.rawLn == nil {
		return ""
	}
	return b.rawLn.Addr().String()
}

// runRaw9100 serves the raw 9100 port until ctx ends.
func (b *bench) runRaw9100(ctx context.Context) error {
	b.log.Info("raw 9100 port listening: ZPL sent here prints like on a network Zebra", "addr", b.raw9100Addr(), "printer", b.raw.Printer())
	return b.raw.Serve(ctx, b.rawLn)
}

// PrinterStatus implements api.PrinterStatusSource: the status the
// printer's worker last reported.
func (v *printerView) PrinterStatus(name string) (device.Status, bool) {
	s, ok := v.get(name)
	return s.st, ok
}

var _ api.PrinterStatusSource = (*printerView)(nil)
