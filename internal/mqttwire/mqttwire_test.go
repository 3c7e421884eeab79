package mqttwire

import (
	"bytes"
	"errors"
	"testing"
)

// TestLength: the spec's boundary values (MQTT 3.1.1 table 2.4) encode to
// their listed bytes and read back.
func TestLength(t *testing.T) {
	for _, tc := range []struct {
		n    int64
		wire []byte
	}{
		{0, []byte{0x00}},
		{127, []byte{0x7f}},
		{128, []byte{0x80, 0x01}},
		{16383, []byte{0xff, 0x7f}},
		{16384, []byte{0x80, 0x80, 0x01}},
		{2097151, []byte{0xff, 0xff, 0x7f}},
		{2097152, []byte{0x80, 0x80, 0x80, 0x01}},
		{MaxLength, []byte{0xff, 0xff, 0xff, 0x7f}},
	} {
		if got := AppendLength(nil, tc.n); !bytes.Equal(got, tc.wire) {
			t.Errorf("AppendLength(%d) = % x, want % x", tc.n, got, tc.wire)
		}
		n, raw, err := ReadLength(bytes.NewReader(append(tc.wire, 0xaa)))
		if err != nil || n != tc.n || !bytes.Equal(raw, tc.wire) {
			t.Errorf("ReadLength(% x) = %d % x %v, want %d", tc.wire, n, raw, err, tc.n)
		}
	}
	if _, _, err := ReadLength(bytes.NewReader([]byte{0xff, 0xff, 0xff, 0xff, 0x7f})); !errors.Is(err, ErrMalformed) {
		t.Errorf("a 5-byte length: %v, want ErrMalformed", err)
	}
}
