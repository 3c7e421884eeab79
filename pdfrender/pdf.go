package pdfrender

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"image"
	"io"
	"os/exec"
	"strings"
	"time"

	"github.com/packbench/packbench/labelrender"
)

// Halftone says how a page's greys become black and white dots.
type Halftone int

// Halftones. HalftoneAuto thresholds line art, text and barcodes (they must
// stay sharp) and dithers only the areas that look like a photo.
const (
	HalftoneAuto Halftone = iota
	HalftoneThreshold
	HalftoneDither
)

// Defaults of PDFOptions' bounds.
const (
	DefaultMaxBytes  = 16 << 20
	DefaultMaxPages  = 20
	DefaultTimeout   = 30 * time.Second
	DefaultMaxMemory = 512 << 20
)

// PDFOptions configure PDFToZPL and PDFToBitmaps; the zero value (or nil)
// means a 4x6 label at 203 dpi and the defaults above.
type PDFOptions struct {
	labelrender.Options                      // printer dpi and label size
	Encoding            labelrender.Encoding // Z64 (default) or ACS
	// Rotate turns each page before it is fitted; RotateAuto turns a
	// landscape page a quarter turn onto a portrait label.
	Rotate    labelrender.Rotation
	Threshold uint8 // grey level below which a dot is black; 0 means 128
	Halftone  Halftone
	MaxBytes  int           // largest PDF accepted; 0 means DefaultMaxBytes
	MaxPages  int           // most pages accepted; 0 means DefaultMaxPages
	Timeout   time.Duration // for the whole document; 0 means DefaultTimeout
	// MaxMemory bounds the engine's address space (RLIMIT_AS, through
	// util-linux's prlimit, which Debian always has; without prlimit the
	// engine runs unbounded): a hostile PDF fails instead of swapping the
	// bench. 0 means DefaultMaxMemory.
	MaxMemory int64
	// Pdftoppm is the engine's path; "" looks pdftoppm up in PATH.
	Pdftoppm string
}

// IsPDF reports whether data starts like a PDF: "%PDF-" within its first
// 1024 bytes, where readers look for it.
func IsPDF(data []byte) bool {
	return bytes.Contains(data[:min(len(data), 1024)], []byte("%PDF-"))
}

// PDFToZPL converts every page of a PDF into one ZPL label (a ^GF graphic
// the size of the label), in page order.
func PDFToZPL(ctx context.Context, pdf []byte, opts *PDFOptions) ([][]byte, error) {
	bms, err := PDFToBitmaps(ctx, pdf, opts)
	if err != nil {
		return nil, err
	}
	enc := labelrender.Z64
	if opts != nil {
		enc = opts.Encoding
	}
	out := make([][]byte, len(bms))
	for i, bm := range bms {
		out[i] = labelrender.GraphicLabel(bm, enc)
	}
	return out, nil
}

// PDFToBitmaps rasterises every page of a PDF and fits it to the label as
// a 1-bit bitmap, in page order. The input is bounded in size, pages and
// time; a PDF the engine cannot read is ErrBadPDF.
func PDFToBitmaps(ctx context.Context, pdf []byte, opts *PDFOptions) ([]*labelrender.Bitmap, error) {
	var o PDFOptions
	if opts != nil {
		o = *opts
	}
	o.MaxBytes = orDefault(o.MaxBytes, DefaultMaxBytes)
	o.MaxPages = orDefault(o.MaxPages, DefaultMaxPages)
	if o.Timeout <= 0 {
		o.Timeout = DefaultTimeout
	}
	img := labelrender.ImageOptions{Options: o.Options, Encoding: o.Encoding, Rotate: o.Rotate, Threshold: o.Threshold}
	switch o.Halftone {
	case HalftoneAuto:
		img.DitherPhotos = true
	case HalftoneThreshold:
	case HalftoneDither:
		img.Dither = true
	default:
		return nil, fmt.Errorf("pdfrender: halftone %d: %w", o.Halftone, labelrender.ErrInvalidOptions)
	}
	// The options are checked before the engine starts.
	w, h, err := o.Options.Size()
	if err != nil {
		return nil, fmt.Errorf("pdfrender: %w", err)
	}
	if o.Encoding != labelrender.Z64 && o.Encoding != labelrender.ACS {
		return nil, fmt.Errorf("pdfrender: encoding %v: %w", o.Encoding, labelrender.ErrInvalidOptions)
	}
	// The engine draws each page to fit a square whose side is the label's
	// longer side: a 4x6 page on a 4x6 label (either way round) comes out
	// at the printer's dpi, dot for dot, and no page, however large it
	// claims to be, makes more than side² pixels.
	side := max(w, h)

	if len(pdf) > o.MaxBytes {
		return nil, fmt.Errorf("%w: %d bytes (at most %d)", ErrTooLarge, len(pdf), o.MaxBytes)
	}
	if !IsPDF(pdf) {
		return nil, fmt.Errorf("%w: no %%PDF- header", ErrBadPDF)
	}
	bin := o.Pdftoppm
	if bin == "" {
		bin = "pdftoppm"
	}
	path, err := exec.LookPath(bin)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", ErrNoEngine, err)
	}

	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("pdfrender: %w", err)
	}
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, o.Timeout)
	defer cancel()
	// Pages past MaxPages are not drawn: one more says there are too many.
	args := []string{path, "-gray", "-scale-to", fmt.Sprint(side), "-l", fmt.Sprint(o.MaxPages + 1), "-"}
	if o.MaxMemory <= 0 {
		o.MaxMemory = DefaultMaxMemory
	}
	if prlimit, err := exec.LookPath("prlimit"); err == nil {
		// prlimit sets the limit and execs the engine: the same process.
		args = append([]string{prlimit, fmt.Sprintf("--as=%d", o.MaxMemory), "--"}, args...)
	}
	cmd := exec.CommandContext(ctx, args[0], args[1:]...)
	cmd.Env = []string{"LC_ALL=C"}
	cmd.Stdin = bytes.NewReader(pdf)
	stderr := &limitedBuffer{max: 2048}
	cmd.Stderr = stderr
	cmd.WaitDelay = time.Second
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		return nil, fmt.Errorf("pdfrender: %w", err)
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("%w: start %s: %v", ErrNoEngine, path, err)
	}
	var pages []*labelrender.Bitmap
	r := bufio.NewReaderSize(stdout, 64<<10)
	// outErr: the engine's output is not what it should be (it crashed
	// mid-page, say); stopErr: this side stops the engine.
	var outErr, stopErr error
	for {
		g, err := readPGM(r, side)
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			outErr = err
			break
		}
		if len(pages) == o.MaxPages {
			stopErr = fmt.Errorf("%w: more than %d", ErrTooManyPages, o.MaxPages)
			break
		}
		bm, err := labelrender.ImageToBitmap(g, &img)
		if err != nil {
			stopErr = fmt.Errorf("pdfrender: page %d: %w", len(pages)+1, err)
			break
		}
		pages = append(pages, bm)
	}
	// Read before cancel below: an engine killed by the deadline ends its
	// output early, which is the deadline's fault, not the PDF's format.
	expired := ctx.Err()
	if stopErr != nil {
		cancel() // stop the engine; its exit status no longer matters
	}
	// Drain what is left so the engine can exit (after bad output, its
	// exit status and complaint say more than the output), then wait.
	io.Copy(io.Discard, r)
	waitErr := cmd.Wait()
	if expired == nil && stopErr == nil && waitErr != nil {
		expired = ctx.Err() // killed at the deadline while draining
	}
	switch {
	case expired != nil && parent.Err() != nil:
		return nil, fmt.Errorf("pdfrender: %w", parent.Err())
	case expired != nil:
		return nil, fmt.Errorf("%w: not rendered within %s", ErrBadPDF, o.Timeout)
	case stopErr != nil:
		return nil, stopErr
	case waitErr != nil:
		return nil, fmt.Errorf("%w: %s", ErrBadPDF, engineMessage(stderr.String(), waitErr))
	case outErr != nil:
		return nil, fmt.Errorf("%w: %v", ErrBadPDF, outErr)
	case len(pages) == 0:
		return nil, fmt.Errorf("%w: no pages", ErrBadPDF)
	}
	return pages, nil
}

func orDefault(v, def int) int {
	if v <= 0 {
		return def
	}
	return v
}

// engineMessage is the engine's first complaint, for a clear error.
func engineMessage(stderr string, err error) string {
	for _, line := range strings.Split(stderr, "\n") {
		if line = strings.TrimSpace(line); line != "" {
			return line
		}
	}
	return err.Error()
}

// readPGM reads one binary PGM (P5, maxval 255), as pdftoppm -gray writes
// them one after another, refusing sides larger than side. io.EOF means a
// clean end between images.
func readPGM(r *bufio.Reader, side int) (*image.Gray, error) {
	if _, err := r.Peek(1); err != nil {
		return nil, err
	}
	var f [4]int
	for i := range f {
		tok, err := pgmToken(r)
		if err != nil {
			return nil, fmt.Errorf("pdfrender: engine output: %w", err)
		}
		if i == 0 {
			if tok != "P5" {
				return nil, fmt.Errorf("pdfrender: engine output: %q is not a PGM", tok)
			}
			continue
		}
		if _, err := fmt.Sscan(tok, &f[i]); err != nil {
			return nil, fmt.Errorf("pdfrender: engine output: header %q", tok)
		}
	}
	w, h, maxval := f[1], f[2], f[3]
	if w <= 0 || h <= 0 || w > side || h > side || maxval != 255 {
		return nil, fmt.Errorf("pdfrender: engine output: %dx%d maxval %d (at most %dx%d, 255)", w, h, maxval, side, side)
	}
	g := image.NewGray(image.Rect(0, 0, w, h))
	if _, err := io.ReadFull(r, g.Pix); err != nil {
		return nil, fmt.Errorf("pdfrender: engine output: %w", err)
	}
	return g, nil
}

// pgmToken reads a header field: skips whitespace and comments, and
// consumes the single whitespace byte after it.
func pgmToken(r *bufio.Reader) (string, error) {
	var b []byte
	for {
		c, err := r.ReadByte()
		if err != nil {
			return "", io.ErrUnexpectedEOF
		}
		switch {
		case c == '#' && len(b) == 0:
			if _, err := r.ReadString('\n'); err != nil {
				return "", io.ErrUnexpectedEOF
			}
		case c == ' ' || c == '\t' || c == '\n' || c == '\r':
			if len(b) > 0 {
				return string(b), nil
			}
		default:
			if len(b) == 16 {
				return "", errors.New("header field too long")
			}
			b = append(b, c)
		}
	}
}

// limitedBuffer keeps the first max bytes written to it.
type limitedBuffer struct {
	buf bytes.Buffer
	max int
}

func (l *limitedBuffer) Write(p []byte) (int, error) {
	if room := l.max - l.buf.Len(); room > 0 {
		l.buf.Write(p[:min(len(p), room)])
	}
	return len(p), nil
}

func (l *limitedBuffer) String() string { return l.buf.String() }
