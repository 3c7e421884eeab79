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
	// about is the description paragraph `packbench <name> -h` prints
	// before the command's own usage.
	about string
	run   func(ctx context.Context, io *stdio, args []string) error
}

func commands() []command {
	return []command{
		{"render", "render a label spec (JSON) or a carrier PNG as ZPL or PNG",
			"Draws a label the way the bench does, without a bench: a label spec in JSON becomes native ZPL, " +
				"a raster ZPL graphic or a PNG preview; a carrier's PNG becomes the ZPL the printer gets. " +
				"Use it to check a layout or a carrier label before printing.", runRender},
		{"jobs", "list, show, retry, cancel or mark printed the bench's jobs",
			"Works with the print jobs of a bench: in its data file when the daemon is stopped, or through " +
				"a running daemon with --url. Decide an uncertain job here with retry or mark-printed.", runJobs},
		{"printers", "list attached printers and what they speak",
			"Finds the printers this machine can reach (USB, serial, the network addresses you name) and " +
				"says what language each speaks, so you know what to put in the [[printer]] config.", runPrinters},
		{"scanners", "list input devices that look like barcode scanners, with the path to configure",
			"Lists keyboard-mode barcode scanners with the stable /dev/input/by-id path to put in [[scanner]], " +
				"so the bench reads them directly, without a focused window.", runScanners},
		{"printer-emulator", "run a ZPL printer emulator on TCP (and a pty)",
			"Runs a pretend label printer that speaks real ZPL and ~HS status, for trying the bench or an " +
				"integration without paper.", runPrinterEmulator},
		{"weigh", "read weights from a scale",
			"Reads a scale with the bench's own drivers and stable-weight filter and prints each reading, " +
				"so you can check the cable, the protocol and the settle settings before starting the daemon.", runWeigh},
		{"status", "show a running packbenchd: health, printers, scale, flow, job counts",
			"Asks a running daemon how it is: health and problems, printers, the scale, the packer's flow " +
				"(with the weight the last label was printed with) and how many jobs are in each state.", runStatus},
		{"scan", "scan an order code (LPN, order id) at a running packbenchd, or read codes from stdin",
			"Sends an order barcode to a running daemon as if it was scanned at the bench, and says in plain " +
				"words what the bench did: armed the order, or why not and what to do.", runScan},
		{"pair", "make a pairing code (and QR code) for a screen at the bench, which then needs no API key",
			"Makes a short pairing code and its QR code at a running daemon: type it or scan it on the bench's " +
				"screen once, and the screen gets a token of its own that may scan, weigh and print, nothing else.", runPair},
		{"stock", "list, set or adjust the stock ledger of a running packbenchd",
			"Reads and changes the stock counts a running daemon answers Shopify's fetch_stock with.", runStock},
		{"push", "publish a print job to a bench or a fleet pool over MQTT",
			"Publishes a print job over MQTT to one bench (by its MQTT id) or to a fleet pool, the way a " +
				"cloud service does.", runPush},
		{"watch", "follow a bench's events over MQTT",
			"Subscribes to a bench's events and state on the MQTT broker and prints them as they come, " +
				"until Ctrl-C.", runWatch},
		{"discover", "list the benches and raw ZPL printers on the LAN (mDNS); --watch follows them",
			"Finds the benches (and the raw 9100 printers) that announce themselves on the local network, with " +
				"their address, version and page URL; --watch prints arrivals and departures as they happen.", runDiscover},
		{"firmware", "make keys, sign and verify releases; apply, check and show firmware updates",
			"Makes and checks signed firmware releases (minisign keys, interoperable with Debian's minisign) " +
				"and installs one on this bench, which keeps the previous version until the new one proves healthy.", runFirmware},
	}
}

// errUsage marks a usage error: the usage was printed, and the reason
// either by the flag package (an unknown flag) or by main (a usageError).
var errUsage = errors.New("usage")

// usageError is a usage error that says what was wrong.
type usageError struct{ msg string }

func (e *usageError) Error() string        { return e.msg }
func (e *usageError) Is(target error) bool { return target == errUsage }

// usagef is a usage error with its reason.
func usagef(format string, args ...any) error {
	return &usageError{msg: fmt.Sprintf(format, args...)}
}

func main() {
	os.Exit(exitCode(run(), os.Stderr))
}

// exitCode prints what went wrong and says how to exit: 0 for success and
// -h, 2 for a usage error, 1 for a failure.
func exitCode(err error, w io.Writer) int {
	var ue *usageError
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
		return 0
	case errors.As(err, &ue):
		fmt.Fprintln(w, "packbench:", ue.msg)
		return 2
	case errors.Is(err, errUsage):
		return 2
	}
	fmt.Fprintln(w, "packbench:", err)
	return 1
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
		if len(args) == 0 {
			usage(std.err)
			return usagef("no command given")
		}
		usage(std.out)
		return nil
	}
	for _, c := range commands() {
		if c.name == args[0] {
			if helpAsked(args[1:]) {
				return help(ctx, std, c, args[1:])
			}
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
		return usagef("flag %s before the command: flags go after it, e.g. 'packbench status --url URL'", args[0])
	}
	return usagef("unknown command %q", args[0])
}

// helpAsked: -h, -help or --help among the flags (before "--").
func helpAsked(args []string) bool {
	for _, a := range args {
		switch a {
		case "--":
			return false
		case "-h", "-help", "--help":
			return true
		}
	}
	return false
}

// help prints a command's description paragraph and then its own usage
// (the command's flag set prints it on -h), all on stdout, and succeeds.
func help(ctx context.Context, std *stdio, c command, args []string) error {
	fmt.Fprintf(std.out, "packbench %s: %s\n\n%s\n\n", c.name, c.summary, c.about)
	out := *std
	out.err = std.out
	err := c.run(ctx, &out, args)
	if err == nil || errors.Is(err, flag.ErrHelp) || errors.Is(err, errUsage) {
		return nil
	}
	return err
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
