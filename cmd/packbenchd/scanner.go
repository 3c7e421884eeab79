package main

import (
	"context"
	"fmt"

	"github.com/packbench/packbench/device"
)

// scannerEnvOverrides are the PACKBENCH_* variables for [[scanners]].
func scannerEnvOverrides() []envOverride {
	return []envOverride{
		{"PACKBENCH_SCANNER", "adds a [[scanners]] entry with this path (/dev/input/by-id/...-event-kbd, /dev/ttyACM0)", func(c *Config, v string) error {
			c.Scanners = append(c.Scanners, device.ScannerConfig{Path: v})
			return nil
		}},
	}
}

// validateScanners checks every [[scanners]] entry; names (default: the
// path's base name) must be unique, as they name scans in logs.
func (c *Config) validateScanners() error {
	seen := map[string]bool{}
	for i, s := range c.Scanners {
		if err := s.Validate(); err != nil {
			return fmt.Errorf("config: scanners[%d]: %w", i, err)
		}
		name := s.WithDefaults().Name
		if seen[name] {
			return fmt.Errorf("config: scanners[%d]: name %q: used by another scanner; set name to tell them apart", i, name)
		}
		seen[name] = true
	}
	return nil
}

// openScanners makes one reader per [[scanners]] entry. Nothing is opened
// yet: a scanner that is not plugged in is waited for by Run, so the bench
// starts without it.
func (b *bench) openScanners() error {
	for _, sc := range b.cfg.Scanners {
		s, err := device.NewScanner(sc, &device.ScannerOptions{
			Logger: b.log,
			OnOpen: func(name string, grabbed bool) {
				b.log.Info("scanner open", "scanner", name, "path", sc.Path, "grabbed", grabbed)
			},
		})
		if err != nil {
			return fmt.Errorf("scanner %q: %w", sc.Path, err)
		}
		b.scanners = append(b.scanners, s)
	}
	return nil
}

// runScanner reads one scanner until ctx ends; each code goes to the
// station as a scan on the page does (an order's code arms it).
func (b *bench) runScanner(ctx context.Context, s *device.Scanner) error {
	return s.Run(ctx, func(sc device.Scan) {
		if _, err := b.station.Scan(ctx, sc.Code); err != nil {
			// The station records the problem on the flow (the page,
			// MQTT state and status show it).
			b.log.Warn("scan not taken", "scanner", sc.Source, "code", sc.Code, "err", err)
		}
	})
}
