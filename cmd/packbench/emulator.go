package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"net"
	"net/http"
	"os"
	"time"

	"github.com/packbench/packbench/device/devicetest"
)

// runPrinterEmulator runs a ZPL printer emulator on TCP (and a pty), with an
// HTTP control endpoint other processes use to flip its state and read the
// labels it received.
func runPrinterEmulator(ctx context.Context, std *stdio, args []string) error {
	fs := flag.NewFlagSet("printer-emulator", flag.ContinueOnError)
	fs.SetOutput(std.err)
	listen := fs.String("listen", "127.0.0.1:9100", "TCP `ADDR` for raw ZPL (port 0 picks a free port)")
	withPTY := fs.Bool("pty", false, "also serve on a pty, for the serial transport (its path is printed)")
	dpi := fs.Int("dpi", 203, "print head resolution used for print time: 152, 203, 300 or 600")
	speed := fs.Float64("speed", 6, "print speed in inches per second (0 prints instantly)")
	saveDir := fs.String("save-dir", "", "write every label received to `DIR` as label-NNNNNN.zpl")
	control := fs.String("control", "", "serve the HTTP control API on `ADDR` (GET/POST /state, GET /labels)")
	paperOut := fs.Bool("paper-out", false, "start in paper out")
	fs.Usage = func() {
		fmt.Fprintln(std.err, "usage: packbench printer-emulator [flags]\n\n"+
			"Emulates a ZPL label printer: splits ^XA…^XZ labels, answers ~HS (silent while paper\n"+
			"out or head open, like a real printer) and ~HQES, and prints at the given speed.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("printer-emulator: unexpected argument %q", fs.Arg(0))
	}
	switch *dpi {
	case 152, 203, 300, 600:
	default:
		return fmt.Errorf("printer-emulator: --dpi %d: must be 152, 203, 300 or 600", *dpi)
	}
	if *speed < 0 || *speed > 100 {
		return fmt.Errorf("printer-emulator: --speed %v: must be 0 (instant) to 100 inches per second", *speed)
	}
	if *saveDir != "" {
		if err := os.MkdirAll(*saveDir, 0o755); err != nil {
			return fmt.Errorf("printer-emulator: --save-dir: %w", err)
		}
	}

	emu := devicetest.NewEmulator(&devicetest.Options{DPI: *dpi, Speed: *speed, SaveDir: *saveDir, Logger: std.log})
	defer emu.Close()
	emu.SetPaperOut(*paperOut)
	addr, err := emu.ListenTCP(*listen)
	if err != nil {
		return fmt.Errorf("printer-emulator: --listen: %w", err)
	}
	fmt.Fprintf(std.out, "tcp %s\n", addr)
	if *withPTY {
		path, err := emu.OpenPTY()
		if err != nil {
			return fmt.Errorf("printer-emulator: --pty: %w", err)
		}
		fmt.Fprintf(std.out, "pty %s\n", path)
	}
	errc := make(chan error, 1)
	if *control != "" {
		ln, err := net.Listen("tcp", *control)
		if err != nil {
			return fmt.Errorf("printer-emulator: --control: %w", err)
		}
		srv := &http.Server{Handler: emu.ControlHandler(), ReadHeaderTimeout: 5 * time.Second}
		go func() { errc <- srv.Serve(ln) }()
		defer func() {
			sctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			defer cancel()
			srv.Shutdown(sctx)
		}()
		fmt.Fprintf(std.out, "control http://%s\n", ln.Addr())
	}
	std.log.Info("printer emulator running", "tcp", addr, "dpi", *dpi, "speed_ips", *speed)
	select {
	case <-ctx.Done():
		s := emu.Snapshot()
		std.log.Info("printer emulator stopped", "received", s.Received, "printed", s.Printed)
		return ctx.Err()
	case err := <-errc:
		if errors.Is(err, http.ErrServerClosed) {
			return nil
		}
		return fmt.Errorf("printer-emulator: control server: %w", err)
	}
}
