// Package mqttwire reads and writes the one piece of the MQTT 3.1.1 wire
// format that code outside paho needs: the fixed header's remaining
// length (a variable-length integer of 1 to 4 bytes, §2.2.3). The
// bench's bounded broker connection (uplink) and the tests' raw publisher
// (uplink/uplinktest) use it.
package mqttwire

import (
	"errors"
	"io"
)

// MaxLength is the largest remaining length MQTT can express.
const MaxLength = 268435455

// ErrMalformed: a remaining length longer than 4 bytes.
var ErrMalformed = errors.New("mqtt: malformed remaining length (more than 4 bytes)")

// AppendLength appends n, 0 ≤ n ≤ MaxLength, encoded as a remaining length.
func AppendLength(dst []byte, n int64) []byte {
	for {
		c := byte(n & 0x7f)
		n >>= 7
		if n > 0 {
			c |= 0x80
		}
		dst = append(dst, c)
		if n == 0 {
			return dst
		}
	}
}

// ReadLength reads a remaining length and returns it with its bytes as
// they were on the wire.
func ReadLength(r io.ByteReader) (int64, []byte, error) {
	var v int64
	raw := make([]byte, 0, 4)
	for i := range 4 {
		c, err := r.ReadByte()
		if err != nil {
			return 0, nil, err
		}
		raw = append(raw, c)
		v |= int64(c&0x7f) << (7 * i)
		if c&0x80 == 0 {
			return v, raw, nil
		}
	}
	return 0, nil, ErrMalformed
}
