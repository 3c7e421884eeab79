package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/packbench/packbench/api"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/station"
)

const statusUsage = `usage: packbench status [--url URL] [--key KEY] [--json]

Shows a running packbenchd: health, printers, scale, the flow and job
counts (GET /api/v1/health, which needs no key; with a key the printers'
addresses and why a link is down too). Exits with an error when the daemon is down or unreachable.

The daemon is found by --url, else $PACKBENCH_URL, else the address it
recorded in DIR/api-url (DIR: --data-dir, else $PACKBENCH_DATA_DIR, else the
default data dir), else the one bench found on the LAN by mDNS, else
http://localhost:8080.

flags:
`

// benchHealth is api.Health with the flow decoded as the station's state.
type benchHealth struct {
	api.Health
	Flow *station.FlowState `json:"flow,omitempty"`
}

// runStatus prints the daemon's health.
func runStatus(ctx context.Context, std *stdio, args []string) error {
	fs := flag.NewFlagSet("status", flag.ContinueOnError)
	fs.SetOutput(std.err)
	fs.Usage = func() { fmt.Fprint(std.err, statusUsage); fs.PrintDefaults() }
	cf := addClientFlags(fs)
	asJSON := fs.Bool("json", false, "print the health document as JSON")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("status: unexpected argument %q", fs.Arg(0))
	}
	c, err := cf.client(ctx, false)
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	var raw json.RawMessage
	err = c.do(ctx, http.MethodGet, "/api/v1/health", nil, &raw)
	var ae *apiError
	if errors.As(err, &ae) && ae.Status == http.StatusServiceUnavailable && ae.Body != nil {
		// "down" comes as 503 with the health document; show it.
		raw, err = ae.Body, nil
	}
	if err != nil {
		return fmt.Errorf("status: %w", err)
	}
	var h benchHealth
	if err := json.Unmarshal(raw, &h); err != nil {
		return fmt.Errorf("status: decode health: %w", err)
	}
	if c.key != "" {
		// Health is public and leaves printer addresses out; with a key the
		// printers list has them.
		var ps struct {
			Printers []api.PrinterInfo `json:"printers"`
		}
		if err := c.do(ctx, http.MethodGet, "/api/v1/printers", nil, &ps); err == nil {
			h.Printers = ps.Printers
		}
	}
	if *asJSON {
		var v any
		_ = json.Unmarshal(raw, &v)
		if err := writeJSON(std.out, v); err != nil {
			return err
		}
	} else {
		printHealth(std.out, c.base.String(), h)
	}
	if h.Status == api.HealthDown {
		return fmt.Errorf("status: daemon is down: %s", strings.Join(h.Problems, "; "))
	}
	return nil
}

func printHealth(w io.Writer, url string, h benchHealth) {
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	row := func(k, v string) { fmt.Fprintf(tw, "%s:\t%s\n", k, v) }
	row("daemon", fmt.Sprintf("%s (%s, version %s, up %s)", url, h.Status, cell(h.Version, 40), (time.Duration(h.UptimeSeconds)*time.Second).String()))
	if h.DeviceID != "" {
		// The topic level: what push --bench and watch --bench take.
		row("bench id (MQTT)", cell(h.DeviceID, 64))
	}
	for _, p := range h.Problems {
		row("problem", cell(p, 0))
	}
	counts := "none"
	if len(h.Queue.Jobs) > 0 {
		var parts []string
		for _, st := range queue.States() {
			if n := h.Queue.Jobs[st]; n > 0 {
				parts = append(parts, fmt.Sprintf("%d %s", n, st))
			}
		}
		counts = strings.Join(parts, ", ")
	}
	if !h.Queue.Open {
		counts = "data file not open: " + cell(h.Queue.Error, 0)
	}
	row("jobs", counts)
	sc := h.Scale.Status
	if h.Scale.Simulated {
		sc += " (simulated)"
	}
	if r := h.Scale.Reading; r != nil {
		sc = fmt.Sprintf("%s %s, %s", r.Display(), r.Status, sc)
	}
	row("scale", sc)
	if l := h.Light; l != nil {
		v := l.LED
		if l.Blinks > 0 {
			v += fmt.Sprintf(", blink code %d", l.Blinks)
		}
		if len(l.Attention) > 0 {
			v += ": " + cell(strings.Join(l.Attention, ", "), 0)
		}
		row("light", v)
	}
	for _, l := range h.Links {
		v := l.State
		if l.Error != "" {
			v += ": " + cell(l.Error, 0)
		}
		row(cell(l.Name, 16), v)
	}
	if f := h.Flow; f != nil {
		v := f.State
		if f.Order != nil {
			v += fmt.Sprintf(", order %s (%s, %s)", cell(f.Order.ID, 32), cell(f.Order.Name, 32), cell(f.Order.City, 32))
		}
		if f.Count > 0 {
			v += fmt.Sprintf(", package %d of %d", f.Package, f.Count)
		}
		if f.AwaitRemoval {
			v += ", waiting for the scale to be cleared"
		}
		row("flow", v)
		if f.TrackingNumber != "" {
			w := f.LabelWeight
			if w == "" {
				w = f.Weight // a daemon from before label_weight
			}
			row("last label", fmt.Sprintf("%s, job %s %s, printed at %s", cell(f.TrackingNumber, 40), f.JobID, f.JobState, cell(w, 20)))
		}
		if f.Problem != nil {
			row("flow problem", cell(strings.TrimSpace(f.Problem.Message+" "+f.Problem.Action), 0))
		}
	}
	tw.Flush()
	if len(h.Printers) == 0 {
		return
	}
	fmt.Fprintln(w, "\nprinters:")
	tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "  NAME\tTRANSPORT\tADDRESS\tSTATE\tREASON")
	ps := slices.Clone(h.Printers)
	for _, p := range ps {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t%s\t%s\n", cell(p.Name, 24), p.Transport, cell(p.Address, 0), p.State, cell(p.Reason, 48))
	}
	tw.Flush()
}
