// Package pdfrender turns the pages of a PDF (what ShipStation, many
// carriers and label services hand out) into ZPL labels: each page is
// rasterised by poppler's pdftoppm (Debian's poppler-utils) in a child
// process, fitted to the label, thresholded (dithered only where a page
// holds a photo) and encoded as a Z64 ^GF graphic by labelrender.
//
// The engine runs only while a PDF is converted, so the daemon pays nothing
// for it when idle; BENCHMARKS.md has the measurements that chose it over
// pdfium compiled to WebAssembly. The package does not log.
package pdfrender
