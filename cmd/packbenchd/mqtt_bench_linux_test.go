package main

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"slices"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"

	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/device/devicetest"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/uplink"
	"github.com/packbench/packbench/uplink/uplinktest"
)

// benchBrokerExtra is added to the benchmarks' mosquitto config, e.g.
// -broker-extra 'set_tcp_nodelay true'.
var benchBrokerExtra = flag.String("broker-extra", "", "extra mosquitto.conf lines for the MQTT benchmarks")

// mqttBenchBench runs the daemon's wiring in-process with MQTT on (a
// mosquitto started here) and a TCP printer at the emulator; arrived
// gets the time each label's last byte arrived.
func mqttBenchBench(b *testing.B, deviceID, brokerExtra string, getenv func(string) string) (*bench, paho.Client, chan time.Time) {
	b.Helper()
	if brokerExtra != "" {
		brokerExtra += "\n"
	}
	mq := uplinktest.StartMosquitto(b, brokerExtra)
	arrived := make(chan time.Time, 4096)
	emu := devicetest.NewEmulator(&devicetest.Options{OnLabel: func(int, []byte) { arrived <- time.Now() }})
	b.Cleanup(func() { emu.Close() })
	addr, err := emu.ListenTCP("127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	cfg, err := loadConfig("", envMap(map[string]string{"PACKBENCH_MQTT_URL": mq.URL(), "PACKBENCH_DEVICE_ID": deviceID}))
	if err != nil {
		b.Fatal(err)
	}
	cfg.Printers = []device.PrinterConfig{{Name: "zebra", Transport: "tcp", Address: addr}}
	if err := cfg.finish(flagValues{dataDir: b.TempDir(), listen: "127.0.0.1:0"}, envMap(nil), noHome, host); err != nil {
		b.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	bn, err := newBench(cfg, mqttTestKey, slog.New(slog.DiscardHandler), &benchOptions{Listener: ln, Getenv: getenv})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- bn.run(ctx) }()
	b.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			b.Error(err)
		}
	})
	deadline := time.Now().Add(20 * time.Second)
	for !bn.mqtt.link.Connected() {
		if time.Now().After(deadline) {
			b.Fatal("link not connected")
		}
		time.Sleep(5 * time.Millisecond) // polling the broker connection
	}
	return bn, testClient(b, mq.Port(), "cloud"), arrived
}

// BenchmarkMQTTPushToLabel: one push at a time, timed from the cloud's
// QoS 1 publish to the last byte of the label at the printer emulator:
// mosquitto, the link, the intake (ZPL check, one fsynced commit), the
// worker's claim (another commit), a ~HS round trip and the send. The
// job is confirmed printed before the next push (not timed).
func BenchmarkMQTTPushToLabel(b *testing.B) {
	// The worker's default status poll (200 ms while confirming) is kept:
	// each job is confirmed before the next push, untimed.
	bn, cloud, arrived := mqttBenchBench(b, "bench-b1", *benchBrokerExtra, envMap(nil))
	var lat []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		id := fmt.Sprintf("lat-%06d", i)
		t0 := time.Now()
		cloud.Publish("packbench/bench-b1/jobs/push", 1, false, pushPayload(b, uplink.PushJob{ID: id, Type: uplink.PushZPL, ZPL: zplFor(id)}))
		select {
		case t1 := <-arrived:
			lat = append(lat, t1.Sub(t0))
		case <-time.After(30 * time.Second):
			b.Fatalf("label %d never arrived", i)
		}
		b.StopTimer()
		j, err := bn.db.JobByKey(context.Background(), "mqtt:"+id)
		if err != nil {
			b.Fatal(err)
		}
		waitJob(b, bn.db, j.ID, queue.StatePrinted)
		b.StartTimer()
	}
	b.StopTimer()
	slices.Sort(lat)
	pct := func(p float64) float64 {
		return float64(lat[min(len(lat)-1, int(float64(len(lat))*p))]) / float64(time.Millisecond)
	}
	b.ReportMetric(pct(0.50), "p50-ms")
	b.ReportMetric(pct(0.99), "p99-ms")
}

// BenchmarkMQTTBurst: b.N jobs published at once; labels per second at
// the emulator, from the first publish to the last label's last byte.
func BenchmarkMQTTBurst(b *testing.B) {
	// The emulator prints at once; the worker polls its status every 2 ms
	// while confirming (test hook) instead of 200 ms, else the burst
	// measures that poll (5 labels/s), not the link.
	_, cloud, arrived := mqttBenchBench(b, "bench-b2", *benchBrokerExtra, envMap(nil))
	b.ResetTimer()
	t0 := time.Now()
	for i := 0; i < b.N; i++ {
		id := fmt.Sprintf("burst-%06d", i)
		cloud.Publish("packbench/bench-b2/jobs/push", 1, false, pushPayload(b, uplink.PushJob{ID: id, Type: uplink.PushZPL, ZPL: zplFor(id)}))
	}
	var last time.Time
	for i := 0; i < b.N; i++ {
		select {
		case last = <-arrived:
		case <-time.After(60 * time.Second):
			b.Fatalf("%d of %d labels arrived", i, b.N)
		}
	}
	b.StopTimer()
	b.ReportMetric(float64(b.N)/last.Sub(t0).Seconds(), "labels/s")
}
