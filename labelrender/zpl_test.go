package labelrender

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// layoutCommands is every command RenderZPL may emit.
func layoutCommands() map[string]bool {
	m := map[string]bool{}
	for _, c := range []string{"^XA", "^CI", "^PW", "^LL", "^LH", "^FO", "^A0", "^FH", "^FD", "^FS",
		"^GB", "^BY", "^BC", "^BQ", "^BX", "^B7", "^BD", "^XZ"} {
		m[c] = true
	}
	return m
}

var escapeCases = []struct{ in, want string }{
	{"Tony Douglas", "Tony Douglas"},
	{"157 W 57th St, Suite 1200.", "157 W 57th St, Suite 1200."},
	{"a-b", "a-b"},
	{"^FS", "_5EFS"},
	{"~JR", "_7EJR"},
	{"_", "_5F"},
	{`\&`, "_5C_26"},
	{"a\r\nb", "a_0D_0Ab"},
	{"\x00", "_00"},
	{"é", "_C3_A9"},
	{"😀", "_F0_9F_98_80"},
	{"Bob^FS^FO50,400^BQN,2,10^FDQA,pwned", "Bob_5EFS_5EFO50,400_5EBQN,2,10_5EFDQA,pwned"},
	{"#/:;'\"()", "_23_2F_3A_3B_27_22_28_29"},
}

func TestEscapeFieldData(t *testing.T) {
	for _, tc := range escapeCases {
		if got := EscapeFieldData(tc.in); got != tc.want {
			t.Errorf("EscapeFieldData(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func FuzzEscapeFieldData(f *testing.F) {
	for _, tc := range escapeCases {
		f.Add(tc.in)
	}
	f.Fuzz(func(t *testing.T, s string) {
		esc := EscapeFieldData(s)
		for i := 0; i < len(esc); i++ {
			if c := esc[i]; c != '_' && !fieldSafe(c) && !strings.ContainsRune(hexDigits, rune(c)) {
				t.Fatalf("escaped %q holds %q", s, c)
			}
		}
		if strings.ContainsAny(esc, "^~\\\r\n\x00") {
			t.Fatalf("escaped %q still holds a command or control byte: %q", s, esc)
		}
		back, err := unescapeFieldData(esc)
		if err != nil || back != s {
			t.Fatalf("unescape(escape(%q)) = %q, %v", s, back, err)
		}
	})
}

// goldenDPIs are the resolutions of the golden reference labels.
var goldenDPIs = []int{203, 300, 600}

func checkGolden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if !bytes.Equal(got, want) {
		t.Fatalf("%s differs from the golden file (%d vs %d bytes); if the change is intended, run go test -update", name, len(got), len(want))
	}
}

func TestGoldenReferenceLabel(t *testing.T) {
	t.Parallel()
	l := referenceLabel(t)
	for _, dpi := range goldenDPIs {
		t.Run(strconv.Itoa(dpi), func(t *testing.T) {
			o := &Options{DPI: dpi, Date: refDate}
			z, err := RenderZPL(l, o)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, "reference-"+strconv.Itoa(dpi)+".zpl", z)
			p, err := RenderPNG(l, o)
			if err != nil {
				t.Fatal(err)
			}
			checkGolden(t, "reference-"+strconv.Itoa(dpi)+".png", p)
		})
	}
}

func TestGoldenReturnLabel4x4(t *testing.T) {
	t.Parallel()
	l := referenceLabel(t)
	l.Return = true
	l.Code2D = &Code2D{Type: DataMatrix, Data: "RMA-2026-0042"}
	l.Barcode, l.TrackingNumber = GS1128, "(00)340123450000000000"
	w, h := SizeDots(203, 4, 4)
	o := &Options{DPI: 203, WidthDots: w, HeightDots: h, Date: refDate}
	z, err := RenderZPL(l, o)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "return-4x4-203.zpl", z)
	if !bytes.Contains(z, []byte("RETURN TO")) || !bytes.Contains(z, []byte("^FDRETURN^FS")) {
		t.Fatalf("return label lacks its markings:\n%s", z)
	}
	p, err := RenderPNG(l, o)
	if err != nil {
		t.Fatal(err)
	}
	checkGolden(t, "return-4x4-203.png", p)
}

func TestNativeZPLShape(t *testing.T) {
	l := referenceLabel(t)
	z, err := RenderZPL(l, &Options{Date: refDate})
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"^XA\n^CI28\n^PW812\n^LL1218\n", "^BCN,190,N,N,N,A^FH^FD9400111899223197428490^FS",
		"^BQN,2,", "^FH^FDMA,https_3A_2F_2Fexample.com", "^FDPKG 1 OF 2^FS", "^FD7 LB^FS", "^FD2026-11-22^FS", "^XZ\n"} {
		if !bytes.Contains(z, []byte(want)) {
			t.Errorf("native ZPL lacks %q", want)
		}
	}
	// Every ^FD is preceded by ^FH: no field reaches the printer unescaped.
	if n, m := bytes.Count(z, []byte("^FD")), bytes.Count(z, []byte("^FH^FD")); n != m {
		t.Fatalf("%d ^FD but only %d ^FH^FD", n, m)
	}
	if len(z) > 2500 {
		t.Fatalf("native label is %d bytes, target ≤ 2500", len(z))
	}
}

func TestCode2DKindsInZPL(t *testing.T) {
	l := referenceLabel(t)
	for _, tc := range []struct {
		c    Code2D
		want string
	}{
		{Code2D{Type: DataMatrix, Data: "ABC123"}, "^BXN,"},
		{Code2D{Type: PDF417, Data: "PDF417 payload 123"}, "^B7N,"},
		{Code2D{Type: MaxiCode, Data: "[)>\x1e01\x1d961Z00004951\x1dUPSN\x1e\x04", ServiceClass: "001"}, "^BD2,1,1^FH^FD001840100190000_5B_29_3E_1E01_1D961Z00004951_1DUPSN_1E_04^FS"},
	} {
		l.Code2D = &tc.c
		z, err := RenderZPL(l, &Options{Date: refDate})
		if err != nil {
			t.Fatalf("%s: %v", tc.c.Type, err)
		}
		if !bytes.Contains(z, []byte(tc.want)) {
			t.Errorf("%s: ZPL lacks %q\n%s", tc.c.Type, tc.want, z)
		}
		if tc.c.Type == DataMatrix && !bytes.Contains(z, []byte(",200,")) {
			t.Errorf("DataMatrix without quality 200")
		}
	}
	l.Code2D = &Code2D{Type: MaxiCode, Data: "x"}
	if _, err := RenderPNG(l, nil); err == nil || !strings.Contains(err.Error(), "native ZPL") {
		t.Fatalf("MaxiCode raster: %v, want ErrUnsupported", err)
	}
}

// hostileStrings are the texts users (or attackers) put into fields.
var hostileStrings = []string{
	"^", "~", "_", `\`, "\r\n", "Bob^FS^FO50,400^BQN,2,10^FDQA,pwned", "~JR", "a\x00b",
	"😀 Zürich 東京", "^XZ~JR^XA", "_5EFS", `\&\&\&`, "~DYE:PWN.GRF,A,G,1,1,FF^FS", "^FH^FD^FS",
}

// hostileLabel puts s into every free-text field of the reference label.
func hostileLabel(t testing.TB, s string) Label {
	l := referenceLabel(t)
	s = "A" + s + "Z" // required fields must hold something printable
	for _, a := range []*Address{&l.From, &l.To} {
		*a = Address{Name: s, Company: s, Street1: s, Street2: s, City: s, State: s, Zip: s, Country: "US", Phone: s, Email: s}
	}
	l.Carrier, l.Service, l.Reference, l.Order = s, s, s, s
	l.Code2D = &Code2D{Type: QR, Data: s}
	return l
}

func TestHostileTextBecomesNoCommand(t *testing.T) {
	t.Parallel()
	benign := referenceLabel(t)
	z, err := RenderZPL(benign, &Options{Date: refDate})
	if err != nil {
		t.Fatal(err)
	}
	want := commandSet(z)
	for _, s := range hostileStrings {
		for _, dpi := range goldenDPIs {
			l := hostileLabel(t, s)
			z, err := RenderZPL(l, &Options{DPI: dpi, Date: refDate})
			if err != nil {
				t.Fatalf("%q: %v", s, err)
			}
			if got := commandSet(z); !slices.Equal(got, want) {
				t.Fatalf("%q at %d dpi: commands %v, want %v\n%s", s, dpi, got, want, z)
			}
			// One tracking barcode and one 2-D code, whatever the text.
			cmds := tokenizeZPL(z)
			if n := countCmd(cmds, "^BC"); n != 1 {
				t.Fatalf("%q: %d ^BC", s, n)
			}
			if n := countCmd(cmds, "^BQ"); n != 1 {
				t.Fatalf("%q: %d ^BQ", s, n)
			}
			if err := CheckZPL(z, nil); err != nil {
				t.Fatalf("%q: %v", s, err)
			}
		}
	}
	// The raster forms carry the text as dots: their commands never change.
	for _, enc := range []Encoding{Z64, ACS} {
		z, err := RenderRasterZPL(hostileLabel(t, hostileStrings[5]+hostileStrings[8]), &Options{Date: refDate}, enc)
		if err != nil {
			t.Fatal(err)
		}
		if got, want := commandSet(z), []string{"^FO", "^FS", "^GF", "^LH", "^LL", "^PW", "^XA", "^XZ"}; !slices.Equal(got, want) {
			t.Fatalf("raster %v: commands %v, want %v", enc, got, want)
		}
	}
	// 5 KB of text is refused with the field named, not cut silently.
	l := hostileLabel(t, strings.Repeat("^FS~JR", 900))
	if _, err := RenderZPL(l, nil); err == nil || !strings.Contains(err.Error(), "longer than") {
		t.Fatalf("5 KB field: %v", err)
	}
	// Fields that feed barcodes are validated instead of escaped.
	l = referenceLabel(t)
	for _, s := range hostileStrings {
		l.TrackingNumber = s
		if _, err := RenderZPL(l, nil); err == nil {
			t.Fatalf("tracking number %q accepted", s)
		}
	}
}

func commandSet(z []byte) []string {
	var names []string
	for _, c := range tokenizeZPL(z) {
		names = append(names, c.name)
	}
	slices.Sort(names)
	return slices.Compact(names)
}

func countCmd(cmds []zplToken, name string) int {
	n := 0
	for _, c := range cmds {
		if c.name == name {
			n++
		}
	}
	return n
}

func TestLongTextShrinksAndStaysInside(t *testing.T) {
	t.Parallel()
	l := referenceLabel(t)
	l.To.Name = strings.Repeat("Wolfeschlegelsteinhausenbergerdorff ", 14)
	l.To.Company = strings.Repeat("Grundstücksverkehrsgenehmigung ", 16)
	l.To.Street1 = strings.Repeat("W", 500)
	l.To.Street2 = strings.Repeat("Building 7, Floor 3, ", 24)
	l.From.Name = strings.Repeat("Q", 500)
	l.Service = "Priority Mail Express International Flat Rate Padded Envelope Hold For Pickup"
	for _, dpi := range goldenDPIs {
		o := &Options{DPI: dpi, Date: refDate}
		r, _ := o.resolve()
		m := r.scale(16)
		els := elementsOf(t, l, o, false)
		shrunk, cut := false, false
		for _, e := range els {
			if e.x < m || e.y < m || e.x+e.w > r.w-m || e.y+e.h > r.h-m+1 {
				t.Fatalf("%d dpi: element %+v leaves the printable area", dpi, e.rect())
			}
			if e.kind == textElem {
				tf := loadTypefaces().regular
				if e.bold {
					tf = loadTypefaces().bold
				}
				if tf.width(e.text, e.size) > e.w {
					t.Fatalf("%d dpi: %q is wider than its box", dpi, e.text)
				}
				if strings.HasPrefix(e.text, "Wolfe") && e.size < r.scale(44) {
					shrunk = true
				}
				if strings.HasSuffix(e.text, ellipsis) {
					cut = true
				}
			}
		}
		if !shrunk || !cut {
			t.Fatalf("%d dpi: long ship-to was not shrunk (%v) and visibly cut (%v)", dpi, shrunk, cut)
		}
	}
}
