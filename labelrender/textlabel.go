package labelrender

import (
	"fmt"

	"github.com/boombuler/barcode/code128"
)

// TextLabel is a plain label: lines of text from the top, a rule, and an
// optional Code 128 barcode under them. The bench's test print is one.
// Like a shipping label it is laid out once and drawn twice, so its ZPL
// and its PNG preview agree.
type TextLabel struct {
	Lines []TextLine
	// Barcode is Code 128 data (printable ASCII); empty: none.
	Barcode string
}

// TextLine is one line; Size is the font height in dots at 203 dpi
// (scaled to the label's resolution), Bold its weight.
type TextLine struct {
	Text string
	Size int
	Bold bool
}

// RenderTextZPL renders a text label as native ZPL (printer font ^A0,
// every text through ^FH escaping, ^BC for the barcode).
func RenderTextZPL(t TextLabel, opts *Options) ([]byte, error) {
	elems, r, err := layoutText(&t, opts)
	if err != nil {
		return nil, err
	}
	return elementsZPL(elems, r, &Label{}), nil
}

// RenderTextPNG renders a text label as a 1-bit PNG with the embedded fonts.
func RenderTextPNG(t TextLabel, opts *Options) ([]byte, error) {
	elems, r, err := layoutText(&t, opts)
	if err != nil {
		return nil, err
	}
	return drawElements(elems, r).PNG()
}

func layoutText(t *TextLabel, opts *Options) ([]element, resolved, error) {
	r, err := opts.resolve()
	if err != nil {
		return nil, r, err
	}
	lo := &layouter{r: r, tf: loadTypefaces()}
	s := r.scale
	x, w := s(40), r.w-2*s(40)
	y := s(60)
	for i, l := range t.Lines {
		if l.Size <= 0 {
			return nil, r, fmt.Errorf("%w: lines[%d]: size must be positive", ErrInvalidLabel, i)
		}
		size := s(l.Size)
		if y+lineHeight(size) > r.h {
			return nil, r, fmt.Errorf("%w: lines[%d] does not fit the label", ErrNoRoom, i)
		}
		// A line too wide shrinks (to two thirds) before it is cut.
		lo.addBlock(x, y, w, lineHeight(size), []string{l.Text}, size, max(1, size*2/3), l.Bold)
		y += lineHeight(size) + s(10)
	}
	if t.Barcode == "" {
		return lo.elems, r, nil
	}
	lo.elems = append(lo.elems, element{kind: boxElem, x: x, y: y, w: w, h: s(4)})
	y += s(40)
	sym, err := code128.Encode(t.Barcode)
	if err != nil {
		return nil, r, fmt.Errorf("%w: barcode: %v", ErrInvalidLabel, err)
	}
	mw := max(2, s(3))
	h := s(120)
	if bw := sym.Bounds().Dx() * mw; bw > w || y+h > r.h {
		return nil, r, fmt.Errorf("%w: barcode: does not fit the label", ErrNoRoom)
	}
	lo.elems = append(lo.elems, element{kind: linearElem, x: x, y: y, w: sym.Bounds().Dx() * mw, h: h,
		module: mw, symbol: sym, barType: Code128, data: t.Barcode})
	return lo.elems, r, nil
}
