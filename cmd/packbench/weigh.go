package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/pelletier/go-toml/v2"

	"github.com/packbench/packbench/scale"
)

const weighUsage = `usage: packbench weigh [flags]

Reads a scale and prints its weight: once, or with --follow one line per
change (and the stable-weight filter's decisions) until Ctrl-C.

With no --driver and no --config, finds a USB HID POS scale by its report
descriptor under /sys/class/hidraw.

examples:
  packbench weigh
  packbench weigh --follow --json
  packbench weigh --driver nci --port /dev/ttyUSB0 --parity even --data-bits 7
  packbench weigh --driver toledo --port /dev/ttyS0 --unit lb
  packbench weigh --driver hx711 --hx711-data GPIO5 --hx711-clock GPIO6 --hx711-cal 420
  packbench weigh --driver sim --script "place 1200g; bounce; settle; remove"
  packbench weigh --driver mt-sics --port /dev/ttyUSB0 --zero

flags:
`

func runWeigh(ctx context.Context, std *stdio, args []string) error {
	fs := flag.NewFlagSet("weigh", flag.ContinueOnError)
	fs.SetOutput(std.err)
	fs.Usage = func() { fmt.Fprint(std.err, weighUsage); fs.PrintDefaults() }
	var (
		configPath = fs.String("config", "", "read the [scale] table of this TOML file")
		driver     = fs.String("driver", "", "scale driver: "+strings.Join(scale.Drivers(), "|"))
		port       = fs.String("port", "", "device: /dev/ttyUSB0, /dev/hidraw0 (hid: empty = auto-detect)")
		baud       = fs.Int("baud", 0, "serial baud rate (default 9600)")
		dataBits   = fs.Int("data-bits", 0, "serial data bits, 7 or 8 (default per driver)")
		parity     = fs.String("parity", "", "serial parity: none, even, odd (default per driver)")
		stopBits   = fs.Int("stop-bits", 0, "serial stop bits, 1 or 2")
		unit       = fs.String("unit", "", "toledo: the unit the scale is set to (lb, kg, oz, g)")
		poll       = fs.Duration("poll", 0, "polled drivers: time between weight requests (default 200ms)")
		timeout    = fs.Duration("timeout", 0, "reply timeout before the scale counts as gone (default 1s)")
		noChecksum = fs.Bool("no-checksum", false, "toledo-cont: frames carry no checksum byte")
		hxData     = fs.String("hx711-data", "", "hx711: DOUT pin name, e.g. GPIO5")
		hxClock    = fs.String("hx711-clock", "", "hx711: PD_SCK pin name, e.g. GPIO6")
		hxCal      = fs.Float64("hx711-cal", 0, "hx711: raw counts per gram")
		hxTare     = fs.Int64("hx711-tare", 0, "hx711: raw count with the platform empty")
		script     = fs.String("script", "", `sim: play a script, e.g. "place 1200g; bounce; settle; remove" (implies --follow)`)
		follow     = fs.Bool("follow", false, "print a line per change until Ctrl-C")
		asJSON     = fs.Bool("json", false, "print JSON lines")
		zero       = fs.Bool("zero", false, "zero the scale and exit")
		tare       = fs.Bool("tare", false, "tare the scale and exit")
		minWeight  = fs.Int64("min-mg", 0, "--follow: the filter's minimum weight in mg (default 20000, or [scale.filter] of --config)")
	)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("weigh: unexpected argument %q", fs.Arg(0))
	}

	var cfg scale.Config
	if *configPath != "" {
		b, err := os.ReadFile(*configPath)
		if err != nil {
			return fmt.Errorf("weigh: %w", err)
		}
		var file struct {
			Scale scale.Config `toml:"scale"`
		}
		if err := toml.Unmarshal(b, &file); err != nil {
			return fmt.Errorf("weigh: %s: %w", *configPath, err)
		}
		cfg = file.Scale
	}
	// Flags given on the command line override the file.
	fs.Visit(func(f *flag.Flag) {
		switch f.Name {
		case "driver":
			cfg.Driver = *driver
		case "port":
			cfg.Device = *port
		case "baud":
			cfg.Line.Baud = *baud
		case "data-bits":
			cfg.Line.DataBits = *dataBits
		case "parity":
			cfg.Line.Parity = *parity
		case "stop-bits":
			cfg.Line.StopBits = *stopBits
		case "unit":
			cfg.Unit = *unit
		case "poll":
			cfg.PollInterval = scale.Duration(*poll)
		case "timeout":
			cfg.ReplyTimeout = scale.Duration(*timeout)
		case "no-checksum":
			on := !*noChecksum
			cfg.Checksum = &on
		case "hx711-data":
			cfg.HX711.DataPin = *hxData
		case "hx711-clock":
			cfg.HX711.ClockPin = *hxClock
		case "hx711-cal":
			cfg.HX711.Calibration = *hxCal
		case "hx711-tare":
			cfg.HX711.Tare = *hxTare
		}
	})
	if *script != "" && cfg.Driver != scale.DriverSim {
		return fmt.Errorf("weigh: --script needs --driver sim")
	}
	var sc scale.Script
	if *script != "" {
		var err error
		if sc, err = scale.ParseScript(*script); err != nil {
			return fmt.Errorf("weigh: --script: %w", err)
		}
		*follow = true
	}
	sim := scale.NewSimulator(nil)
	open, err := scale.NewOpener(cfg, &scale.Options{Simulator: sim})
	if err != nil {
		return fmt.Errorf("weigh: %w", err)
	}
	out := &readingPrinter{std: std, json: *asJSON}

	switch {
	case *zero || *tare:
		return weighCommand(ctx, open, *zero, out)
	case !*follow:
		return weighOnce(ctx, open, out)
	}
	fopts := cfg.Filter // [scale.filter] of --config, if any
	if *minWeight != 0 {
		fopts.MinWeight = *minWeight
	}
	filter, err := scale.NewFilter(&fopts)
	if err != nil {
		return fmt.Errorf("weigh: filter: %w", err)
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	link := scale.NewLink(open, &scale.LinkOptions{Logger: std.log, Source: cfg.Source()})
	sub, unsub := link.Subscribe(16)
	defer unsub()
	done := make(chan error, 1)
	go func() { done <- link.Run(ctx) }()
	defer func() { cancel(); <-done }()

	scriptDone := make(chan error, 1)
	if sc != nil {
		go func() { scriptDone <- sim.Run(ctx, sc) }()
	}
	var last scale.Reading
	printed := false
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case err := <-scriptDone:
			if err != nil {
				return err
			}
			out.note("script done")
			return nil
		case r := <-sub:
			if !printed || !r.SameAs(last) {
				if err := out.reading(r); err != nil {
					return err
				}
				last, printed = r, true
			}
			if ev := filter.Feed(r); ev.Kind != scale.EventNone {
				if err := out.event(ev); err != nil {
					return err
				}
			}
		}
	}
}

// weighOnce prints one fresh reading. The first report after opening may
// be stale (HID scales), so it prints the second.
func weighOnce(ctx context.Context, open scale.Opener, out *readingPrinter) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := open(ctx)
	if err != nil {
		return fmt.Errorf("weigh: %w", err)
	}
	defer c.Close()
	var r scale.Reading
	for i := 0; i < 2; i++ {
		if r, err = c.Next(ctx); err != nil {
			return fmt.Errorf("weigh: %w", err)
		}
	}
	return out.reading(r)
}

func weighCommand(ctx context.Context, open scale.Opener, zero bool, out *readingPrinter) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	c, err := open(ctx)
	if err != nil {
		return fmt.Errorf("weigh: %w", err)
	}
	defer c.Close()
	what, do := "tare", c.Tare
	if zero {
		what, do = "zero", c.Zero
	}
	if err := do(ctx); err != nil {
		if errors.Is(err, scale.ErrNotSupported) {
			return fmt.Errorf("weigh: this scale cannot %s from the computer: %w", what, err)
		}
		return fmt.Errorf("weigh: %s: %w", what, err)
	}
	out.note(what + ": done")
	return nil
}

type readingPrinter struct {
	std  *stdio
	json bool
}

func (p *readingPrinter) reading(r scale.Reading) error {
	if p.json {
		b, err := json.Marshal(r)
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(p.std.out, "%s\n", b)
		return err
	}
	_, err := fmt.Fprintln(p.std.out, r.String())
	return err
}

func (p *readingPrinter) event(ev scale.Event) error {
	if p.json {
		b, err := json.Marshal(struct {
			Event   string        `json:"event"`
			Reading scale.Reading `json:"reading"`
		}{ev.Kind.String(), ev.Reading})
		if err != nil {
			return err
		}
		_, err = fmt.Fprintf(p.std.out, "%s\n", b)
		return err
	}
	_, err := fmt.Fprintf(p.std.out, "=> %s  %s  (%s)\n", ev.Kind, ev.Reading.Display(), ev.Reading.Grams())
	return err
}

func (p *readingPrinter) note(s string) {
	if p.json {
		b, _ := json.Marshal(map[string]string{"note": s})
		fmt.Fprintf(p.std.out, "%s\n", b)
		return
	}
	fmt.Fprintln(p.std.out, s)
}
