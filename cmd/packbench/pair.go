package main

import (
	"context"
	"flag"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"github.com/boombuler/barcode/qr"

	"github.com/packbench/packbench/api"
)

const pairUsage = `usage: packbench pair [--url URL] [--key KEY] [--name NAME] [--json]

Makes a pairing code for a screen at the bench, so that screen works the
bench without the API key: type the 8 digits on the screen's pairing form,
or scan the QR code printed here (it holds the page's address with the
code). The screen gets a token of its own that may scan, weigh and print,
nothing else; revoke it on the admin page (Bench screens). A code works
once, for 5 minutes.

flags:
`

// runPair asks a running daemon for a pairing code and prints it with its
// QR code.
func runPair(ctx context.Context, std *stdio, args []string) error {
	fs := flag.NewFlagSet("pair", flag.ContinueOnError)
	fs.SetOutput(std.err)
	fs.Usage = func() { fmt.Fprint(std.err, pairUsage); fs.PrintDefaults() }
	cf := addClientFlags(fs)
	name := fs.String("name", "", "the name the paired screen gets (default \"Bench screen\")")
	asJSON := fs.Bool("json", false, "print the answer as JSON (code, expires_at, pair_url, qr_png)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() != 0 {
		fs.Usage()
		return errUsage
	}
	c, err := cf.client(ctx, true)
	if err != nil {
		return fmt.Errorf("pair: %w", err)
	}
	var a api.PairingAnswer
	if err := c.do(ctx, http.MethodPost, "/api/v1/kiosks/pairing", map[string]string{"name": *name}, &a); err != nil {
		return fmt.Errorf("pair: %w", err)
	}
	if *asJSON {
		return writeJSON(std.out, a)
	}
	fmt.Fprintf(std.out, "pairing code: %s %s\n", a.Code[:4], a.Code[4:])
	fmt.Fprintf(std.out, "for %q, valid until %s, once\n", a.Name, a.ExpiresAt.Local().Format(time.TimeOnly))
	fmt.Fprintf(std.out, "or open on the screen: %s\n\n", a.PairURL)
	return terminalQR(std.out, a.PairURL)
}

// terminalQR draws a QR code with half blocks, two modules a character
// row, dark on light with the quiet zone scanners need.
func terminalQR(w io.Writer, content string) error {
	code, err := qr.Encode(content, qr.M, qr.Auto)
	if err != nil {
		return fmt.Errorf("pair: QR code: %w", err)
	}
	const quiet = 2
	n := code.Bounds().Dx()
	dark := func(x, y int) bool {
		if x < 0 || y < 0 || x >= n || y >= n {
			return false
		}
		r, _, _, _ := code.At(x, y).RGBA()
		return r < 0x8000
	}
	var b strings.Builder
	for y := -quiet; y < n+quiet; y += 2 {
		for x := -quiet; x < n+quiet; x++ {
			// Light modules print as the block: the right way round on a
			// terminal with a dark background; --json has a PNG otherwise.
			top, bottom := !dark(x, y), !dark(x, y+1)
			switch {
			case top && bottom:
				b.WriteRune('█')
			case top:
				b.WriteRune('▀')
			case bottom:
				b.WriteRune('▄')
			default:
				b.WriteByte(' ')
			}
		}
		b.WriteByte('\n')
	}
	_, err = io.WriteString(w, b.String())
	return err
}
