package main

import (
	"context"
	"flag"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"text/tabwriter"

	"github.com/packbench/packbench/station"
)

const stockUsage = `usage: packbench stock [flags]                     list every tracked SKU
       packbench stock [flags] SKU                 show one SKU
       packbench stock [flags] set SKU QUANTITY    set a SKU's quantity (and track it)
       packbench stock [flags] adjust SKU DELTA    add (or, negative, take) stock

The stock ledger of a running packbenchd: what Shopify's fetch_stock
reads. A label takes its order's lines out of the ledger, a void puts them
back; only SKUs set here are tracked. "adjust" is not idempotent: a retry
adjusts again ("set" is safe to repeat).

flags:
`

// runStock lists, shows, sets or adjusts the daemon's stock ledger.
func runStock(ctx context.Context, std *stdio, args []string) error {
	fs := flag.NewFlagSet("stock", flag.ContinueOnError)
	fs.SetOutput(std.err)
	fs.Usage = func() { fmt.Fprint(std.err, stockUsage); fs.PrintDefaults() }
	cf := addClientFlags(fs)
	asJSON := fs.Bool("json", false, "print JSON")
	reason := fs.String("reason", "", "why the stock changed (kept in the stock.changed event)")
	// A negative DELTA ("-5") is a number, not a flag: kept aside while
	// the flags are parsed.
	const negMark = "\x00neg"
	marked := make([]string, len(args))
	for i, a := range args {
		marked[i] = a
		if _, err := strconv.ParseInt(a, 10, 64); err == nil && strings.HasPrefix(a, "-") {
			marked[i] = negMark + a
		}
	}
	pos, err := parseInterleaved(fs, marked)
	if err != nil {
		return err
	}
	for i := range pos {
		pos[i] = strings.TrimPrefix(pos[i], negMark)
	}
	c, err := cf.client(ctx, true)
	if err != nil {
		return fmt.Errorf("stock: %w", err)
	}
	show := func(items ...station.StockItem) error {
		if *asJSON {
			if len(items) == 1 {
				return writeJSON(std.out, items[0])
			}
			return writeJSON(std.out, items)
		}
		tw := tabwriter.NewWriter(std.out, 0, 4, 2, ' ', 0)
		fmt.Fprintln(tw, "SKU\tQUANTITY\tUPDATED")
		for _, it := range items {
			fmt.Fprintf(tw, "%s\t%d\t%s\n", it.SKU, it.Quantity, it.UpdatedAt.Format("2006-01-02 15:04:05Z07:00"))
		}
		return tw.Flush()
	}
	path := func(sku string) string { return "/api/v1/stock/" + url.PathEscape(sku) }
	number := func(name, v string) (int64, error) {
		n, err := strconv.ParseInt(v, 10, 64)
		if err != nil {
			return 0, fmt.Errorf("stock: %s %q: want an integer", name, v)
		}
		return n, nil
	}
	var it station.StockItem
	switch {
	case len(pos) == 0:
		var list struct {
			Stock []station.StockItem `json:"stock"`
		}
		if err := c.do(ctx, http.MethodGet, "/api/v1/stock", nil, &list); err != nil {
			return fmt.Errorf("stock: %w", err)
		}
		if *asJSON {
			return writeJSON(std.out, list.Stock)
		}
		return show(list.Stock...)
	case len(pos) == 1:
		if err := c.do(ctx, http.MethodGet, path(pos[0]), nil, &it); err != nil {
			return fmt.Errorf("stock: %w", err)
		}
	case len(pos) == 3 && pos[0] == "set":
		q, err := number("QUANTITY", pos[2])
		if err != nil {
			return err
		}
		if err := c.do(ctx, http.MethodPut, path(pos[1]), map[string]any{"quantity": q, "reason": *reason}, &it); err != nil {
			return fmt.Errorf("stock: %w", err)
		}
	case len(pos) == 3 && pos[0] == "adjust":
		d, err := number("DELTA", pos[2])
		if err != nil {
			return err
		}
		if err := c.do(ctx, http.MethodPost, path(pos[1])+"/adjust", map[string]any{"delta": d, "reason": *reason}, &it); err != nil {
			return fmt.Errorf("stock: %w", err)
		}
	default:
		fs.Usage()
		if len(pos) == 0 {
			return usagef("stock: give a command: list, get SKU, set SKU QUANTITY or adjust SKU DELTA")
		}
		return usagef("stock: %q with %d argument(s): want list, get SKU, set SKU QUANTITY or adjust SKU DELTA", pos[0], len(pos)-1)
	}
	return show(it)
}
