package main

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	paho "github.com/eclipse/paho.mqtt.golang"
	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/packbench/packbench/uplink"
)

type mqttAllowAll struct{ mochi.HookBase }

func (mqttAllowAll) ID() string { return "allow-all" }
func (mqttAllowAll) Provides(b byte) bool {
	return b == mochi.OnConnectAuthenticate || b == mochi.OnACLCheck
}
func (mqttAllowAll) OnConnectAuthenticate(*mochi.Client, packets.Packet) bool { return true }
func (mqttAllowAll) OnACLCheck(*mochi.Client, string, bool) bool              { return true }

func startTestBroker(t *testing.T) (url string, c paho.Client) {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	srv := mochi.New(&mochi.Options{Logger: slog.New(slog.DiscardHandler)})
	if err := srv.AddHook(new(mqttAllowAll), nil); err != nil {
		t.Fatal(err)
	}
	if err := srv.AddListener(listeners.NewTCP(listeners.Config{ID: "t", Address: addr})); err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	c = paho.NewClient(paho.NewClientOptions().AddBroker("tcp://" + addr).SetClientID("test"))
	if tok := c.Connect(); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
		t.Fatalf("connect: %v", tok.Error())
	}
	t.Cleanup(func() { c.Disconnect(100) })
	return "mqtt://" + addr, c
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

func TestPushAndWatch(t *testing.T) {
	url, c := startTestBroker(t)
	got := make(chan paho.Message, 4)
	for _, topic := range []string{"packbench/b1/jobs/push", "packbench/pool/hall/jobs"} {
		if tok := c.Subscribe(topic, 1, func(_ paho.Client, m paho.Message) { got <- m }); !tok.WaitTimeout(5*time.Second) || tok.Error() != nil {
			t.Fatal(tok.Error())
		}
	}
	dir := t.TempDir()
	zpl := filepath.Join(dir, "label.zpl")
	if err := os.WriteFile(zpl, []byte("^XA^FDhi^FS^XZ"), 0o644); err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()

	var out lockedBuffer
	std := &stdio{in: strings.NewReader(""), out: &out, err: &out, log: slog.New(slog.DiscardHandler)}
	if err := runPush(ctx, std, []string{"--url", url, "--bench", "b1", "--id", "order-1", "--copies", "2", "--no-wait", zpl}); err != nil {
		t.Fatalf("push: %v", err)
	}
	if strings.TrimSpace(out.String()) != "order-1" {
		t.Errorf("push printed %q, want the job id", out.String())
	}
	m := <-got
	job, err := uplink.DecodePush(m.Payload())
	if err != nil || job.ID != "order-1" || job.ZPL != "^XA^FDhi^FS^XZ" || job.Copies != 2 || job.Type != uplink.PushZPL {
		t.Fatalf("pushed %s: %+v %v", m.Payload(), job, err)
	}
	// To a pool, from stdin, with a generated id.
	std.in = strings.NewReader(`{"size":"4x6"}`)
	if err := runPush(ctx, std, []string{"--url", url, "--pool", "hall", "--type", "label", "--no-wait", "-"}); err != nil {
		t.Fatalf("push to pool: %v", err)
	}
	m = <-got
	if job, err := uplink.DecodePush(m.Payload()); err != nil || job.Type != uplink.PushLabel || !strings.HasPrefix(job.ID, "cli-") {
		t.Fatalf("pooled %s: %v", m.Payload(), err)
	}
	// Bad input is refused before anything is published.
	if err := runPush(ctx, std, []string{"--url", url, "--bench", "b1", "--copies", "5000", zpl}); err == nil || !strings.Contains(err.Error(), "copies") {
		t.Errorf("copies 5000: %v", err)
	}
	if err := runPush(ctx, std, []string{"--url", url, "--bench", "b1", "--pool", "x", zpl}); err == nil {
		t.Error("--bench and --pool together accepted")
	}

	// watch prints each event on its own line until cancelled.
	wctx, cancel := context.WithCancel(ctx)
	var wout lockedBuffer
	wstd := &stdio{in: strings.NewReader(""), out: &wout, err: &wout, log: slog.New(slog.DiscardHandler)}
	done := make(chan error, 1)
	go func() { done <- runWatch(wctx, wstd, []string{"--url", url, "--bench", "b1"}) }()
	// Publish until watch has subscribed and printed (polling its output).
	deadline := time.Now().Add(10 * time.Second)
	for i := 1; !strings.Contains(wout.String(), "job.state"); i++ {
		if time.Now().After(deadline) {
			t.Fatalf("watch printed nothing: %q", wout.String())
		}
		ev, _ := json.Marshal(uplink.Event{ID: uint64(i), Type: "job.state", Time: time.Unix(0, 0), From: "sending", To: "printed"})
		c.Publish("packbench/b1/events", 1, false, ev).WaitTimeout(5 * time.Second)
		time.Sleep(20 * time.Millisecond) // polling the watcher's output, an outside view
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatalf("watch: %v", err)
	}
	r := newRecentIDs(2)
	if !r.add(1) || r.add(1) || !r.add(2) || !r.add(3) || !r.add(1) {
		t.Error("recentIDs: a repeat within the window must be dropped, one after it kept")
	}
	// stdout and stderr share wout: the first line says what watch waits for.
	lines := strings.SplitN(wout.String(), "\n", 3)
	if !strings.Contains(lines[0], "waiting for the events of bench b1") || !strings.Contains(lines[0], "packbench/b1/events") {
		t.Errorf("watch did not say what it waits for: %q", lines[0])
	}
	line := lines[1]
	if !strings.Contains(line, "job.state") || !strings.Contains(line, "sending→printed") {
		t.Errorf("watch line %q", line)
	}
}

// TestPushWaitsForTheBench pushes to a real daemon through a real broker:
// a valid job returns once the bench has queued it; a job the bench
// rejects fails with the bench's reason.
func TestPushWaitsForTheBench(t *testing.T) {
	url, _ := startTestBroker(t)
	const key = "push-wait-key-0123456789abcdef0123456789abcdef"
	api := runDaemon(t, t.TempDir(), "PACKBENCH_MQTT_URL="+url, "PACKBENCH_DEVICE_ID=b7", "PACKBENCH_API_KEY="+key)
	// The bench must be subscribed before a push reaches it: wait for its
	// link (an outside process: polled).
	deadline := time.Now().Add(20 * time.Second)
	for {
		var h struct {
			Links []struct {
				State string `json:"state"`
			} `json:"links"`
		}
		req, _ := http.NewRequest("GET", api+"/api/v1/health", nil)
		req.Header.Set("Authorization", "Bearer "+key)
		if resp, err := http.DefaultClient.Do(req); err == nil {
			json.NewDecoder(resp.Body).Decode(&h)
			resp.Body.Close()
		}
		if len(h.Links) > 0 && h.Links[0].State == "connected" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the bench's MQTT link did not connect: %+v", h)
		}
		time.Sleep(50 * time.Millisecond) // polling another process
	}
	zpl := filepath.Join(t.TempDir(), "label.zpl")
	if err := os.WriteFile(zpl, []byte("^XA^FO50,50^A0N,40,40^FDhi^FS^XZ"), 0o644); err != nil {
		t.Fatal(err)
	}

	out, errOut, err := cli(t, runPush, "", "--url", url, "--bench", "b7", "--id", "wait-ok-1", zpl)
	if err != nil || strings.TrimSpace(out) != "wait-ok-1" {
		t.Fatalf("valid push: %v, out %q, err %q", err, out, errOut)
	}
	if !strings.Contains(errOut, "waiting up to 30s for bench b7") || !strings.Contains(errOut, "queued on bench b7 as job") {
		t.Errorf("valid push said %q", errOut)
	}

	out, errOut, err = cli(t, runPush, "", "--url", url, "--bench", "b7", "--id", "wait-bad-1", "--printer", "nosuch", zpl)
	if err == nil || !strings.Contains(err.Error(), "bench b7 rejected wait-bad-1: printer: ") || out != "" {
		t.Fatalf("rejected push: %v, out %q, err %q", err, out, errOut)
	}

	// A repeated id queues nothing new: no answer, said so at the timeout.
	_, _, err = cli(t, runPush, "", "--url", url, "--bench", "b7", "--id", "wait-ok-1", "--wait", "300ms", zpl)
	if err == nil || !strings.Contains(err.Error(), "did not answer within 300ms") {
		t.Fatalf("repeated push: %v", err)
	}
}
