package main

import (
	"bufio"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"

	"github.com/packbench/packbench/station"
)

const scanUsage = `usage: packbench scan [--url URL] [--key KEY] [--json] CODE...
       packbench scan [flags] -          read one code per line from stdin
       packbench scan [flags] --arm ORDER
       packbench scan [flags] --disarm

Scans a code (order id, partner order id, LPN or other identifier) at a
running packbenchd, as the bench's barcode scanner would: the matching order
is armed and the next parcel placed on the scale gets its label. With "-" it
reads codes from stdin, one per line (a keyboard-mode scanner on a
terminal). Prints the flow state after each scan.

flags:
`

// maxCodeLen bounds one scanned code read from stdin.
const maxCodeLen = 4096

// runScan sends scans (or an arm/disarm) to the daemon's flow.
func runScan(ctx context.Context, std *stdio, args []string) error {
	fs := flag.NewFlagSet("scan", flag.ContinueOnError)
	fs.SetOutput(std.err)
	fs.Usage = func() { fmt.Fprint(std.err, scanUsage); fs.PrintDefaults() }
	cf := addClientFlags(fs)
	arm := fs.String("arm", "", "arm `ORDER` (id) directly instead of scanning")
	disarm := fs.Bool("disarm", false, "disarm the flow")
	asJSON := fs.Bool("json", false, "print the flow state as JSON")
	codes, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	ops := len(codes)
	if *arm != "" {
		ops++
	}
	if *disarm {
		ops++
	}
	if ops == 0 {
		fs.Usage()
		return usagef("scan: give a code to scan, --stdin, --arm ORDER or --disarm")
	}
	if (*arm != "" || *disarm) && ops > 1 {
		return errors.New("scan: --arm and --disarm take no codes and exclude each other")
	}
	c, err := cf.client(ctx, true)
	if err != nil {
		return fmt.Errorf("scan: %w", err)
	}
	show := func(st station.FlowState) error {
		if *asJSON {
			return writeJSON(std.out, st)
		}
		fmt.Fprintln(std.out, flowLine(st))
		return nil
	}
	call := func(path string, body any) error {
		var st station.FlowState
		if err := c.do(ctx, http.MethodPost, path, body, &st); err != nil {
			return err
		}
		return show(st)
	}
	switch {
	case *arm != "":
		return call("/api/v1/flow/arm", map[string]string{"order_id": *arm})
	case *disarm:
		return call("/api/v1/flow/disarm", nil)
	}
	if len(codes) == 1 && codes[0] == "-" {
		return scanLines(ctx, std, func(code string) error {
			return call("/api/v1/flow/scan", map[string]string{"code": code})
		})
	}
	for _, code := range codes {
		if err := call("/api/v1/flow/scan", map[string]string{"code": code}); err != nil {
			return fmt.Errorf("scan %q: %w", cell(code, 64), err)
		}
	}
	return nil
}

// scanLines scans each non-empty line of stdin. A code the daemon refuses
// (no such order) is reported and the next line is read: a packer keeps
// scanning; an unreachable daemon ends it.
func scanLines(ctx context.Context, std *stdio, scan func(string) error) error {
	sc := bufio.NewScanner(std.in)
	sc.Buffer(make([]byte, 0, 256), maxCodeLen)
	for sc.Scan() {
		code := strings.TrimSpace(sc.Text())
		if code == "" {
			continue
		}
		err := scan(code)
		var ae *apiError
		switch {
		case errors.As(err, &ae):
			fmt.Fprintf(std.err, "packbench: scan %q: %v\n", cell(code, 64), err)
		case err != nil:
			return fmt.Errorf("scan %q: %w", cell(code, 64), err)
		}
		if ctx.Err() != nil {
			return ctx.Err()
		}
	}
	if err := sc.Err(); err != nil && !errors.Is(err, io.EOF) {
		return fmt.Errorf("scan: read stdin: %w", err)
	}
	return nil
}

// flowLine is the flow state in one line for a terminal.
func flowLine(f station.FlowState) string {
	var b strings.Builder
	b.WriteString(f.State)
	if f.Order != nil {
		fmt.Fprintf(&b, ": order %s", cell(f.Order.ID, 32))
		if f.Order.PartnerOrderID != "" {
			fmt.Fprintf(&b, " (%s)", cell(f.Order.PartnerOrderID, 32))
		}
		fmt.Fprintf(&b, " to %s, %s", cell(f.Order.Name, 32), cell(f.Order.City, 32))
	}
	if f.Count > 0 {
		fmt.Fprintf(&b, ", package %d of %d", f.Package, f.Count)
	}
	if f.State == "armed" {
		b.WriteString(": place the parcel on the scale")
	}
	if f.TrackingNumber != "" && f.State != "armed" {
		fmt.Fprintf(&b, ", tracking %s", cell(f.TrackingNumber, 40))
	}
	if f.Problem != nil {
		fmt.Fprintf(&b, " [problem: %s]", cell(f.Problem.Message, 0))
	}
	return b.String()
}
