package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/packbench/packbench/device"
)

// printerListing is one row of `packbench printers`.
type printerListing struct {
	Kind     string `json:"kind"` // usb, serial, tcp
	Device   string `json:"device"`
	Maker    string `json:"maker,omitempty"`
	Model    string `json:"model,omitempty"`
	Speaks   string `json:"speaks,omitempty"` // command set, e.g. "ZPL"
	USBID    string `json:"usb_id,omitempty"` // vvvv:pppp
	Serial   string `json:"serial_number,omitempty"`
	Status   string `json:"status,omitempty"` // with --probe
	Reason   string `json:"reason,omitempty"`
	Labels   int    `json:"labels_remaining,omitempty"`
	Formats  int    `json:"formats_in_buffer,omitempty"`
	IDError  string `json:"id_error,omitempty"`
	probeCfg *device.PrinterConfig
}

// runPrinters lists attached printers (USB printer class from sysfs, serial
// ports from the enumerator, network printers named with --tcp) and, with
// --probe, asks each ZPL printer for its ~HS status.
func runPrinters(ctx context.Context, std *stdio, args []string) error {
	fs := flag.NewFlagSet("printers", flag.ContinueOnError)
	fs.SetOutput(std.err)
	sysfs := fs.String("sysfs", device.DefaultSysfs, "sysfs root to read USB printers from")
	asJSON := fs.Bool("json", false, "print JSON instead of a table")
	probe := fs.Bool("probe", false, "ask each ZPL printer (USB, --tcp, --serial) for its status with ~HS")
	timeout := fs.Duration("timeout", 2*time.Second, "status reply timeout for --probe")
	noSerial := fs.Bool("no-serial", false, "do not list serial ports")
	baud := fs.Int("baud", 9600, "baud rate for --serial probes")
	var tcps, serials multiFlag
	fs.Var(&tcps, "tcp", "a network printer `HOST[:PORT]` to list (and probe); repeatable")
	fs.Var(&serials, "serial", "a serial `DEVICE` with a ZPL printer to probe; repeatable")
	fs.Usage = func() {
		fmt.Fprintln(std.err, "usage: packbench printers [flags]\n\nLists USB printers (IEEE 1284 id: maker, model, command set), serial ports and\nthe network printers you name, and with --probe their live ~HS status.\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return errUsage
	}
	if fs.NArg() > 0 {
		fs.Usage()
		return fmt.Errorf("printers: unexpected argument %q", fs.Arg(0))
	}
	if *timeout <= 0 {
		return fmt.Errorf("printers: --timeout %v: must be positive", *timeout)
	}

	var rows []printerListing
	usb, err := device.DiscoverUSB(*sysfs)
	if err != nil {
		return fmt.Errorf("printers: %w", err)
	}
	for _, u := range usb {
		r := printerListing{Kind: "usb", Device: u.Device, Maker: u.ID.Manufacturer, Model: u.ID.Model,
			Speaks: strings.Join(u.ID.CommandSet, ","), Serial: u.Serial, IDError: u.IDError}
		if u.VID != "" {
			r.USBID = u.VID + ":" + u.PID
		}
		if u.ID.Speaks("ZPL") {
			r.probeCfg = &device.PrinterConfig{Name: u.Name, Transport: device.TransportUSB, Device: u.Device}
		}
		rows = append(rows, r)
	}
	if !*noSerial {
		ports, err := device.DiscoverSerial()
		if err != nil {
			std.log.Warn("serial ports not listed", "err", err)
		}
		for _, p := range ports {
			r := printerListing{Kind: "serial", Device: p.Device, Model: p.Product, Serial: p.SerialNumber}
			if p.IsUSB {
				r.USBID = p.VID + ":" + p.PID
			}
			rows = append(rows, r)
		}
	}
	for _, dev := range serials {
		rows = append(rows, printerListing{Kind: "serial", Device: dev, Speaks: "ZPL?",
			probeCfg: &device.PrinterConfig{Name: dev, Transport: device.TransportSerial, Device: dev,
				Serial: device.SerialConfig{Baud: *baud}}})
	}
	for _, a := range tcps {
		rows = append(rows, printerListing{Kind: "tcp", Device: a, Speaks: "ZPL?",
			probeCfg: &device.PrinterConfig{Name: a, Transport: device.TransportTCP, Address: a}})
	}

	if *probe {
		for i := range rows {
			r := &rows[i]
			if r.probeCfg == nil {
				continue
			}
			cfg := *r.probeCfg
			cfg.StatusTimeout = device.Duration(*timeout)
			cfg.DialTimeout = device.Duration(*timeout)
			p, err := device.Open(cfg)
			if err != nil {
				r.Status, r.Reason = "error", err.Error()
				continue
			}
			st, err := p.Status(ctx)
			p.Close()
			r.Status, r.Reason = string(st.State), st.Reason
			if err != nil && r.Reason == "" {
				r.Reason = err.Error()
			}
			r.Labels, r.Formats = st.LabelsRemaining, st.FormatsInBuffer
			if err == nil && r.Speaks == "ZPL?" {
				r.Speaks = "ZPL" // it answered ~HS
			}
		}
	}

	if *asJSON {
		enc := json.NewEncoder(std.out)
		enc.SetIndent("", "  ")
		if rows == nil {
			rows = []printerListing{}
		}
		return enc.Encode(rows)
	}
	if len(rows) == 0 {
		fmt.Fprintln(std.out, "no printers or serial ports found (network printers: --tcp HOST)")
		return nil
	}
	tw := tabwriter.NewWriter(std.out, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "KIND\tDEVICE\tMAKER\tMODEL\tSPEAKS\tUSB ID\tSTATUS")
	for _, r := range rows {
		status := r.Status
		if r.Reason != "" {
			status += " (" + r.Reason + ")"
		}
		if r.IDError != "" && status == "" {
			status = "no IEEE 1284 id"
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s\n", r.Kind, r.Device, dash(r.Maker), dash(r.Model),
			dash(r.Speaks), dash(r.USBID), dash(status))
	}
	return tw.Flush()
}

func dash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// multiFlag collects a repeatable string flag.
type multiFlag []string

func (m *multiFlag) String() string     { return strings.Join(*m, ",") }
func (m *multiFlag) Set(v string) error { *m = append(*m, v); return nil }
