package uplinktest

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"time"

	"github.com/packbench/packbench/internal/mqttwire"
)

// LargePublish is one PUBLISH that RawPublish streams: Head, then filler
// bytes, then Tail, Size bytes in all, so a test can send a message of
// hundreds of megabytes without holding it.
type LargePublish struct {
	Topic      string
	QoS        byte // 0 or 1
	Head, Tail []byte
	Size       int64 // the whole payload, Head and Tail included
	Filler     byte  // default 'x'
}

// ErrDisconnected: the broker closed the connection instead of
// acknowledging the publish (e.g. over its max_packet_size).
var ErrDisconnected = errors.New("broker closed the connection")

// RawPublish connects to the broker at addr (host:port) as an MQTT 3.1.1
// client with a clean session, writes p in 64 KiB chunks and, for QoS 1,
// waits for its PUBACK. It returns ErrDisconnected when the broker closed
// the connection instead. The whole exchange is bounded by timeout.
func RawPublish(addr, clientID string, p LargePublish, timeout time.Duration) error {
	if p.Size < int64(len(p.Head)+len(p.Tail)) {
		return fmt.Errorf("rawpublish: size %d is smaller than head and tail", p.Size)
	}
	if p.Filler == 0 {
		p.Filler = 'x'
	}
	c, err := net.DialTimeout("tcp", addr, timeout)
	if err != nil {
		return err
	}
	defer c.Close()
	if err := c.SetDeadline(time.Now().Add(timeout)); err != nil {
		return err
	}
	w := bufio.NewWriterSize(c, 64<<10)
	r := bufio.NewReader(c)

	// CONNECT: protocol "MQTT" level 4, clean session, keepalive 60 s.
	var vh bytes.Buffer
	vh.Write(str("MQTT"))
	vh.Write([]byte{4, 0x02, 0, 60})
	vh.Write(str(clientID))
	w.Write(packetHead(0x10, int64(vh.Len())))
	w.Write(vh.Bytes())
	if err := w.Flush(); err != nil {
		return err
	}
	typ, body, err := readPacket(r)
	if err != nil {
		return fmt.Errorf("rawpublish: connack: %w", err)
	}
	if typ != 2 || len(body) != 2 || body[1] != 0 {
		return fmt.Errorf("rawpublish: connect refused: packet type %d %x", typ, body)
	}

	vh.Reset()
	vh.Write(str(p.Topic))
	if p.QoS > 0 {
		vh.Write([]byte{0, 1}) // packet id 1
	}
	w.Write(packetHead(0x30|p.QoS<<1, int64(vh.Len())+p.Size))
	w.Write(vh.Bytes())
	w.Write(p.Head)
	chunk := bytes.Repeat([]byte{p.Filler}, 64<<10)
	for left := p.Size - int64(len(p.Head)+len(p.Tail)); left > 0; {
		n := min(left, int64(len(chunk)))
		if _, err := w.Write(chunk[:n]); err != nil {
			return disconnected(err)
		}
		left -= n
	}
	w.Write(p.Tail)
	if err := w.Flush(); err != nil {
		return disconnected(err)
	}
	if p.QoS == 0 {
		// DISCONNECT, so the broker takes the message before the close.
		_, err := c.Write([]byte{0xe0, 0})
		return err
	}
	typ, body, err = readPacket(r)
	if err != nil {
		return disconnected(err)
	}
	if typ != 4 || len(body) != 2 || binary.BigEndian.Uint16(body) != 1 {
		return fmt.Errorf("rawpublish: want PUBACK for packet 1, got type %d %x", typ, body)
	}
	_, err = c.Write([]byte{0xe0, 0})
	return err
}

// disconnected names a connection the broker closed.
func disconnected(err error) error {
	var ne net.Error
	if errors.Is(err, io.EOF) || errors.Is(err, net.ErrClosed) || errors.As(err, &ne) && !ne.Timeout() {
		return fmt.Errorf("%w: %v", ErrDisconnected, err)
	}
	return err
}

func str(s string) []byte {
	return append(binary.BigEndian.AppendUint16(nil, uint16(len(s))), s...)
}

func packetHead(first byte, n int64) []byte {
	return mqttwire.AppendLength([]byte{first}, n)
}

// readPacket reads one small packet (a CONNACK or a PUBACK).
func readPacket(r *bufio.Reader) (byte, []byte, error) {
	first, err := r.ReadByte()
	if err != nil {
		return 0, nil, err
	}
	n, _, err := mqttwire.ReadLength(r)
	if err != nil {
		return 0, nil, err
	}
	if n > 1<<16 {
		return 0, nil, fmt.Errorf("a %d-byte reply", n)
	}
	body := make([]byte, n)
	_, err = io.ReadFull(r, body)
	return first >> 4, body, err
}
