// Command packbenchd is the bench daemon: it reads the config, opens the
// queue, the printers and the scale, serves the API and, when [mqtt] url
// (or PACKBENCH_MQTT_URL) is set, keeps the MQTT link to the cloud. It only
// wires the packages together; the bench's logic lives in station, api,
// device, scale, queue and uplink.
//
// The MQTT wiring (mqtt.go; uplink.StationIntake, uplink.BenchCommands): pushed jobs become
// queue jobs keyed "mqtt:"+id (label specs rendered at [label] size and
// dpi, images converted, ZPL checked; orders go to the station), cmd/<verb>
// runs reprint, cancel, retry, tare, zero, test-print and config-get, the
// retained state follows the printers and the flow, and the health reports
// the link. One test hook exists only in a build tagged packbench_testhooks,
// off unless set: PACKBENCH_TEST_EXIT_AFTER_COMMIT=1 (exit after a push's
// commit, before its acknowledgement); the production binary has none.
//
// With no --config it runs the embedded default: a simulated scale, a spool
// printer in <data-dir>/spool and the API on localhost:8080.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/signal"
	"syscall"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if err := run(); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return
		}
		fmt.Fprintln(os.Stderr, "packbenchd:", err)
		if errors.Is(err, errRestart) {
			os.Exit(exitRestart) // systemd starts it again, into the new version
		}
		os.Exit(1)
	}
}

func run() error {
	// The first Ctrl-C (or SIGTERM) stops in order, letting a printing
	// label finish; a second one stops at once (the job is then recorded
	// uncertain).
	sigs := make(chan os.Signal, 2)
	signal.Notify(sigs, os.Interrupt, syscall.SIGTERM)
	defer signal.Stop(sigs)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	hurry := make(chan struct{})
	go func() {
		<-sigs
		cancel()
		<-sigs
		close(hurry)
	}()
	return runDaemon(ctx, os.Args[1:], os.Getenv, os.Stderr, hurry)
}

const usageText = `usage: packbenchd [--config FILE] [--data-dir DIR] [--listen HOST:PORT] [--log-level LEVEL]

Runs the packing bench. Without --config it runs the embedded default: a
simulated scale, a spool printer writing every label (ZPL and a PNG preview)
into DIR/spool, the API on localhost:8080, the offline local carrier.

Flags win over PACKBENCH_* variables, which win over the config file.

flags:
`

// runDaemon is the whole daemon with its process inputs passed in.
func runDaemon(ctx context.Context, args []string, getenv func(string) string, stderr io.Writer, hurry <-chan struct{}) error {
	fs := flag.NewFlagSet("packbenchd", flag.ContinueOnError)
	fs.SetOutput(stderr)
	var f flagValues
	configFile := fs.String("config", "", "TOML config `FILE` (default: $PACKBENCH_CONFIG, else the embedded default)")
	fs.StringVar(&f.dataDir, "data-dir", "", "data `DIR` for packbench.db, the spool folder and the API key")
	fs.StringVar(&f.listen, "listen", "", "API address `HOST:PORT` (default localhost:8080)")
	fs.StringVar(&f.logLevel, "log-level", "", "debug, info, warn or error")
	showVersion := fs.Bool("version", false, "print the version and exit")
	fs.Usage = func() {
		fmt.Fprint(stderr, usageText)
		fs.PrintDefaults()
		fmt.Fprintln(stderr, "\nenvironment:")
		fmt.Fprintf(stderr, "  %-24s %s\n", "PACKBENCH_CONFIG", "config file, when --config is not given")
		for _, e := range envOverrides() {
			fmt.Fprintf(stderr, "  %-24s %s\n", e.name, e.help)
		}
	}
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	if *showVersion {
		fmt.Fprintln(stderr, "packbenchd", version)
		return nil
	}
	if *configFile == "" {
		*configFile = getenv("PACKBENCH_CONFIG")
	}
	cfg, err := loadConfig(*configFile, getenv)
	if err != nil {
		return err
	}
	if err := cfg.finish(f, getenv, os.UserHomeDir, os.Hostname); err != nil {
		return err
	}
	level, _ := parseLevel(cfg.Bench.LogLevel) // validated by finish
	log := newLogger(stderr, level)

	pending := firmwareBoot(cfg, args, getenv, log)

	key, err := apiKey(cfg.API.Key, cfg.Bench.DataDir, stderr)
	if err != nil {
		return err
	}
	b, err := newBench(cfg, key, log, &benchOptions{FirmwarePending: pending, Hurry: hurry})
	if err != nil {
		return err
	}
	return b.run(ctx)
}

// newLogger logs text to w without timestamps: journald adds its own.
func newLogger(w io.Writer, level slog.Level) *slog.Logger {
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{
		Level: level,
		ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey && len(groups) == 0 {
				return slog.Attr{}
			}
			return a
		},
	}))
}
