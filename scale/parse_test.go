package scale_test

import (
	"bytes"
	"errors"
	"testing"

	"github.com/packbench/packbench/scale"
	"github.com/packbench/packbench/scale/scaletest"
)

func hexb(s string) []byte {
	var out []byte
	for _, f := range bytes.Fields([]byte(s)) {
		var b byte
		for _, c := range f {
			switch {
			case c >= '0' && c <= '9':
				b = b<<4 | (c - '0')
			case c >= 'a' && c <= 'f':
				b = b<<4 | (c - 'a' + 10)
			}
		}
		out = append(out, b)
	}
	return out
}

type parseCase struct {
	name   string
	in     []byte
	mg     int64
	status scale.Status
	disp   string // Display(), "" when no weight
	err    error  // sentinel the error must wrap
}

// FACTS.md HID vectors (sanmai/usb-scale-reader, benfaerber/usb-scale, node-hid #286).
var hidCases = []parseCase{
	{"878 g", hexb("03 04 02 00 6e 03"), 878_000, scale.StatusStable, "878 g", nil},
	{"7.8 oz", hexb("03 04 0b ff 4e 00"), 221_126, scale.StatusStable, "7.8 oz", nil},
	{"zero", hexb("03 02 0b ff 00 00"), 0, scale.StatusZero, "0.0 oz", nil},
	{"under zero", hexb("03 05 0b ff 00 00"), 0, scale.StatusUnder, "", nil},
	{"under zero two's complement", hexb("03 05 0b ff f6 ff"), -28_350, scale.StatusUnder, "", nil},
	{"unknown unit", hexb("03 04 00 00 90 00"), 0, 0, "", scale.ErrUnknownUnit},
	{"zero without unit", hexb("03 02 00 00 00 00"), 0, scale.StatusZero, "0", nil},
	{"2.5 oz", hexb("03 04 0b ff 19 00"), 70_874, scale.StatusStable, "2.5 oz", nil},
	{"motion 0.35 lb", hexb("03 03 0c fe 23 00"), 158_757, scale.StatusMotion, "0.35 lb", nil},
	{"needs re-zero", hexb("03 08 0c fe 00 00"), 0, scale.StatusNeedsZero, "", nil},
	{"0.14 kg", hexb("03 04 03 fe 0e 00"), 140_000, scale.StatusStable, "0.14 kg", nil},
	{"113.5 oz", hexb("03 04 0b ff 6f 04"), 3_217_671, scale.StatusStable, "113.5 oz", nil},
	{"7.85 lb", hexb("03 04 0c fe 11 03"), 3_560_700, scale.StatusStable, "7.85 lb", nil},
	{"mettler report id 4", hexb("04 04 02 00 e8 03"), 1_000_000, scale.StatusStable, "1000 g", nil},
	{"over capacity", hexb("03 06 0c fe ff ff"), 0, scale.StatusOver, "", nil},
	{"fault", hexb("03 01 00 00 00 00"), 0, scale.StatusFault, "", nil},
	{"all zero buffer", hexb("00 00 00 00 00 00"), 0, 0, "", scale.ErrNotWeight},
	{"other report id", hexb("01 04 02 00 6e 03"), 0, 0, "", scale.ErrNotWeight},
	{"short", hexb("03 04 02 00 6e"), 0, 0, "", scale.ErrMalformed},
	{"bad status", hexb("03 09 02 00 6e 03"), 0, 0, "", scale.ErrMalformed},
	{"tael has no exact size", hexb("03 04 05 00 01 00"), 0, 0, "", scale.ErrUnknownUnit},
}

var mtsicsCases = []parseCase{
	{"stable", []byte("S S     100.00 g"), 100_000, scale.StatusStable, "100.00 g", nil},
	{"stable crlf", []byte("S S     100.00 g\r\n"), 100_000, scale.StatusStable, "100.00 g", nil},
	{"dynamic", []byte("S D      12.5 kg"), 12_500_000, scale.StatusMotion, "12.5 kg", nil},
	{"zero", []byte("S S       0.00 g"), 0, scale.StatusZero, "0.00 g", nil},
	{"negative", []byte("S S     -10.00 g"), -10_000, scale.StatusStable, "-10.00 g", nil},
	{"lb", []byte("S S      7.85 lb"), 3_560_700, scale.StatusStable, "7.85 lb", nil},
	{"7E1 bits", scaletest.EvenParity([]byte("S S     100.00 g\r\n")), 100_000, scale.StatusStable, "100.00 g", nil},
	{"overload", []byte("S +"), 0, scale.StatusOver, "", nil},
	{"underload", []byte("S -"), 0, scale.StatusUnder, "", nil},
	{"not executable", []byte("S I"), 0, 0, "", scale.ErrRefused},
	{"syntax error", []byte("ES"), 0, 0, "", scale.ErrMalformed},
	{"logical error", []byte("EL"), 0, 0, "", scale.ErrRefused},
	{"unknown unit", []byte("S S 1.0 furlong"), 0, 0, "", scale.ErrUnknownUnit},
	{"garbage", []byte("hello"), 0, 0, "", scale.ErrMalformed},
	{"too long", bytes.Repeat([]byte("S"), 200), 0, 0, "", scale.ErrMalformed},
}

var nciCases = []parseCase{
	{"stable lb", []byte("\n0001.25lb\r\n00\r\x03"), 566_990, scale.StatusStable, "1.25 lb", nil},
	{"motion", []byte("\n0012.34lb\r\n10\r\x03"), 5_597_330, scale.StatusMotion, "12.34 lb", nil},
	{"at zero", []byte("\n0000.00lb\r\n20\r\x03"), 0, scale.StatusZero, "0.00 lb", nil},
	{"grams", []byte("\n  1234g \r\n00\r\x03"), 1_234_000, scale.StatusStable, "1234 g", nil},
	{"ounces 7E1", scaletest.EvenParity([]byte("\n0007.80oz\r\n00\r\x03")), 221_126, scale.StatusStable, "7.80 oz", nil},
	{"3825 three status bytes", []byte("\n001.45kg\r\n0p0\r\x03"), 1_450_000, scale.StatusStable, "1.45 kg", nil},
	{"over capacity", []byte("\n02\r\x03"), 0, scale.StatusOver, "", nil},
	{"under capacity", []byte("\n01\r\x03"), 0, scale.StatusUnder, "", nil},
	{"motion status only", []byte("\n10\r\x03"), 0, scale.StatusMotion, "", nil},
	{"ram error", []byte("\n0004.00lb\r\n40\r\x03"), 0, scale.StatusFault, "", nil},
	{"status only stable", []byte("\n00\r\x03"), 0, 0, "", scale.ErrNotWeight},
	{"bad command", []byte("\n?\r\x03"), 0, 0, "", scale.ErrRefused},
	{"bad status byte", []byte("\n0001.25lb\r\nA0\r\x03"), 0, 0, "", scale.ErrMalformed},
	{"missing third byte", []byte("\n0001.25lb\r\n0p\r\x03"), 0, 0, "", scale.ErrMalformed},
	{"no etx", []byte("\n0001.25lb\r\n00\r"), 0, 0, "", scale.ErrMalformed},
	{"no unit", []byte("\n0001.25\r\n00\r\x03"), 0, 0, "", scale.ErrMalformed},
}

var toledoCases = []parseCase{
	{"weight", []byte("\x02001.25\r"), 566_990, scale.StatusStable, "1.25 lb", nil},
	{"net", []byte("\x02012.34N\r"), 5_597_330, scale.StatusStable, "12.34 lb", nil},
	{"zero", []byte("\x02000.00\r"), 0, scale.StatusZero, "0.00 lb", nil},
	{"7E1 bits", scaletest.EvenParity([]byte("\x02001.25\r")), 566_990, scale.StatusStable, "1.25 lb", nil},
	{"motion", []byte("\x02?A\r"), 0, scale.StatusMotion, "", nil},
	{"out of range", []byte("\x02?B\r"), 0, scale.StatusOver, "", nil},
	{"under zero", []byte("\x02?D\r"), 0, scale.StatusUnder, "", nil},
	{"centre of zero only", []byte("\x02?P\r"), 0, 0, "", scale.ErrNotWeight},
	{"no stx", []byte("001.25\r"), 0, 0, "", scale.ErrMalformed},
	{"letters", []byte("\x02abc\r"), 0, 0, "", scale.ErrMalformed},
}

// FACTS.md: 12.34 lb gross stable.
var toledoFrame = hexb("02 2c 20 20 30 30 31 32 33 34 30 30 30 30 30 30 0d 3b")

var toledoContCases = []parseCase{
	{"facts 12.34 lb", toledoFrame, 5_597_330, scale.StatusStable, "12.34 lb", nil},
	{"facts frame 7E1", scaletest.EvenParity(toledoFrame), 5_597_330, scale.StatusStable, "12.34 lb", nil},
	{"kg motion", scaletest.ToledoFrame(scaletest.State{Value: 145, Exp: -2, Unit: scale.UnitKilogram, Status: scale.StatusMotion}, true), 1_450_000, scale.StatusMotion, "1.45 kg", nil},
	{"negative", scaletest.ToledoFrame(scaletest.State{Value: -50, Exp: -2, Unit: scale.UnitPound, Status: scale.StatusStable}, true), -226_796, scale.StatusUnder, "", nil},
	{"over", scaletest.ToledoFrame(scaletest.State{Value: 0, Exp: -2, Unit: scale.UnitPound, Status: scale.StatusOver}, true), 0, scale.StatusOver, "", nil},
	{"bad checksum", append(append([]byte(nil), toledoFrame[:17]...), 0x3c), 0, 0, "", scale.ErrChecksum},
	{"short", toledoFrame[:17], 0, 0, "", scale.ErrMalformed},
	{"letters in weight", hexb("02 2c 20 20 30 30 31 41 33 34 30 30 30 30 30 30 0d 2c"), 0, 0, "", scale.ErrMalformed},
}

func checkCases(t *testing.T, cases []parseCase, parse func([]byte) (scale.Reading, error)) {
	t.Helper()
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			r, err := parse(tc.in)
			if tc.err != nil {
				if !errors.Is(err, tc.err) {
					t.Fatalf("err = %v, want %v", err, tc.err)
				}
				return
			}
			if err != nil {
				t.Fatalf("err = %v", err)
			}
			if r.Status != tc.status || r.Milligrams != tc.mg {
				t.Errorf("got %s %d mg, want %s %d mg", r.Status, r.Milligrams, tc.status, tc.mg)
			}
			if tc.disp != "" && (r.Display() != tc.disp || !r.HasWeight()) {
				t.Errorf("display %q (has weight %v), want %q", r.Display(), r.HasWeight(), tc.disp)
			}
			if tc.disp == "" && r.HasWeight() {
				t.Errorf("%v has a weight; want none", r)
			}
		})
	}
}

func parseToledoLb(b []byte) (scale.Reading, error)   { return scale.ParseToledo(b, scale.UnitPound) }
func parseToledoCont(b []byte) (scale.Reading, error) { return scale.ParseToledoContinuous(b, true) }

func TestParseHIDReport(t *testing.T)        { checkCases(t, hidCases, scale.ParseHIDReport) }
func TestParseMTSICS(t *testing.T)           { checkCases(t, mtsicsCases, scale.ParseMTSICS) }
func TestParseNCI(t *testing.T)              { checkCases(t, nciCases, scale.ParseNCI) }
func TestParseToledo(t *testing.T)           { checkCases(t, toledoCases, parseToledoLb) }
func TestParseToledoContinuous(t *testing.T) { checkCases(t, toledoContCases, parseToledoCont) }

func TestToledoNeedsUnit(t *testing.T) {
	if _, err := scale.ParseToledo([]byte("\x02001.25\r"), scale.UnitNone); !errors.Is(err, scale.ErrUnknownUnit) {
		t.Errorf("err = %v, want ErrUnknownUnit", err)
	}
}

// The emulator's encoders and the parsers agree for every status.
func TestEmulatorRoundTrip(t *testing.T) {
	for _, st := range []scale.Status{scale.StatusStable, scale.StatusMotion, scale.StatusZero} {
		s := scaletest.State{Value: 785, Exp: -2, Unit: scale.UnitPound, Status: st}
		if st == scale.StatusZero {
			s.Value = 0
		}
		want, _ := scale.ToMilligrams(s.Value, s.Exp, s.Unit)
		r, err := scale.ParseMTSICS([]byte(scaletest.MTSICSReply("SI", s)))
		if err != nil || r.Milligrams != want || r.Status != st {
			t.Errorf("MT-SICS %v: %v %v", st, r, err)
		}
		for _, v := range []bool{false, true} {
			r, err = scale.ParseNCI(scaletest.NCIReply("W", s, v))
			if err != nil || r.Milligrams != want || r.Status != st {
				t.Errorf("NCI %v (3825 %v): %v %v", st, v, r, err)
			}
		}
		r, err = scale.ParseToledoContinuous(scaletest.ToledoFrame(s, true), true)
		if err != nil || r.Milligrams != want || r.Status != st {
			t.Errorf("Toledo continuous %v: %v %v", st, r, err)
		}
	}
}

// fuzzCheck holds for every input: no panic (the fuzzer's job), a weight
// that agrees with its raw value, and the same answer with 7E1 bits set
// where the protocol is 7-bit.
func fuzzCheck(t *testing.T, in []byte, parse func([]byte) (scale.Reading, error), sevenBit bool) {
	r, err := parse(in)
	if err != nil {
		if r != (scale.Reading{}) {
			t.Fatalf("error %v with non-empty reading %+v", err, r)
		}
		return
	}
	if r.HasWeight() && !r.Unit.Valid() {
		if r.Milligrams != 0 || r.Value != 0 || r.Status != scale.StatusZero {
			t.Fatalf("%+v: a weight without a unit must be a zero", r)
		}
	} else if r.HasWeight() {
		mg, err := scale.ToMilligrams(r.Value, r.Exp, r.Unit)
		if err != nil || mg != r.Milligrams {
			t.Fatalf("%+v: milligrams disagree with raw value (%d, %v)", r, mg, err)
		}
	}
	if sevenBit {
		r2, err2 := parse(scaletest.EvenParity(in))
		if err2 != nil || r2 != r {
			t.Fatalf("7E1 bytes parse differently: %+v %v vs %+v", r2, err2, r)
		}
	}
}

func seed(f *testing.F, cases []parseCase) {
	for _, tc := range cases {
		f.Add(tc.in)
	}
}

func FuzzParseHIDReport(f *testing.F) {
	seed(f, hidCases)
	f.Fuzz(func(t *testing.T, b []byte) { fuzzCheck(t, b, scale.ParseHIDReport, false) })
}

func FuzzParseMTSICS(f *testing.F) {
	seed(f, mtsicsCases)
	f.Fuzz(func(t *testing.T, b []byte) { fuzzCheck(t, b, scale.ParseMTSICS, true) })
}

func FuzzParseNCI(f *testing.F) {
	seed(f, nciCases)
	f.Fuzz(func(t *testing.T, b []byte) { fuzzCheck(t, b, scale.ParseNCI, true) })
}

func FuzzParseToledo(f *testing.F) {
	seed(f, toledoCases)
	f.Fuzz(func(t *testing.T, b []byte) { fuzzCheck(t, b, parseToledoLb, true) })
}

func FuzzParseToledoContinuous(f *testing.F) {
	seed(f, toledoContCases)
	f.Fuzz(func(t *testing.T, b []byte) { fuzzCheck(t, b, parseToledoCont, true) })
}
