package labelrender

import (
	"strconv"
	"strings"
	"testing"
)

// gs1Examples: the SSCC in the GS1 General Specifications (2.2.1) and the
// GS1 check digit calculator's worked examples. They are the fuzz seeds too.
var gs1Examples = []struct {
	body string
	want int
}{
	{"10614141123456789", 7}, // SSCC (00) 106141411234567897
	{"34012345000000000", 0}, // (00)340123450000000000
	{"629104150021", 3},      // EAN-13 6291041500213
	{"400638133393", 1},      // EAN-13 4006381333931
	{"03600029145", 2},       // UPC-A 036000291452
	{"00000000000000000", 0}, // all zeros
}

func TestGS1CheckDigit(t *testing.T) {
	for _, tt := range gs1Examples {
		if got := GS1CheckDigit(tt.body); got != tt.want {
			t.Errorf("GS1CheckDigit(%s) = %d, want %d", tt.body, got, tt.want)
		}
		full := tt.body + strconv.Itoa(tt.want)
		if !gs1CheckDigitOK(full) {
			t.Errorf("gs1CheckDigitOK(%s) = false", full)
		}
		wrong := tt.body + strconv.Itoa((tt.want+1)%10)
		if gs1CheckDigitOK(wrong) {
			t.Errorf("gs1CheckDigitOK(%s) = true", wrong)
		}
	}
	if gs1CheckDigitOK("") {
		t.Error(`gs1CheckDigitOK("") = true`)
	}
}

// FuzzGS1CheckDigit: the digit is 0-9, the number it completes checks,
// and any single wrong digit is caught (what mod 10 with weights 3 and 1
// promises).
func FuzzGS1CheckDigit(f *testing.F) {
	for _, tt := range gs1Examples {
		f.Add(tt.body)
	}
	f.Fuzz(func(t *testing.T, body string) {
		if body == "" || len(body) > 64 || strings.Trim(body, "0123456789") != "" {
			return
		}
		d := GS1CheckDigit(body)
		if d < 0 || d > 9 {
			t.Fatalf("GS1CheckDigit(%s) = %d", body, d)
		}
		full := []byte(body + strconv.Itoa(d))
		if !gs1CheckDigitOK(string(full)) {
			t.Fatalf("%s does not check", full)
		}
		for i := range full {
			orig := full[i]
			for c := byte('0'); c <= '9'; c++ {
				if c == orig {
					continue
				}
				full[i] = c
				if gs1CheckDigitOK(string(full)) {
					t.Fatalf("%s checks after changing digit %d of %s%d", full, i, body, d)
				}
			}
			full[i] = orig
		}
	})
}
