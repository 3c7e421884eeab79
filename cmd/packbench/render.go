package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/packbench/packbench/labelrender"
	"github.com/packbench/packbench/pdfrender"
)

// maxSpecBytes bounds a label spec, carrier PNG or PDF read by the CLI.
const maxSpecBytes = 32 << 20

// runRender renders a label spec (JSON) as native ZPL, PNG or raster ZPL, or
// converts a carrier's PNG or PDF into ZPL graphic labels.
func runRender(ctx context.Context, std *stdio, args []string) error {
	fs := flag.NewFlagSet("render", flag.ContinueOnError)
	fs.SetOutput(std.err)
	format := fs.String("format", "zpl", "output: zpl (printer fonts and barcodes), png, or zpl-raster (one ^GF graphic)")
	dpi := fs.Int("dpi", 203, "print head resolution: 152, 203, 300 or 600")
	size := fs.String("size", "4x6", "label size in inches (4x6, 4x4) or dots (812x1218dots)")
	encoding := fs.String("encoding", "z64", "^GF encoding for zpl-raster and --from-png: z64 or acs")
	out := fs.String("o", "", "write to `FILE` instead of stdout")
	fromPNG := fs.String("from-png", "", "convert a carrier's label `PNG` into a ZPL graphic label (or a 1-bit PNG with --format png)")
	fromPDF := fs.String("from-pdf", "", "convert a carrier's label `PDF` into ZPL graphic labels, one per page (or 1-bit PNGs, FILE-N.png, with --format png)")
	dither := fs.Bool("dither", false, "with --from-png or --from-pdf: Floyd-Steinberg dithering instead of a threshold")
	halftone := fs.String("halftone", "auto", "with --from-pdf: auto (dither only photos), threshold or dither")
	threshold := fs.Int("threshold", 128, "with --from-png or --from-pdf: grey level (1-255) below which a dot is black")
	rotate := fs.String("rotate", "auto", "with --from-png or --from-pdf: auto, 0, 90, 180 or 270 (clockwise)")
	date := fs.String("date", "", "date printed when the spec has none (YYYY-MM-DD; default today)")
	fs.Usage = func() {
		fmt.Fprintln(std.err, "usage: packbench render [flags] [SPEC.json|-]\n       packbench render --from-png carrier.png [flags]\n       packbench render --from-pdf carrier.pdf [flags]\n\nflags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return err
		}
		return errUsage
	}

	w, h, err := labelrender.ParseSize(*size, *dpi)
	if err != nil {
		return fmt.Errorf("render: --size/--dpi: %w", err)
	}
	opts := labelrender.Options{DPI: *dpi, WidthDots: w, HeightDots: h, Date: time.Now()}
	if *date != "" {
		d, err := time.Parse(time.DateOnly, *date)
		if err != nil {
			return fmt.Errorf("render: --date %q: want YYYY-MM-DD", *date)
		}
		opts.Date = d
	}
	var enc labelrender.Encoding
	switch *encoding {
	case "z64":
		enc = labelrender.Z64
	case "acs":
		enc = labelrender.ACS
	default:
		return fmt.Errorf("render: --encoding %q: want z64 or acs", *encoding)
	}

	var result []byte
	if *fromPDF != "" {
		if fs.NArg() > 0 || *fromPNG != "" {
			return fmt.Errorf("render: --from-pdf takes no spec argument and no --from-png")
		}
		pdfOpts := pdfrender.PDFOptions{Options: opts, Encoding: enc}
		if *threshold < 1 || *threshold > 255 {
			return fmt.Errorf("render: --threshold %d: want 1..255", *threshold)
		}
		pdfOpts.Threshold = uint8(*threshold)
		if pdfOpts.Rotate, err = parseRotation(*rotate); err != nil {
			return err
		}
		switch *halftone {
		case "auto":
		case "threshold":
			pdfOpts.Halftone = pdfrender.HalftoneThreshold
		case "dither":
			pdfOpts.Halftone = pdfrender.HalftoneDither
		default:
			return fmt.Errorf("render: --halftone %q: want auto, threshold or dither", *halftone)
		}
		if *dither {
			pdfOpts.Halftone = pdfrender.HalftoneDither
		}
		if *format != "zpl" && *format != "zpl-raster" && *format != "png" {
			return fmt.Errorf("render: --format %q: want zpl, png or zpl-raster", *format)
		}
		data, err := readInput(std, *fromPDF)
		if err != nil {
			return err
		}
		pdfOpts.MaxBytes = maxSpecBytes
		pages, err := pdfrender.PDFToBitmaps(ctx, data, &pdfOpts)
		if err != nil {
			return fmt.Errorf("render: %s: %w", *fromPDF, err)
		}
		if *format == "png" {
			return writePages(std, *out, pages)
		}
		for _, bm := range pages {
			result = append(result, labelrender.GraphicLabel(bm, enc)...)
		}
	} else if *fromPNG != "" {
		if fs.NArg() > 0 {
			return fmt.Errorf("render: --from-png takes no spec argument (got %q)", fs.Arg(0))
		}
		imgOpts := labelrender.ImageOptions{Options: opts, Encoding: enc, Dither: *dither}
		if *threshold < 1 || *threshold > 255 {
			return fmt.Errorf("render: --threshold %d: want 1..255", *threshold)
		}
		imgOpts.Threshold = uint8(*threshold)
		if imgOpts.Rotate, err = parseRotation(*rotate); err != nil {
			return err
		}
		data, err := readInput(std, *fromPNG)
		if err != nil {
			return err
		}
		switch *format {
		case "zpl", "zpl-raster":
			result, err = labelrender.PNGToZPL(data, &imgOpts)
		case "png":
			var bm *labelrender.Bitmap
			if bm, err = labelrender.PNGToBitmap(data, &imgOpts); err == nil {
				result, err = bm.PNG()
			}
		default:
			return fmt.Errorf("render: --format %q: want zpl, png or zpl-raster", *format)
		}
		if errors.Is(err, labelrender.ErrBadGraphic) {
			// The decoder's chain ("labelrender: bad graphic: png: png:
			// invalid format") is for a developer; say what to check.
			return fmt.Errorf("render: %s is not a label image the bench can read: want a png file (a carrier's label) of at most 40 megapixels", *fromPNG)
		}
		if err != nil {
			return fmt.Errorf("render: %s: %w", *fromPNG, err)
		}
	} else {
		if fs.NArg() > 1 {
			return fmt.Errorf("render: one spec at a time (got %d arguments)", fs.NArg())
		}
		src := "-"
		if fs.NArg() == 1 {
			src = fs.Arg(0)
		}
		data, err := readInput(std, src)
		if err != nil {
			return err
		}
		label, err := labelrender.ParseLabel(data)
		if err != nil {
			return fmt.Errorf("render: %s: %w", src, err)
		}
		switch *format {
		case "zpl":
			result, err = labelrender.RenderZPL(label, &opts)
		case "png":
			result, err = labelrender.RenderPNG(label, &opts)
		case "zpl-raster":
			result, err = labelrender.RenderRasterZPL(label, &opts, enc)
		default:
			return fmt.Errorf("render: --format %q: want zpl, png or zpl-raster", *format)
		}
		if err != nil {
			return fmt.Errorf("render: %s: %w", src, err)
		}
	}
	if err := ctx.Err(); err != nil {
		return err
	}
	return writeOutput(std, *out, result)
}

// writePages writes a PDF's pages as 1-bit PNGs: to name itself for one
// page, else to name-1.png, name-2.png, ….
func writePages(std *stdio, name string, pages []*labelrender.Bitmap) error {
	if len(pages) > 1 && (name == "" || name == "-") {
		return fmt.Errorf("render: the PDF has %d pages: --format png needs -o FILE (written as FILE-1.png, …)", len(pages))
	}
	for i, bm := range pages {
		data, err := bm.PNG()
		if err != nil {
			return fmt.Errorf("render: page %d: %w", i+1, err)
		}
		file := name
		if len(pages) > 1 {
			file = fmt.Sprintf("%s-%d.png", strings.TrimSuffix(name, ".png"), i+1)
		}
		if err := writeOutput(std, file, data); err != nil {
			return err
		}
	}
	return nil
}

func parseRotation(s string) (labelrender.Rotation, error) {
	switch s {
	case "auto":
		return labelrender.RotateAuto, nil
	case "0":
		return labelrender.Rotate0, nil
	case "90":
		return labelrender.Rotate90, nil
	case "180":
		return labelrender.Rotate180, nil
	case "270":
		return labelrender.Rotate270, nil
	}
	return 0, fmt.Errorf("render: --rotate %q: want auto, 0, 90, 180 or 270", s)
}

// readInput reads a file, or stdin for "-", refusing anything larger than
// maxSpecBytes rather than exhausting memory.
func readInput(std *stdio, name string) ([]byte, error) {
	var r io.Reader
	if name == "-" {
		r = std.in
	} else {
		f, err := os.Open(name)
		if err != nil {
			return nil, fmt.Errorf("render: %w", err)
		}
		defer f.Close()
		r = f
	}
	data, err := io.ReadAll(io.LimitReader(r, maxSpecBytes+1))
	if err != nil {
		return nil, fmt.Errorf("render: read %s: %w", name, err)
	}
	if len(data) > maxSpecBytes {
		return nil, fmt.Errorf("render: %s: larger than %d bytes", name, maxSpecBytes)
	}
	return data, nil
}

// writeOutput writes to stdout, or to a file through a temporary file and a
// rename, so a failed render never leaves half a label behind.
func writeOutput(std *stdio, name string, data []byte) error {
	if name == "" || name == "-" {
		_, err := std.out.Write(data)
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(name), "."+filepath.Base(name)+".*")
	if err != nil {
		return fmt.Errorf("render: %w", err)
	}
	_, werr := tmp.Write(data)
	if werr == nil {
		werr = tmp.Chmod(0o644)
	}
	cerr := tmp.Close()
	if err := errors.Join(werr, cerr); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("render: write %s: %w", name, err)
	}
	if err := os.Rename(tmp.Name(), name); err != nil {
		os.Remove(tmp.Name())
		return fmt.Errorf("render: %w", err)
	}
	return nil
}
