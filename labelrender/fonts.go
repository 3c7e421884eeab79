package labelrender

import (
	"sync"
	"unicode/utf8"

	"github.com/golang/freetype/truetype"
	"golang.org/x/image/font"
	"golang.org/x/image/font/gofont/gobold"
	"golang.org/x/image/font/gofont/goregular"
	"golang.org/x/image/math/fixed"
)

// typeface is one embedded font with an advance-width table for ASCII, so
// layout can measure text without building a face per size (native ZPL
// rendering must stay within microseconds). Read-only after loading.
type typeface struct {
	font       *truetype.Font
	unitsPerEm int
	ascii      [128]int32 // advance widths in font units
}

type typefaces struct{ regular, bold *typeface }

// loadTypefaces parses the embedded Go fonts once; they never change after.
var loadTypefaces = sync.OnceValue(func() typefaces {
	return typefaces{regular: mustTypeface(goregular.TTF), bold: mustTypeface(gobold.TTF)}
})

func mustTypeface(ttf []byte) *typeface {
	f, err := truetype.Parse(ttf)
	if err != nil {
		panic("labelrender: embedded font: " + err.Error()) // the embedded TTF is fixed at build time
	}
	t := &typeface{font: f, unitsPerEm: int(f.FUnitsPerEm())}
	for r := rune(0); r < 128; r++ {
		t.ascii[r] = t.advance(r)
	}
	return t
}

// advance is the advance width of r in font units; runes the font lacks get
// the .notdef box, which the raster draws visibly.
func (t *typeface) advance(r rune) int32 {
	return int32(t.font.HMetric(fixed.Int26_6(t.unitsPerEm), t.font.Index(r)).AdvanceWidth)
}

// width is the advance of s at a pixel size, rounded up, plus one pixel of
// slack per glyph for the rasteriser's rounding.
func (t *typeface) width(s string, size int) int {
	var units int64
	n := 0
	for _, r := range s {
		n++
		if r < utf8.RuneSelf {
			units += int64(t.ascii[r])
			continue
		}
		units += int64(t.advance(r))
	}
	return int((units*int64(size)+int64(t.unitsPerEm)-1)/int64(t.unitsPerEm)) + n/8 + 1
}

func (t *typeface) face(size int) font.Face {
	// A small glyph cache: the default (512 entries) allocates a mask image
	// far larger than the few glyphs one label draws at one size.
	return truetype.NewFace(t.font, &truetype.Options{Size: float64(size), DPI: 72,
		Hinting: font.HintingNone, GlyphCacheEntries: 64})
}
