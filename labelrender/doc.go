// Package labelrender turns one shipping-label model into the forms a thermal
// printer or an integrator needs: native ZPL (printer fonts and barcodes), a
// 1-bit raster written as PNG or as a ZPL ^GF graphic (Z64 or ACS), and any
// carrier PNG converted to a ZPL graphic. It also checks raw ZPL arriving from
// outside before it may reach a printer.
//
// ZPL generation, the Z64/ACS encoders and the escaper are written by hand:
// no maintained Go library produces ZPL with correct Z64 CRCs and ^FH escaping.
// The package is pure: it returns errors and never logs.
//
// The four uses:
//
//	l, err := labelrender.ParseLabel(specJSON)             // strict; errors name the field ("to.zip: required")
//	zpl, err := labelrender.RenderZPL(l, &labelrender.Options{DPI: 203, Date: now})
//	png, err := labelrender.RenderPNG(l, opts)             // preview; RenderImage gives the *Bitmap
//	zpl, err := labelrender.PNGToZPL(carrierPNG, &labelrender.ImageOptions{Options: *opts})
//	err := labelrender.CheckZPL(rawZPL, nil)               // *ZPLError names the refused command
//
// One layout feeds every output, so native ZPL, the PNG preview and the ^GF
// raster put the same things in the same places, and nothing leaves the
// printable area: long text is wrapped, then shrunk, then cut with a visible
// "...". User text reaches ZPL only through ^FH hex escaping with a small
// whitelist ([A-Za-z0-9 .,-]); fields that feed barcodes are validated
// instead (tracking numbers: letters, digits, '-'; GS1 elements checked).
// Label text is printed, not refused, for characters a printer cannot
// show: control characters (C0, DEL, C1) become spaces, and bidi
// overrides, isolates and direction marks are dropped (internal/textcheck
// refuses the same characters in ids and in stored text). Text that is not
// valid UTF-8 is refused: a JSON document must be UTF-8.
//
// CheckZPL tokenizes raw ZPL the way a Zebra printer does (sources in
// zpltoken.go) and accepts only what draws a format, and at most
// Policy.MaxCopies labels over all its formats; InspectZPL also reports the
// printer-setting commands a Policy.Allow let through, for the caller to log.
// ZPLSplitter reads a ZPL byte stream (a raw 9100 connection) with the same
// tokenizer and cuts it into formats and the commands between them, as a
// bufio.SplitFunc, so each format can be checked and kept on its own.
//
// Rendering never reads the clock: a label without a date gets Options.Date.
package labelrender
