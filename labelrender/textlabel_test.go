package labelrender

import (
	"bytes"
	"errors"
	"image/png"
	"strings"
	"testing"
)

// A text label is drawn twice from one layout: ZPL that passes the check
// with every text escaped, and a PNG of the label's size with ink where the
// ZPL puts the barcode.
func TestTextLabel(t *testing.T) {
	tl := TextLabel{Lines: []TextLine{{Text: "PACKBENCH TEST PRINT", Size: 64, Bold: true}, {Text: "Printer: ^XZ~JA", Size: 40}}, Barcode: "0123456789"}
	zpl, err := RenderTextZPL(tl, nil)
	if err != nil {
		t.Fatal(err)
	}
	z := string(zpl)
	if strings.Count(z, "^XZ") != 1 || strings.Contains(z, "~JA") || !strings.Contains(z, "^BCN") || !strings.Contains(z, "PACKBENCH TEST PRINT") {
		t.Fatalf("zpl %q", z)
	}
	if err := CheckZPL(zpl, nil); err != nil {
		t.Fatalf("check: %v", err)
	}
	b, err := RenderTextPNG(tl, nil)
	if err != nil {
		t.Fatal(err)
	}
	img, err := png.Decode(bytes.NewReader(b))
	if err != nil {
		t.Fatal(err)
	}
	if r := img.Bounds(); r.Dx() != 812 || r.Dy() != 1218 {
		t.Fatalf("png %v, want 812x1218", r)
	}
	elems, _, err := layoutText(&tl, nil)
	if err != nil {
		t.Fatal(err)
	}
	var bar *element
	for i := range elems {
		if elems[i].kind == linearElem {
			bar = &elems[i]
		}
	}
	if bar == nil {
		t.Fatal("no barcode element")
	}
	dark := 0
	for x := bar.x; x < bar.x+bar.w; x++ {
		if r, _, _, _ := img.At(x, bar.y+bar.h/2).RGBA(); r == 0 {
			dark++
		}
	}
	if dark == 0 || dark == bar.w {
		t.Errorf("barcode row has %d dark dots of %d", dark, bar.w)
	}
	if _, err := RenderTextZPL(TextLabel{Lines: []TextLine{{Text: "x"}}}, nil); !errors.Is(err, ErrInvalidLabel) {
		t.Errorf("size 0: %v", err)
	}
}
