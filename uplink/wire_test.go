package uplink

import (
	"bytes"
	"encoding/binary"
	"net"
	"runtime"
	"strings"
	"testing"

	"github.com/eclipse/paho.mqtt.golang/packets"

	"github.com/packbench/packbench/internal/mqttwire"
)

// writePublish encodes a PUBLISH whose payload is n filler bytes, writing it
// to w in pieces so that a huge one is never held by the test.
func writePublish(t testing.TB, w net.Conn, first byte, topic string, id uint16, n int64) {
	t.Helper()
	vh := append(binary.BigEndian.AppendUint16(nil, uint16(len(topic))), topic...)
	if (first>>1)&3 > 0 {
		vh = binary.BigEndian.AppendUint16(vh, id)
	}
	head := mqttwire.AppendLength([]byte{first}, int64(len(vh))+n)
	if _, err := w.Write(append(head, vh...)); err != nil {
		t.Error(err)
		return
	}
	chunk := bytes.Repeat([]byte{'x'}, 61<<10) // not a multiple of the reader's buffers
	for left := n; left > 0; {
		k := min(left, int64(len(chunk)))
		if _, err := w.Write(chunk[:k]); err != nil {
			t.Error(err)
			return
		}
		left -= k
	}
}

// TestBoundedConn feeds a broker's stream (CONNACK, a small and a 64 MiB
// PUBLISH at QoS 1, a PINGRESP, a QoS 0 PUBLISH at the limit, 2 KiB ones
// at QoS 2 and with the longest topic) through boundedConn into paho's
// own packet reader: every packet comes out as paho would have read it,
// except the oversize ones, which keep their flags, topic and packet id
// and carry only the marker and their size, and the 64 MiB payload is
// never held in memory.
func TestBoundedConn(t *testing.T) {
	const limit = 1024
	const huge = 64 << 20
	marker := newOversizeMarker()
	broker, bench := net.Pipe()
	defer bench.Close()
	topic := "packbench/b1/jobs/push"
	go func() {
		defer broker.Close()
		broker.Write([]byte{0x20, 2, 0, 0}) // CONNACK
		writePublish(t, broker, 0x32, topic, 7, 10)
		writePublish(t, broker, 0x3a, topic, 8, huge) // QoS 1, DUP set
		broker.Write([]byte{0xd0, 0})                 // PINGRESP
		writePublish(t, broker, 0x30, topic, 0, limit)
		writePublish(t, broker, 0x34, topic, 9, 2048)                       // QoS 2
		writePublish(t, broker, 0x32, strings.Repeat("t", 65535), 10, 2048) // the longest topic
	}()
	bc := newBoundedConn(bench, limit, marker)

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	var got []packets.ControlPacket
	for range 7 {
		p, err := packets.ReadPacket(bc)
		if err != nil {
			t.Fatalf("after %d packets: %v", len(got), err)
		}
		got = append(got, p)
	}
	runtime.ReadMemStats(&after)
	// The writer's chunk and the test's packets are in this too; a 64 MiB
	// payload read whole would be at least 64 MiB (paho copies it twice).
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 4<<20 {
		t.Errorf("reading a %d-byte message allocated %d bytes, want < 4 MiB", huge, alloc)
	}

	if _, ok := got[0].(*packets.ConnackPacket); !ok {
		t.Fatalf("packet 0: %T, want CONNACK", got[0])
	}
	small := got[1].(*packets.PublishPacket)
	if small.TopicName != topic || small.MessageID != 7 || small.Qos != 1 || string(small.Payload) != "xxxxxxxxxx" {
		t.Errorf("small publish: %+v %.80q", small.FixedHeader, small.Payload)
	}
	big := got[2].(*packets.PublishPacket)
	if big.TopicName != topic || big.MessageID != 8 || big.Qos != 1 || !big.Dup {
		t.Errorf("oversize publish lost its header: %+v topic %q id %d", big.FixedHeader, big.TopicName, big.MessageID)
	}
	if n, ok := oversize(marker, big.Payload); !ok || n != huge {
		t.Errorf("oversize publish payload %.80q: size %d %v, want the marker and %d", big.Payload, n, ok, huge)
	}
	if _, ok := got[3].(*packets.PingrespPacket); !ok {
		t.Errorf("packet 3: %T, want PINGRESP", got[3])
	}
	atLimit := got[4].(*packets.PublishPacket)
	if atLimit.Qos != 0 || len(atLimit.Payload) != limit || strings.Trim(string(atLimit.Payload), "x") != "" {
		t.Errorf("a payload of exactly the limit: qos %d, %d bytes, want it whole", atLimit.Qos, len(atLimit.Payload))
	}
	q2 := got[5].(*packets.PublishPacket)
	if n, ok := oversize(marker, q2.Payload); !ok || n != 2048 || q2.Qos != 2 || q2.MessageID != 9 {
		t.Errorf("oversize QoS 2 publish: qos %d id %d payload %.80q", q2.Qos, q2.MessageID, q2.Payload)
	}
	long := got[6].(*packets.PublishPacket)
	if n, ok := oversize(marker, long.Payload); !ok || n != 2048 || len(long.TopicName) != 65535 || long.MessageID != 10 {
		t.Errorf("oversize publish with a 65535-byte topic: topic of %d bytes, id %d, payload %.80q", len(long.TopicName), long.MessageID, long.Payload)
	}
}

// TestBoundedConnRefuses: a broker that sends a huge packet of another
// type, or a malformed length, loses the connection (an error from Read)
// instead of having it read.
func TestBoundedConnRefuses(t *testing.T) {
	for name, stream := range map[string][]byte{
		"huge suback":     mqttwire.AppendLength([]byte{0x90}, 100<<20),
		"5-byte length":   {0x30, 0xff, 0xff, 0xff, 0xff, 0x7f},
		"topic past end":  {0x30, 3, 0, 10, 'a'},
		"id past the end": {0x32, 2, 0, 0},
	} {
		t.Run(name, func(t *testing.T) {
			broker, bench := net.Pipe()
			defer bench.Close()
			go func() { broker.Write(stream); broker.Close() }()
			p, err := packets.ReadPacket(newBoundedConn(bench, 1024, newOversizeMarker()))
			if err == nil {
				t.Fatalf("read %v, want an error", p)
			}
		})
	}
}

// TestOversizeMarkerIsTheLinks: a publisher cannot make the link report
// a size: only a payload with the link's own nonce reads as oversize.
func TestOversizeMarkerIsTheLinks(t *testing.T) {
	a, b := newOversizeMarker(), newOversizeMarker()
	if bytes.Equal(a, b) {
		t.Fatal("two links got the same marker")
	}
	if _, ok := oversize(a, append(append([]byte(nil), b...), "123"...)); ok {
		t.Error("another link's marker was taken")
	}
	if _, ok := oversize(a, []byte(oversizeTag+"123")); ok {
		t.Error("the bare tag was taken")
	}
	if n, ok := oversize(a, append(append([]byte(nil), a...), "123"...)); !ok || n != 123 {
		t.Errorf("own marker: %d %v", n, ok)
	}
}
