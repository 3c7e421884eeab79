package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"text/tabwriter"

	"github.com/packbench/packbench/device"
)

// runScanners lists the input devices that look like keyboard-mode barcode
// scanners, with the path to put in [[scanners]].
func runScanners(ctx context.Context, std *stdio, args []string) error {
	fs := flag.NewFlagSet("scanners", flag.ContinueOnError)
	fs.SetOutput(std.err)
	byID := fs.String("by-id", device.DefaultInputByID, "the `DIR` of udev's input links")
	sysfs := fs.String("sysfs", device.DefaultSysfs, "sysfs root to read device names from")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	fs.Usage = func() {
		fmt.Fprintln(std.err, "usage: packbench scanners [flags]\n\nLists input devices that look like USB barcode scanners in keyboard mode\n(*-event-kbd under /dev/input/by-id), with the path to configure.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("scanners: unexpected argument %q", fs.Arg(0))
	}
	devs, err := device.DiscoverInputs(*byID, *sysfs)
	if err != nil {
		return fmt.Errorf("scanners: %w", err)
	}
	if *asJSON {
		if devs == nil {
			devs = []device.InputDevice{}
		}
		enc := json.NewEncoder(std.out)
		enc.SetIndent("", "  ")
		return enc.Encode(devs)
	}
	if len(devs) == 0 {
		fmt.Fprintf(std.out, "none found: no keyboard-mode input device in %s.\n", *byID)
		fmt.Fprintln(std.out, "A USB scanner in keyboard mode shows up there as usb-<maker>_<model>-event-kbd once plugged in.")
		fmt.Fprintln(std.out, "A serial scanner (USB CDC-ACM, RS-232) is configured by its port: [[scanners]] path = \"/dev/ttyACM0\";")
		fmt.Fprintln(std.out, "`packbench printers` lists serial ports.")
		return nil
	}
	tw := tabwriter.NewWriter(std.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "SCANNER?\tNAME\tNODE\tPATH")
	for _, d := range devs {
		likely := "maybe"
		if d.Likely {
			likely = "yes"
		}
		name := d.Name
		if name == "" {
			name = "-"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", likely, name, d.Node, d.Path)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	fmt.Fprintf(std.out, "\nPut the PATH in the config (the by-id path survives replugs):\n\n[[scanners]]\npath = %q\nlayout = \"us\"   # the keyboard layout the scanner is set to: us, uk, de, fr\n", devs[0].Path)
	fmt.Fprintln(std.out, "\nThe daemon's user needs read access to the node (the input group).")
	return nil
}
