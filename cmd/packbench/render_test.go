package main

import (
	"bytes"
	"context"
	"errors"
	"image/png"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packbench/packbench/labelrender"
	"github.com/packbench/packbench/pdfrender"
	"github.com/packbench/packbench/pdfrender/pdftest"
)

const exampleSpec = "../../docs/examples/label.json"

func runRenderT(t *testing.T, stdin string, args ...string) ([]byte, string, error) {
	t.Helper()
	var out, errb bytes.Buffer
	std := &stdio{in: strings.NewReader(stdin), out: &out, err: &errb, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	err := runRender(context.Background(), std, args)
	return out.Bytes(), errb.String(), err
}

func TestRenderNativeZPLToStdout(t *testing.T) {
	out, _, err := runRenderT(t, "", "--date", "2026-01-02", exampleSpec)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.HasPrefix(out, []byte("^XA\n^CI28\n^PW812\n^LL1218")) || !bytes.Contains(out, []byte("^BCN,")) {
		t.Fatalf("not a native label:\n%s", out)
	}
	if err := labelrender.CheckZPL(out, nil); err != nil {
		t.Fatal(err)
	}
}

func TestRenderPNGFileAtDPIAndSize(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "label.png")
	if _, _, err := runRenderT(t, "", "--format", "png", "--dpi", "300", "--size", "4x4", "-o", file, exampleSpec); err != nil {
		t.Fatal(err)
	}
	f, err := os.Open(file)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	img, err := png.Decode(f)
	if err != nil {
		t.Fatal(err)
	}
	if b := img.Bounds(); b.Dx() != 1200 || b.Dy() != 1200 {
		t.Fatalf("png is %v, want 1200x1200", b)
	}
	// No temporary file is left beside the output.
	if entries, _ := os.ReadDir(dir); len(entries) != 1 {
		t.Fatalf("dir holds %d entries", len(entries))
	}
}

func TestRenderRasterFromStdin(t *testing.T) {
	spec, err := os.ReadFile(exampleSpec)
	if err != nil {
		t.Fatal(err)
	}
	for _, enc := range []string{"z64", "acs"} {
		out, _, err := runRenderT(t, string(spec), "--format", "zpl-raster", "--encoding", enc, "-")
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(out, []byte("^GFA,124236,124236,102,")) || (enc == "z64") != bytes.Contains(out, []byte(":Z64:")) {
			t.Fatalf("%s: not a ^GF label: %.120s", enc, out)
		}
	}
}

func TestRenderFromPNG(t *testing.T) {
	dir := t.TempDir()
	pngFile := filepath.Join(dir, "carrier.png")
	if _, _, err := runRenderT(t, "", "--format", "png", "-o", pngFile, exampleSpec); err != nil {
		t.Fatal(err)
	}
	out, _, err := runRenderT(t, "", "--from-png", pngFile, "--encoding", "acs")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(out, []byte("^FO0,0^GFA,124236,124236,102,")) || bytes.Contains(out, []byte(":Z64:")) {
		t.Fatalf("not an ACS graphic label: %.120s", out)
	}
	if err := labelrender.CheckZPL(out, nil); err != nil {
		t.Fatal(err)
	}
	// The same PNG fitted to a 300 dpi label, as a 1-bit PNG preview.
	out, _, err = runRenderT(t, "", "--from-png", pngFile, "--dpi", "300", "--format", "png")
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(out))
	if err != nil || img.Bounds().Dx() != 1200 {
		t.Fatalf("preview: %v %v", img.Bounds(), err)
	}
}

// TestRenderFromPDF: each page of a PDF is one Z64 label on stdout, or
// one 1-bit PNG file per page; a corrupt PDF is named as such.
func TestRenderFromPDF(t *testing.T) {
	dir := t.TempDir()
	pdfFile := filepath.Join(dir, "carrier.pdf")
	if err := os.WriteFile(pdfFile, pdftest.PDF(pdftest.Label("1Z0000000000000001"), pdftest.Landscape("794644790132")), 0o644); err != nil {
		t.Fatal(err)
	}
	out, _, err := runRenderT(t, "", "--from-pdf", pdfFile)
	if err != nil {
		t.Fatal(err)
	}
	if n := bytes.Count(out, []byte("^FO0,0^GFA,124236,124236,102,:Z64:")); n != 2 || bytes.Count(out, []byte("^XA")) != 2 {
		t.Fatalf("%d Z64 graphics of a 4x6 label in %d labels, want 2: %.120s", n, bytes.Count(out, []byte("^XA")), out)
	}
	if err := labelrender.CheckZPL(out, nil); err != nil {
		t.Fatal(err)
	}
	base := filepath.Join(dir, "page.png")
	if _, _, err := runRenderT(t, "", "--from-pdf", pdfFile, "--dpi", "300", "--format", "png", "-o", base); err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{"page-1.png", "page-2.png"} {
		f, err := os.Open(filepath.Join(dir, name))
		if err != nil {
			t.Fatal(err)
		}
		img, err := png.Decode(f)
		f.Close()
		if err != nil || img.Bounds().Dx() != 1200 || img.Bounds().Dy() != 1800 {
			t.Fatalf("%s: %v %v, want 1200x1800 (4x6 at 300 dpi)", name, img.Bounds(), err)
		}
	}
	if _, _, err := runRenderT(t, "", "--from-pdf", pdfFile, "--format", "png"); err == nil || !strings.Contains(err.Error(), "needs -o FILE") {
		t.Fatalf("two PNG pages to stdout: %v", err)
	}
	bad := filepath.Join(dir, "bad.pdf")
	if err := os.WriteFile(bad, []byte("%PDF-1.7\nthis is no PDF"), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, _, err := runRenderT(t, "", "--from-pdf", bad); !errors.Is(err, pdfrender.ErrBadPDF) {
		t.Fatalf("corrupt PDF: %v, want ErrBadPDF", err)
	}
}

func TestRenderErrorsNameTheProblem(t *testing.T) {
	for _, tc := range []struct {
		stdin string
		args  []string
		want  string
	}{
		{`{"to":{"zp":"1"}}`, nil, "to.zp: unknown field"},
		{`{"from":{"name":"A","street1":"1","city":"X","zip":"1","country":"US"},"to":{"name":"B","street1":"2","city":"Y","country":"US"},"carrier":"c","service":"s","tracking_number":"1"}`, nil, "to.zip: required"},
		{"", []string{"--format", "pdf", exampleSpec}, `--format "pdf"`},
		{"", []string{"--dpi", "100", exampleSpec}, "dpi 100"},
		{"", []string{"--size", "4by6", exampleSpec}, `size "4by6"`},
		{"", []string{"--encoding", "hex", exampleSpec}, `--encoding "hex"`},
		{"", []string{"--from-png", "/nonexistent.png"}, "no such file"},
		{"", []string{"--from-png", exampleSpec}, "png"},
		{"", []string{"--from-pdf", exampleSpec}, "not a usable PDF"},
		{"", []string{"--from-pdf", exampleSpec, "--halftone", "fancy"}, `--halftone "fancy"`},
		{"", []string{"--date", "tomorrow", exampleSpec}, "--date"},
		{"", []string{"a.json", "b.json"}, "one spec at a time"},
	} {
		_, _, err := runRenderT(t, tc.stdin, tc.args...)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%v: err = %v, want it to mention %q", tc.args, err, tc.want)
		}
	}
	if _, _, err := runRenderT(t, "", "--nope"); !errors.Is(err, errUsage) {
		t.Fatalf("bad flag: %v", err)
	}
}
