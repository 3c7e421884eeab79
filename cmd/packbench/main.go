// Command packbench is the operator and integrator CLI for a packbench bench:
// render labels, list printers, run a printer emulator, read scales, work
// with the job queue, and talk to a running packbenchd (status, scan). Each subcommand lives in its own file; this file only
// dispatches.
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
	"strings"
	"syscall"
)

// stdio is what a subcommand may touch of the process: its streams and logger.
type stdio struct {
	in       io.Reader
	out, err io.Writer
	log      *slog.Logger
}

type command struct {
	name, summary string
	run           func(ctx context.Context, io *stdio, args []string) error
}

func commands() []command {
	return []command{
		{"render", "render a label spec (JSON) or a carrier PNG as ZPL or PNG", runRender},
		{"jobs", "list, show, retry, cancel or mark printed the bench's jobs", runJobs},
		{"printers", "list attached printers and what they speak", runPrinters},
		{"scanners", "list input devices that look like barcode scanners, with the path to configure", runScanners},
		{"printer-emulator", "run a ZPL printer emulator on TCP (and a pty)", runPrinterEmulator},
		{"weigh", "read weights from a scale", runWeigh},
		{"status", "show a running packbenchd: health, printers, scale, flow, job counts", runStatus},
		{"scan", "scan an order code (LPN, order id) at a running packbenchd, or read codes from stdin", runScan},
		{"pair", "make a pairing code (and QR code) for a screen at the bench, which then needs no API key", runPair},
		{"stock", "list, set or adjust the stock ledger of a running packbenchd", runStock},
		{"push", "publish a print job to a bench or a fleet pool over MQTT", runPush},
		{"watch", "follow a bench's events over MQTT", runWatch},
		{"discover", "list the benches and raw ZPL printers on the LAN (mDNS); --watch follows them", runDiscover},
		{"firmware", "make keys, sign and verify releases; apply, check and show firmware updates", runFirmware},
	}
}

// errUsage marks an error whose message was already printed with the usage.
var errUsage = errors.New("usage")

func main() {
	if err := run(); err != nil {
		if !errors.Is(err, errUsage) && !errors.Is(err, flag.ErrHelp) {
			fmt.Fprintln(os.Stderr, "packbench:", err)
		}
		os.Exit(2)
	}
}

func run() error {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	std := &stdio{
		in: os.Stdin, out: os.Stdout, err: os.Stderr,
		log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{
			ReplaceAttr: func(groups []string, a slog.Attr) slog.Attr {
				if a.Key == slog.TimeKey && len(groups) == 0 {
					return slog.Attr{}
				}
				return a
			},
		})),
	}
	return dispatch(ctx, std, os.Args[1:])
}

func dispatch(ctx context.Context, std *stdio, args []string) error {
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(std.err)
		if len(args) == 0 {
			return errUsage
		}
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			err := c.run(ctx, std, args[1:])
			if errors.Is(err, context.Canceled) && ctx.Err() != nil {
				return nil // Ctrl-C is a clean exit.
			}
			return err
		}
	}
	usage(std.err)
	if strings.HasPrefix(args[0], "-") {
		// One placement for every command: flags follow its name.
		return fmt.Errorf("flag %s before the command: flags go after it, e.g. 'packbench status --url URL'", args[0])
	}
	return fmt.Errorf("unknown command %q", args[0])
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "usage: packbench <command> [flags]\n\ncommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-18s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nFlags follow the command: 'packbench status --url URL'. Run 'packbench <command> -h'\n"+
		"for the flags of one command. status, scan and jobs find the running packbenchd by --url,\n"+
		"else $PACKBENCH_URL, else the address it recorded in its data dir (api-url), else the one\n"+
		"bench on the LAN (mDNS), else "+defaultAPIURL+".")
}
