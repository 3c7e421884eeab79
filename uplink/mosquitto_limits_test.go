package uplink

import (
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/packbench/packbench/uplink/uplinktest"
)

func bigPush(id string, size int64) uplinktest.LargePublish {
	return uplinktest.LargePublish{
		QoS: 1, Size: size,
		Head: []byte(`{"id":"` + id + `","type":"zpl","zpl":"^XA^FO20,20^FD`),
		Tail: []byte(`^FS^XZ"}`),
	}
}

// TestMosquittoClientLimit: with a broker that forwards anything (no
// size limits), a 64 MiB push reaches the bench, which refuses it with a
// push.rejected event without reading it into memory, and takes the
// next push.
func TestMosquittoClientLimit(t *testing.T) {
	const size = 64 << 20
	mq := uplinktest.StartMosquitto(t, "max_packet_size 268435455\n")
	b, c, events := onlineBench(t, mq.URL(), "b-open", benchOptions{})
	addr := fmt.Sprintf("127.0.0.1:%d", mq.Port())

	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	p := bigPush("huge-1", size)
	p.Topic = "packbench/b-open/jobs/push"
	if err := uplinktest.RawPublish(addr, "raw-pub", p, 60*time.Second); err != nil {
		t.Fatalf("publish %d bytes: %v", size, err)
	}
	publish(t, c, "packbench/b-open/jobs/push", false, PushJob{ID: "after-1", Type: PushZPL, ZPL: zplFor("after-1")})
	got := events.Wait(t, 60*time.Second, "after-1 queued", queuedKey("mqtt:after-1"))
	runtime.ReadMemStats(&after)

	// Everything of this process (bench, cloud client, publisher) is in
	// this: paho reading the push whole would allocate twice its size.
	if alloc := after.TotalAlloc - before.TotalAlloc; alloc > 32<<20 {
		t.Errorf("the process allocated %d MiB while a %d MiB push was refused, want < 32 MiB", alloc>>20, size>>20)
	}
	_, rds, _ := rejections(t, got)
	want := fmt.Sprintf("push refused: %d bytes, limit %d", size, DefaultMaxMessage)
	if len(rds) != 1 || rds[0].Rule != want || rds[0].Field != "$" {
		t.Fatalf("rejections %+v, want one with %q", rds, want)
	}
	if n, _ := b.db.Counts(t.Context()); n["queued"] != 1 {
		t.Errorf("queued jobs %v, want after-1 only", n)
	}
}

// TestMosquittoBrokerLimits: the broker config we ship (BrokerLimits)
// stops large pushes before any bench: a 150 MB one costs its publisher
// the connection, one just over 4 MiB is acknowledged to its publisher but
// never forwarded, and the bench keeps taking pushes.
func TestMosquittoBrokerLimits(t *testing.T) {
	mq := uplinktest.StartMosquitto(t, "")
	b, c, events := onlineBench(t, mq.URL(), "b-lim", benchOptions{})
	addr := fmt.Sprintf("127.0.0.1:%d", mq.Port())
	topic := "packbench/b-lim/jobs/push"

	p := bigPush("huge-1", 150<<20)
	p.Topic = topic
	if err := uplinktest.RawPublish(addr, "raw-pub-1", p, 60*time.Second); !errors.Is(err, uplinktest.ErrDisconnected) {
		t.Fatalf("a 150 MB publish: %v, want the broker to disconnect the publisher", err)
	}
	p = bigPush("over-1", DefaultMaxMessage+1)
	p.Topic = topic
	if err := uplinktest.RawPublish(addr, "raw-pub-2", p, 60*time.Second); err != nil {
		t.Fatalf("a publish just over 4 MiB: %v, want a PUBACK (message_size_limit completes the flow)", err)
	}
	publish(t, c, topic, false, PushJob{ID: "after-1", Type: PushZPL, ZPL: zplFor("after-1")})
	got := events.Wait(t, 20*time.Second, "after-1 queued", queuedKey("mqtt:after-1"))
	if _, rds, _ := rejections(t, got); len(rds) != 0 {
		t.Errorf("rejections %+v: the broker forwarded an oversize push", rds)
	}
	if n, _ := b.db.Counts(t.Context()); n["queued"] != 1 {
		t.Errorf("queued jobs %v, want after-1 only", n)
	}
	if !b.link.Connected() {
		t.Error("the bench lost its connection")
	}
}
