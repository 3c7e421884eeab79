package uplink

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"net/url"
	"strconv"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/packbench/packbench/internal/mqttwire"
)

// DefaultMaxMessage is the largest MQTT payload the link reads into
// memory: a job's payload may be at most queue.DefaultMaxPayload, so a
// larger push could never be taken anyway.
const DefaultMaxMessage = 4 << 20

// maxControlPacket bounds every packet a broker sends that is not a
// PUBLISH (CONNACK, SUBACK, PUBACK…: a few bytes each). A larger one is a
// broken or hostile broker: the connection is dropped, nothing is lost.
const maxControlPacket = 64 << 10

// mqttPublish is the PUBLISH packet type (MQTT 3.1.1 §2.2.1).
const mqttPublish = 3

// oversizeTag starts the stand-in payload of a PUBLISH whose payload was
// too large: a NUL byte, which no JSON push starts with, then the tag.
const oversizeTag = "\x00packbench oversize "

// newOversizeMarker returns a link's own marker prefix: the tag and a
// random nonce, so only the link's connection can make a payload that the
// link reads as "too large" (a publisher cannot fake the size it reports).
func newOversizeMarker() []byte {
	var b [12]byte
	_, _ = rand.Read(b[:])
	return []byte(oversizeTag + hex.EncodeToString(b[:]) + " ")
}

// oversize reports whether payload is the stand-in a boundedConn with
// marker delivered, and the size of the payload it replaced.
func oversize(marker, payload []byte) (int64, bool) {
	rest, ok := bytes.CutPrefix(payload, marker)
	if !ok || len(marker) == 0 {
		return 0, false
	}
	n, err := strconv.ParseInt(string(rest), 10, 64)
	return n, err == nil && n >= 0
}

// boundedDial is the link's OpenConnectionFunc: it dials the broker as
// paho would (tcp:// or ssl:// with the options' TLS config) and wraps the
// connection in a boundedConn, so no packet from the broker is read into
// memory whole when its payload is over max.
func boundedDial(max int, marker []byte) paho.OpenConnectionFunc {
	return func(uri *url.URL, o paho.ClientOptions) (net.Conn, error) {
		ctx := context.Background()
		if o.ConnectTimeout > 0 {
			var cancel context.CancelFunc
			ctx, cancel = context.WithTimeout(ctx, o.ConnectTimeout)
			defer cancel()
		}
		d := &net.Dialer{}
		var c net.Conn
		var err error
		switch uri.Scheme {
		case "tcp":
			c, err = d.DialContext(ctx, "tcp", uri.Host)
		case "ssl":
			c, err = (&tls.Dialer{NetDialer: d, Config: o.TLSConfig}).DialContext(ctx, "tcp", uri.Host)
		default:
			return nil, fmt.Errorf("uplink: dial %s: scheme %q is not tcp or ssl", uri.Redacted(), uri.Scheme)
		}
		if err != nil {
			return nil, err
		}
		return newBoundedConn(c, max, marker), nil
	}
}

// boundedConn hands paho the broker's packets as they arrive, except that
// a PUBLISH whose payload is larger than max comes out as the same
// PUBLISH (flags, topic, packet id and QoS kept) carrying only the marker
// and the real payload's size, while the real payload is read off the
// socket in small pieces and dropped. Paho then acknowledges it like any
// message and the link refuses it with a push.rejected event: nothing is
// lost silently, and the broker does not redeliver it forever (which is
// what dropping the connection instead would cause for QoS 1).
//
// Memory per connection: the bufio buffer, one discard buffer and the
// topic of the packet at hand (at most 64 KiB by the protocol).
type boundedConn struct {
	net.Conn
	br     *bufio.Reader
	max    int64
	marker []byte

	out     []byte // bytes ready for paho: a header, or a whole rewritten packet
	pass    int64  // payload bytes of the current packet still to pass on as they come
	skip    int64  // payload bytes of the current packet still to drop
	pending []byte // the rewritten packet, handed out after skip reaches zero
	scratch []byte
}

func newBoundedConn(c net.Conn, max int, marker []byte) *boundedConn {
	if max <= 0 {
		max = DefaultMaxMessage
	}
	return &boundedConn{Conn: c, br: bufio.NewReaderSize(c, 4096), max: int64(max), marker: marker}
}

// Read implements io.Reader over the filtered packet stream.
func (b *boundedConn) Read(p []byte) (int, error) {
	if len(p) == 0 {
		return 0, nil
	}
	for {
		switch {
		case len(b.out) > 0:
			n := copy(p, b.out)
			b.out = b.out[n:]
			return n, nil
		case b.pass > 0:
			n, err := b.br.Read(p[:min(int64(len(p)), b.pass)])
			b.pass -= int64(n)
			return n, err
		case b.skip > 0:
			if b.scratch == nil {
				b.scratch = make([]byte, 32<<10)
			}
			n, err := b.br.Read(b.scratch[:min(int64(len(b.scratch)), b.skip)])
			b.skip -= int64(n)
			if err != nil {
				return 0, err
			}
			if b.skip == 0 {
				b.out, b.pending = b.pending, nil
			}
		default:
			if err := b.next(); err != nil {
				return 0, err
			}
		}
	}
}

// next reads the next packet's fixed header (and a PUBLISH's variable
// header) and decides how its body goes to paho.
func (b *boundedConn) next() error {
	first, err := b.br.ReadByte()
	if err != nil {
		return err
	}
	rl, lenBytes, err := mqttwire.ReadLength(b.br)
	if err != nil {
		return err
	}
	head := append([]byte{first}, lenBytes...)
	if first>>4 != mqttPublish {
		if rl > maxControlPacket {
			return fmt.Errorf("uplink: the broker sent a %d-byte packet of type %d (at most %d expected): dropping the connection", rl, first>>4, maxControlPacket)
		}
		b.out, b.pass = head, rl
		return nil
	}
	// The variable header: topic (length-prefixed) and, for QoS 1 and 2,
	// the packet id. At most 2+65535+2 bytes.
	var tl [2]byte
	if _, err := io.ReadFull(b.br, tl[:]); err != nil {
		return err
	}
	vh := 2 + int64(binary.BigEndian.Uint16(tl[:]))
	if (first>>1)&3 > 0 {
		vh += 2
	}
	if vh > rl {
		return fmt.Errorf("uplink: malformed PUBLISH from the broker: header of %d bytes in a %d-byte packet", vh, rl)
	}
	varHead := make([]byte, vh)
	copy(varHead, tl[:])
	if _, err := io.ReadFull(b.br, varHead[2:]); err != nil {
		return err
	}
	payload := rl - vh
	if payload <= b.max {
		b.out, b.pass = append(head, varHead...), payload
		return nil
	}
	stand := strconv.AppendInt(append([]byte(nil), b.marker...), payload, 10)
	pkt := append([]byte{first}, mqttwire.AppendLength(nil, vh+int64(len(stand)))...)
	pkt = append(append(pkt, varHead...), stand...)
	b.skip, b.pending = payload, pkt
	return nil
}
