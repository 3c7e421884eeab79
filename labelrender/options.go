package labelrender

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Options configure the printer a label is rendered for. A nil *Options
// means a 4×6 in label at 203 dpi.
type Options struct {
	// DPI is the print head resolution: 152, 203 (default), 300 or 600.
	DPI int
	// WidthDots and HeightDots are the label size in dots; zero means
	// 4×6 in at DPI (see SizeDots for other sizes).
	WidthDots, HeightDots int
	// Date is printed when the label has no date of its own: the caller's
	// clock, so rendering stays a pure function of its inputs.
	Date time.Time
}

// Supported resolutions (dots per inch) and their dots per millimetre.
var dpmm = map[int]int{152: 6, 203: 8, 300: 12, 600: 24}

// DotsPerMM is the dots-per-millimetre figure ZPL tools use for a DPI (0 if unsupported).
func DotsPerMM(dpi int) int { return dpmm[dpi] }

// SizeDots converts a label size in inches to dots at dpi.
func SizeDots(dpi int, widthIn, heightIn float64) (w, h int) {
	return int(widthIn*float64(dpi) + 0.5), int(heightIn*float64(dpi) + 0.5)
}

// ParseSize reads a label size as inches ("4x6", "4x4", "4x6.5") or as dots
// ("812x1218dots") and returns it in dots at dpi.
func ParseSize(s string, dpi int) (w, h int, err error) {
	if dpmm[dpi] == 0 {
		return 0, 0, fmt.Errorf("%w: dpi %d (want 152, 203, 300 or 600)", ErrInvalidOptions, dpi)
	}
	dots := strings.HasSuffix(s, "dots")
	ws, hs, ok := strings.Cut(strings.TrimSuffix(s, "dots"), "x")
	if !ok {
		return 0, 0, fmt.Errorf("%w: size %q (want WxH in inches like 4x6, or 812x1218dots)", ErrInvalidOptions, s)
	}
	wf, err1 := strconv.ParseFloat(ws, 64)
	hf, err2 := strconv.ParseFloat(hs, 64)
	if err1 != nil || err2 != nil || wf <= 0 || hf <= 0 {
		return 0, 0, fmt.Errorf("%w: size %q (want WxH in inches like 4x6, or 812x1218dots)", ErrInvalidOptions, s)
	}
	if dots {
		w, h = int(wf), int(hf)
	} else {
		w, h = SizeDots(dpi, wf, hf)
	}
	o := Options{DPI: dpi, WidthDots: w, HeightDots: h}
	if _, err := o.resolve(); err != nil {
		return 0, 0, err
	}
	return w, h, nil
}

// resolved are the options with defaults applied and checked.
type resolved struct {
	dpi, w, h int
	date      time.Time
}

// Smallest and largest labels we lay out: 2×2 in, and ZPL's ^LL limit.
const (
	minSideIn = 2
	maxDots   = 32000
)

func (o *Options) resolve() (resolved, error) {
	r := resolved{dpi: 203}
	if o != nil {
		r.date = o.Date
		if o.DPI != 0 {
			r.dpi = o.DPI
		}
		r.w, r.h = o.WidthDots, o.HeightDots
	}
	if dpmm[r.dpi] == 0 {
		return r, fmt.Errorf("%w: dpi %d (want 152, 203, 300 or 600)", ErrInvalidOptions, r.dpi)
	}
	if r.w == 0 && r.h == 0 {
		r.w, r.h = SizeDots(r.dpi, 4, 6)
	}
	minDots := minSideIn * r.dpi
	if r.w < minDots || r.h < minDots || r.w > maxDots || r.h > maxDots {
		return r, fmt.Errorf("%w: size %dx%d dots at %d dpi (each side %d..%d dots)", ErrInvalidOptions, r.w, r.h, r.dpi, minDots, maxDots)
	}
	return r, nil
}

// scale converts a length given in 203-dpi dots to dots at the label's dpi.
func (r resolved) scale(n int) int { return (n*r.dpi + 101) / 203 }

// Size returns the label size in dots with the defaults applied, or the
// error that rendering with these options would give.
func (o *Options) Size() (w, h int, err error) {
	r, err := o.resolve()
	return r.w, r.h, err
}
