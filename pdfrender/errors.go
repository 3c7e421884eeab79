package pdfrender

import "errors"

// Errors, wrapped with details; test with errors.Is.
var (
	// ErrBadPDF: the input is not a PDF, or one the engine cannot read.
	ErrBadPDF = errors.New("pdfrender: not a usable PDF")
	// ErrTooLarge: the PDF is larger than PDFOptions.MaxBytes.
	ErrTooLarge = errors.New("pdfrender: PDF too large")
	// ErrTooManyPages: the PDF has more pages than PDFOptions.MaxPages.
	ErrTooManyPages = errors.New("pdfrender: too many pages")
	// ErrNoEngine: pdftoppm is not installed.
	ErrNoEngine = errors.New("pdfrender: pdftoppm (poppler-utils) is not installed")
)
