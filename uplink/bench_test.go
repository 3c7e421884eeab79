package uplink

import (
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/uplink/uplinktest"
)

// benchBrokerExtra adds mosquitto.conf lines for the push benchmark, e.g.
// -broker-extra 'set_tcp_nodelay true' (what the example config recommends).
var benchBrokerExtra = flag.String("broker-extra", "", "extra mosquitto.conf lines for BenchmarkPushCommitAck")

// BenchmarkPushCommitAck: a push published to loopback mosquitto until
// the bench committed it to bbolt and sent the PUBACK. Reports p50/p99.
func BenchmarkPushCommitAck(b *testing.B) {
	mq := uplinktest.StartMosquitto(b, *benchBrokerExtra+"\n")
	acked := make(chan string, 1)
	bn := startBench(b, mq.URL(), "bench-bm", benchOptions{opts: &Options{
		afterAck: func(j PushJob, _ PushResult) { acked <- j.ID },
	}})
	waitFor(b, 10*time.Second, "bench connected", bn.link.Connected)
	c := testClient(b, mq.URL(), "cloud", true)
	lat := make([]time.Duration, 0, b.N)
	b.ResetTimer()
	for i := range b.N {
		id := "bm-" + strconv.Itoa(i)
		payload, _ := json.Marshal(PushJob{ID: id, Type: PushZPL, ZPL: zplFor(id)})
		start := time.Now()
		c.Publish("packbench/bench-bm/jobs/push", 1, false, payload)
		if got := <-acked; got != id {
			b.Fatalf("acked %s, want %s", got, id)
		}
		lat = append(lat, time.Since(start))
	}
	b.StopTimer()
	slices.Sort(lat)
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// BenchmarkOutboxDrain: b.N events waiting in the outbox, published to
// loopback mosquitto and received by a subscriber. Reports events/s.
func BenchmarkOutboxDrain(b *testing.B) {
	mq := uplinktest.StartMosquitto(b, "")
	dir := b.TempDir()
	db, err := queue.Open(dir+"/queue.db", &queue.Options{Consumers: []string{DefaultConsumer}})
	if err != nil {
		b.Fatal(err)
	}
	for i := 0; i < b.N; i += 1000 {
		err := db.Update(func(tx *queue.Tx) error {
			for j := i; j < min(i+1000, b.N); j++ {
				if _, err := tx.AppendEvent(queue.Event{Type: "bench.tick", Reason: strconv.Itoa(j)}); err != nil {
					return err
				}
			}
			return nil
		})
		if err != nil {
			b.Fatal(err)
		}
	}
	db.Close()
	c := testClient(b, mq.URL(), "sink", true)
	last := make(chan struct{})
	var n int
	if tok := c.Subscribe("packbench/bench-d/events", 1, func(_ paho.Client, m paho.Message) {
		n++
		if n == b.N {
			close(last)
		}
	}); !tok.WaitTimeout(10*time.Second) || tok.Error() != nil {
		b.Fatal(tok.Error())
	}
	b.ResetTimer()
	start := time.Now()
	startBench(b, mq.URL(), "bench-d", benchOptions{dir: dir})
	select {
	case <-last:
	case <-time.After(5 * time.Minute):
		b.Fatalf("only %d of %d events arrived", n, b.N)
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/time.Since(start).Seconds(), "events/s")
}

// BenchmarkFleet200: 200 benches (each its own queue file and link) on
// one mosquitto. Reports Go heap per bench and mosquitto's RSS per bench.
// Run with -benchtime 1x.
func BenchmarkFleet200(b *testing.B) {
	const benches = 200
	for range b.N {
		mq := uplinktest.StartMosquitto(b, "")
		rss0 := procRSS(b, mq.Pid())
		runtime.GC()
		var m0, m1 runtime.MemStats
		runtime.ReadMemStats(&m0)
		all := make([]*bench, benches)
		for i := range all {
			all[i] = startBench(b, mq.URL(), fmt.Sprintf("fleet-%03d", i), benchOptions{opts: &Options{StateInterval: time.Hour}})
		}
		waitFor(b, 60*time.Second, "200 benches connected", func() bool {
			for _, bn := range all {
				if !bn.link.Connected() {
					return false
				}
			}
			return true
		})
		runtime.GC()
		runtime.ReadMemStats(&m1)
		rss1 := procRSS(b, mq.Pid())
		b.ReportMetric(float64(m1.HeapInuse-m0.HeapInuse)/benches/1024, "heap-KiB/bench")
		b.ReportMetric(float64(m1.Sys-m0.Sys)/benches/1024, "go-sys-KiB/bench")
		b.ReportMetric(float64(rss1-rss0)/benches, "broker-KiB/bench")
	}
}

// procRSS reads a process's resident set in KiB.
func procRSS(b *testing.B, pid int) int64 {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for l := range strings.Lines(string(data)) {
		if f := strings.Fields(l); len(f) >= 2 && f[0] == "VmRSS:" {
			v, _ := strconv.ParseInt(f[1], 10, 64)
			return v
		}
	}
	b.Fatal("no VmRSS")
	return 0
}
