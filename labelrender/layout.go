package labelrender

import (
	"fmt"
	"image/color"
	"strings"
	"unicode/utf8"

	"github.com/boombuler/barcode"
	"github.com/boombuler/barcode/code128"
	"github.com/boombuler/barcode/datamatrix"
	"github.com/boombuler/barcode/pdf417"
	"github.com/boombuler/barcode/qr"

	"github.com/packbench/packbench/internal/textcheck"
)

// The layout is computed once and drawn twice: as ZPL commands and as a
// raster. Both outputs walk the same elements, so they agree on where
// everything is and on what is inside the printable area.

type elemKind uint8

const (
	textElem   elemKind = iota // one line of text, top-left at x,y
	boxElem                    // filled rectangle (rules and frames)
	frameElem                  // rectangle outline of thickness t
	linearElem                 // tracking barcode
	matrixElem                 // 2-D code
)

type element struct {
	kind       elemKind
	x, y, w, h int
	t          int // frame thickness

	text string // textElem
	size int    // font pixel size (^A0 height)
	bold bool

	// barcodes
	module   int             // 1-D module width, 2-D module size, or QR magnification
	symbol   barcode.Barcode // the raster encoding (nil for MaxiCode)
	barType  BarcodeType     // linearElem
	codeType Code2DType      // matrixElem
	data     string          // data as the printer receives it, before ^FH escaping
	cols     int             // PDF417 columns, DataMatrix columns/rows
	rows     int
	maxiMode int
}

// pdf417Security is the PDF417 error-correction level of both outputs, so
// the ZPL symbol and the raster symbol have the same shape.
const pdf417Security = 2

// PDF417 rows are three modules high: the usual aspect for scanners.
const pdf417RowModules = 3

type layouter struct {
	r     resolved
	tf    typefaces
	elems []element
}

// layout places every part of the label. raster selects the raster's
// constraints (MaxiCode cannot be drawn).
func layout(l *Label, r resolved, raster bool) ([]element, error) {
	lo := &layouter{r: r, tf: loadTypefaces(), elems: make([]element, 0, 48)}
	if err := lo.place(l, raster); err != nil {
		return nil, err
	}
	return lo.elems, nil
}

func (lo *layouter) place(l *Label, raster bool) error {
	s := lo.r.scale
	W, H := lo.r.w, lo.r.h
	m := s(16)
	iw := W - 2*m
	x0 := m
	rule := max(2, s(3))
	compact := H*10 < W*13 // 4×4 and other squarish labels

	hdr := s(200)
	if compact {
		hdr = s(176)
	}

	// Header: from-address on the left, carrier block on the right.
	y := m
	leftW := iw * 57 / 100
	lo.addBlock(x0, y, leftW, s(26), []string{"FROM:"}, s(20), s(12), true)
	lo.addBlock(x0, y+s(26), leftW, hdr-s(30), addressLines(&l.From), s(26), s(12), false)

	rx := x0 + leftW + s(12)
	rw := x0 + iw - rx
	type headerLine struct {
		text     string
		max, min int
		bold     bool
	}
	right := []headerLine{
		{strings.ToUpper(l.Carrier), s(48), s(20), true},
		{l.Service, s(28), s(14), true},
	}
	if l.Weight != nil {
		wt, err := l.Weight.text()
		if err != nil {
			return err
		}
		right = append(right, headerLine{wt, s(28), s(14), true})
	}
	if p := l.Package; p != nil {
		right = append(right, headerLine{fmt.Sprintf("PKG %d OF %d", p.Index, p.Count), s(28), s(14), true})
	}
	if d := l.dateText(&Options{Date: lo.r.date}); d != "" {
		right = append(right, headerLine{d, s(22), s(14), false})
	}
	ry := y
	for _, it := range right {
		h := lineHeight(it.max)
		lo.addBlock(rx, ry, rw, h, []string{it.text}, it.max, it.min, it.bold)
		ry += h
	}
	// Scaled line heights can round past hdr at high resolutions: the rule
	// goes below the lowest header line.
	y = max(y+hdr, ry)
	lo.rule(x0, y, iw, rule)
	y += rule + s(8)

	// Tracking section at the bottom.
	hb := s(190)
	if compact {
		hb = s(140)
	}
	hrSize := s(28)
	trackH := s(24) + s(6) + hb + s(6) + lineHeight(hrSize)
	trackY := H - m - trackH

	// References: "REF" and "ORDER".
	var refs []string
	if l.Reference != "" {
		refs = append(refs, "REF: "+l.Reference)
	}
	if l.Order != "" {
		refs = append(refs, "ORDER: "+l.Order)
	}

	// Middle: ship-to, the 2-D code and the references.
	var codeX, codeY, codeW, codeH int
	shipBottom := trackY - s(8) - rule
	shipW := iw
	if compact {
		if len(refs) > 0 {
			refH := s(44)
			refY := shipBottom - refH
			colW := iw / len(refs)
			for i, ref := range refs {
				lo.addBlock(x0+i*colW, refY, colW-s(10), refH-s(6), []string{ref}, s(24), s(12), false)
			}
			shipBottom = refY - s(4)
		}
		if l.Code2D != nil {
			codeH = shipBottom - y - s(8)
			codeW = min(iw*45/100, codeH)
			if l.Code2D.Type == PDF417 {
				codeW = iw * 45 / 100
			}
			codeX, codeY = x0+iw-codeW, y
			shipW = iw - codeW - s(16)
		}
	} else if l.Code2D != nil || len(refs) > 0 {
		// Each reference may wrap to two lines.
		rowH := max(s(76), s(16)+len(refs)*2*lineHeight(s(26)))
		if l.Code2D != nil {
			rowH = max(rowH, s(290))
		}
		rowY := shipBottom - rowH
		lo.rule(x0, rowY-s(4)-rule, iw, rule)
		refX, refW := x0, iw
		if l.Code2D != nil {
			codeH = rowH - s(12)
			codeW = min(iw/2, codeH)
			if l.Code2D.Type == PDF417 {
				codeW = iw * 62 / 100
			}
			codeX, codeY = x0, rowY+s(4)
			refX = x0 + codeW + s(16)
			refW = x0 + iw - refX
		}
		ry := rowY + s(8)
		for _, ref := range refs {
			lo.addBlock(refX, ry, refW, 2*lineHeight(s(26)), []string{ref}, s(26), s(12), false)
			ry += 2 * lineHeight(s(26))
		}
		shipBottom = rowY - s(12) - rule
	}

	title := "SHIP TO:"
	if l.Return {
		title = "RETURN TO:"
		// A framed badge makes the return variant obvious at a glance.
		bw, bh := s(190), s(44)
		bx := x0 + shipW - bw
		lo.elems = append(lo.elems, element{kind: frameElem, x: bx, y: y, w: bw, h: bh, t: rule})
		lo.addBlock(bx+s(12), y+s(8), bw-s(24), bh-s(12), []string{"RETURN"}, s(28), s(14), true)
	}
	lo.addBlock(x0, y, shipW/2, s(28), []string{title}, s(22), s(12), true)
	shipH := shipBottom - (y + s(44))
	if shipH < lineHeight(s(16))*3 {
		return fmt.Errorf("%w: no room for the ship-to address on a %dx%d label", ErrNoRoom, W, H)
	}
	lo.addBlock(x0+s(8), y+s(44), shipW-s(8), shipH, addressLines(&l.To), s(44), s(16), true)

	if l.Code2D != nil {
		if err := lo.code2D(l, codeX, codeY, codeW, codeH, raster); err != nil {
			return err
		}
	}

	lo.rule(x0, trackY-s(8)-rule, iw, rule)
	lo.addBlock(x0, trackY, iw, s(24), []string{"TRACKING #:"}, s(22), s(12), true)
	return lo.tracking(l, x0, trackY+s(30), iw, hb, hrSize)
}

func lineHeight(size int) int { return size * 115 / 100 }

func (lo *layouter) rule(x, y, w, t int) {
	lo.elems = append(lo.elems, element{kind: boxElem, x: x, y: y, w: w, h: t})
}

// addressLines are the printed lines of an address; empty parts are left out.
func addressLines(a *Address) []string {
	lines := make([]string, 0, 6)
	for _, s := range []string{a.Name, a.Company, a.Street1, a.Street2} {
		if strings.TrimSpace(s) != "" {
			lines = append(lines, s)
		}
	}
	city := a.City
	if a.State != "" {
		city += ", " + a.State
	}
	city += " " + a.Zip
	lines = append(lines, city, strings.ToUpper(a.Country))
	return lines
}

// cleanText makes one printable line: control characters (C0 such as CR,
// LF, NUL and tab, DEL, C1) become spaces, bidi overrides, isolates and
// direction marks are dropped (a printer font has no glyph for them and a
// label prints left to right anyway), and runs of spaces collapse. The
// label is still printed rather than refused: that is the text rule for
// labels (internal/textcheck refuses the same characters in ids and stored
// text). What is left is printed as given; the escaper makes it safe for ZPL.
func cleanText(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	space := false
	for _, r := range s {
		if textcheck.IsBidi(r) || textcheck.IsMark(r) {
			continue
		}
		if textcheck.IsControl(r) || r == utf8.RuneError {
			r = ' '
		}
		if r == ' ' {
			if space {
				continue
			}
			space = true
		} else {
			space = false
		}
		b.WriteRune(r)
	}
	return strings.TrimSpace(b.String())
}

const ellipsis = "..." // ASCII: printer fonts may lack U+2026

// addBlock fits paragraphs into a w×h box: it tries the largest size first
// and shrinks until every wrapped line fits; at the smallest size it keeps
// what fits and ends the last line with "..." so the cut is visible.
func (lo *layouter) addBlock(x, y, w, h int, paras []string, maxSize, minSize int, bold bool) {
	tf := lo.tf.regular
	if bold {
		tf = lo.tf.bold
	}
	clean := make([]string, 0, len(paras))
	for _, p := range paras {
		if c := cleanText(p); c != "" {
			clean = append(clean, c)
		}
	}
	if len(clean) == 0 {
		return
	}
	step := max(1, maxSize/12)
	var lines []string
	size := maxSize
	for ; ; size -= step {
		if size < minSize {
			size = minSize
		}
		maxLines := max(1, h/lineHeight(size))
		lines = lines[:0]
		for _, p := range clean {
			lines = wrap(lines, tf, p, w, size)
		}
		if len(lines) <= maxLines {
			break
		}
		if size == minSize {
			lines = lines[:maxLines]
			last := lines[maxLines-1]
			for last != "" && tf.width(last+ellipsis, size) > w {
				_, n := utf8.DecodeLastRuneInString(last)
				last = last[:len(last)-n]
			}
			lines[maxLines-1] = strings.TrimRight(last, " ") + ellipsis
			break
		}
	}
	for i, line := range lines {
		lo.elems = append(lo.elems, element{kind: textElem, x: x, y: y + i*lineHeight(size),
			w: w, h: lineHeight(size), text: line, size: size, bold: bold})
	}
}

// wrap breaks p into lines no wider than w: at spaces, and inside words that
// are wider than a line by themselves.
func wrap(lines []string, tf *typeface, p string, w, size int) []string {
	cur := ""
	for _, word := range strings.Split(p, " ") {
		cand := word
		if cur != "" {
			cand = cur + " " + word
		}
		if tf.width(cand, size) <= w {
			cur = cand
			continue
		}
		if cur != "" {
			lines = append(lines, cur)
		}
		cur = word
		for tf.width(cur, size) > w {
			// Split an over-long word at the last rune that still fits.
			cut := 0
			for i := range cur {
				if i > 0 && tf.width(cur[:i], size) > w {
					break
				}
				cut = i
			}
			if cut == 0 {
				_, cut = utf8.DecodeRuneInString(cur)
			}
			lines = append(lines, cur[:cut])
			cur = cur[cut:]
		}
	}
	if cur != "" {
		lines = append(lines, cur)
	}
	return lines
}

// tracking places the tracking barcode and its human-readable line.
func (lo *layouter) tracking(l *Label, x, y, w, h, hrSize int) error {
	s := lo.r.scale
	content := l.TrackingNumber
	typ := l.Barcode
	if typ == "" {
		typ = Code128
	}
	if typ == GS1128 {
		parts, err := gs1Parts(l.TrackingNumber)
		if err != nil {
			return err
		}
		content = gs1Content(parts)
	}
	sym, err := code128.Encode(content)
	if err != nil {
		return fmt.Errorf("%w: tracking_number: %v", ErrInvalidLabel, err)
	}
	modules := sym.Bounds().Dx()
	// The printer's own Code 128 encoder may pick other subsets than ours:
	// leave 10 % slack, plus the quiet zones of ten modules each side.
	fits := func(mw int) bool { return (modules*11/10+20)*mw <= w }
	mw := max(2, s(3))
	for mw > max(2, s(2)) && !fits(mw) {
		mw--
	}
	if !fits(mw) {
		return fmt.Errorf("%w: tracking_number: %d modules of Code 128 do not fit %d dots at %d dpi",
			ErrNoRoom, modules, w, lo.r.dpi)
	}
	bx := x + (w-modules*mw)/2
	lo.elems = append(lo.elems, element{kind: linearElem, x: bx, y: y, w: modules * mw, h: h,
		module: mw, symbol: sym, barType: typ, data: l.TrackingNumber})
	hr := l.TrackingNumber
	off := max(0, (w-lo.tf.bold.width(hr, hrSize))/2)
	lo.addBlock(x+off, y+h+s(6), w-off, lineHeight(hrSize), []string{hr}, hrSize, s(14), true)
	return nil
}

// gs1Content is the Code 128 content of GS1-128 elements: FNC1 first, and
// FNC1 after every variable-length element that is not the last.
func gs1Content(parts []gs1Element) string {
	var b strings.Builder
	b.WriteRune(code128.FNC1)
	for i, p := range parts {
		b.WriteString(p.ai)
		b.WriteString(p.value)
		if _, fixed := gs1Fixed[p.ai]; !fixed && i < len(parts)-1 {
			b.WriteRune(code128.FNC1)
		}
	}
	return b.String()
}

// code2D places the optional 2-D code inside the box, as large as fits.
func (lo *layouter) code2D(l *Label, x, y, w, h int, raster bool) error {
	s := lo.r.scale
	c := l.Code2D
	side := min(w, h)
	e := element{kind: matrixElem, x: x, y: y, codeType: c.Type, data: c.Data}
	noRoom := func() error {
		return fmt.Errorf("%w: code2d.data: %d bytes of %s do not fit %dx%d dots", ErrNoRoom, len(c.Data), c.Type, w, h)
	}
	switch c.Type {
	case QR:
		// Size by the byte-mode version: the most any encoder (ours or the
		// printer's automatic mode) can need, and cheap to compute.
		n := qrModulesM(len(c.Data))
		if n == 0 {
			return noRoom()
		}
		// ZPL's ^BQ magnification runs 1..10; keep 2 dots per module at least.
		e.module = min(10, side/(n+2))
		if e.module < max(2, s(2)) {
			return noRoom()
		}
		e.w, e.h = n*e.module, n*e.module
		if raster {
			sym, err := qr.Encode(c.Data, qr.M, qr.Auto)
			if err != nil {
				return fmt.Errorf("%w: code2d.data: %v", ErrInvalidLabel, err)
			}
			e.symbol = sym
			e.w, e.h = sym.Bounds().Dx()*e.module, sym.Bounds().Dy()*e.module
		}
	case DataMatrix:
		sym, err := datamatrix.Encode(c.Data)
		if err != nil {
			return fmt.Errorf("%w: code2d.data: %v", ErrInvalidLabel, err)
		}
		n := sym.Bounds().Dx()
		e.module = min(s(12), side/(n+2))
		if e.module < max(2, s(2)) {
			return noRoom()
		}
		e.symbol, e.w, e.h = sym, n*e.module, sym.Bounds().Dy()*e.module
		e.cols, e.rows = n, sym.Bounds().Dy()
	case PDF417:
		sym, err := encodePDF417(c.Data, raster)
		if err != nil {
			return err
		}
		wm := sym.Bounds().Dx()
		rows := sym.Bounds().Dy() / 2 // boombuler draws each row two pixels high
		// The printer may need a few more rows than our encoder: 25 % slack.
		e.module = min(s(4), w/wm, h/(rows*pdf417RowModules*5/4))
		if e.module < max(2, s(2)) {
			return noRoom()
		}
		e.symbol, e.w, e.h = sym, wm*e.module, rows*pdf417RowModules*e.module
		e.cols, e.rows = (wm-1)/17-4, rows
	case MaxiCode:
		if raster {
			return fmt.Errorf("%w: code2d.type: maxicode is drawn by the printer: use native ZPL", ErrUnsupported)
		}
		mode, _, _, err := maxiPostal(&l.To)
		if err != nil {
			return err
		}
		// MaxiCode has a fixed size: 1.11 × 1.054 in.
		e.w, e.h = lo.r.dpi*111/100, lo.r.dpi*1054/1000
		if e.w > w || e.h > h {
			return noRoom()
		}
		e.maxiMode = mode
	}
	// Centre the symbol in its box.
	e.x += (w - e.w) / 2
	e.y += (h - e.h) / 2
	lo.elems = append(lo.elems, e)
	return nil
}

// qrDataCodewordsM is the data capacity of QR versions 1–40 at error
// correction level M (ISO/IEC 18004 table 7).
var qrDataCodewordsM = [40]int{16, 28, 44, 64, 86, 108, 124, 154, 182, 216, 254, 290, 334, 365, 415,
	453, 507, 563, 627, 669, 714, 782, 860, 914, 1000, 1062, 1128, 1193, 1267, 1373, 1455, 1541, 1631,
	1725, 1812, 1914, 1992, 2102, 2216, 2334}

// qrModulesM is the side in modules of the smallest level-M QR symbol that
// holds n bytes in byte mode, or 0 if none does.
func qrModulesM(n int) int {
	for v := 1; v <= 40; v++ {
		countBits := 8
		if v >= 10 {
			countBits = 16
		}
		if (4+countBits+8*n+7)/8 <= qrDataCodewordsM[v-1] {
			return 17 + 4*v
		}
	}
	return 0
}

// encodePDF417 encodes data for the raster. boombuler/barcode v1.1.0
// writes the left row indicator of the cluster-0 rows as 30·(r/3) +
// (rows-3)/3 where ISO 15438 says (rows-1)/3; the two agree only when rows is
// a multiple of three, and scanners refuse the other symbols (found with
// ZXingReader). For those, the indicator codewords are taken from a second
// symbol whose own wrong value happens to be our right one, and drawn over.
func encodePDF417(data string, raster bool) (barcode.Barcode, error) {
	sym, err := pdf417.Encode(data, pdf417Security)
	if err != nil {
		return nil, fmt.Errorf("%w: code2d.data: %v", ErrInvalidLabel, err)
	}
	rows := sym.Bounds().Dy() / 2 // boombuler draws each row two pixels high
	if rows%3 == 0 || !raster {
		return sym, nil
	}
	donor := pdf417IndicatorDonor(rows)
	if donor == nil {
		return nil, fmt.Errorf("%w: code2d: cannot draw this PDF417 symbol correctly; use native ZPL", ErrUnsupported)
	}
	return &fixedPDF417{Barcode: sym, donor: donor}, nil
}

// pdf417IndicatorDonor finds a symbol with rows' rows where (rows'-3)/3 ==
// (rows-1)/3 and rows' ≥ rows: its cluster-0 left indicators are the ones a
// correct rows-row symbol carries, row for row.
func pdf417IndicatorDonor(rows int) barcode.Barcode {
	lo, hi := 3*((rows-1)/3)+3, 3*((rows-1)/3)+5
	// The level only changes how many rows a length needs: several levels
	// give row counts that one level skips.
	for level := byte(0); level <= 8; level++ {
		rowsOf := func(n int) (int, barcode.Barcode) {
			sym, err := pdf417.Encode(strings.Repeat("A", n), level)
			if err != nil {
				return 1 << 30, nil
			}
			return sym.Bounds().Dy() / 2, sym
		}
		// Row counts grow with the length: find the first long enough, then
		// walk on until one lands in the window.
		a, b := 1, 2000
		for a < b {
			mid := (a + b) / 2
			if r, _ := rowsOf(mid); r >= lo {
				b = mid
			} else {
				a = mid + 1
			}
		}
		for n := a; n < a+400; n++ {
			r, sym := rowsOf(n)
			if r >= lo && r <= hi {
				return sym
			}
			if r > hi+6 {
				break
			}
		}
	}
	return nil
}

// fixedPDF417 is a boombuler symbol with its cluster-0 left row indicators
// (modules 17–33 of rows 0, 3, 6…, after the start pattern) from the donor.
type fixedPDF417 struct {
	barcode.Barcode
	donor barcode.Barcode
}

func (f *fixedPDF417) At(x, y int) color.Color {
	if (y/2)%3 == 0 && x >= 17 && x < 34 {
		return f.donor.At(x, y)
	}
	return f.Barcode.At(x, y)
}
