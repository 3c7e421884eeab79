package uplink

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	mochi "github.com/mochi-mqtt/server/v2"
	"github.com/mochi-mqtt/server/v2/listeners"
	"github.com/mochi-mqtt/server/v2/packets"

	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/device/devicetest"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/uplink/uplinktest"
)

// startMochi runs mochi-mqtt in process on a loopback port.
func startMochi(t testing.TB) string {
	t.Helper()
	_, url := startMochiServer(t)
	return url
}

// startMochiServer is startMochi that also returns the broker, for a test
// that looks at its sessions.
func startMochiServer(t testing.TB) (*mochi.Server, string) {
	t.Helper()
	srv := mochi.New(&mochi.Options{Logger: slog.New(slog.DiscardHandler)})
	if err := srv.AddHook(new(allowAll), nil); err != nil {
		t.Fatal(err)
	}
	addr := fmt.Sprintf("127.0.0.1:%d", uplinktest.FreePort(t))
	if err := srv.AddListener(listeners.NewTCP(listeners.Config{ID: "t", Address: addr})); err != nil {
		t.Fatal(err)
	}
	if err := srv.Serve(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = srv.Close() })
	return srv, "mqtt://" + addr
}

// allowAll lets every client in (mochi's own allow hook would pull a YAML
// module into go.sum for nothing).
type allowAll struct{ mochi.HookBase }

func (allowAll) ID() string { return "allow-all" }
func (allowAll) Provides(b byte) bool {
	return b == mochi.OnConnectAuthenticate || b == mochi.OnACLCheck
}
func (allowAll) OnConnectAuthenticate(*mochi.Client, packets.Packet) bool { return true }
func (allowAll) OnACLCheck(*mochi.Client, string, bool) bool              { return true }

// zplIntake is the test's Intake: it checks a ZPL job and enqueues it with
// the push's idempotency key, as the daemon's station does.
type zplIntake struct {
	db *queue.DB
}

func (in zplIntake) Push(ctx context.Context, j PushJob) (PushResult, error) {
	var nj queue.NewJob
	switch j.Type {
	case PushZPL:
		if !strings.HasPrefix(j.ZPL, "^XA") {
			return PushResult{}, &PushError{Field: "zpl", Rule: "must start with ^XA"}
		}
		nj = queue.NewJob{ContentType: queue.ContentZPL, Payload: []byte(j.ZPL)}
	case PushLabel:
		nj = queue.NewJob{ContentType: queue.ContentLabelSpec, Payload: j.Label}
	default:
		return PushResult{}, &PushError{Field: "type", Rule: j.Type + " is not supported by this bench"}
	}
	nj.Key, nj.Source, nj.Copies, nj.Printer = j.Key(), queue.SourceMQTT, j.Copies, "p1"
	job, created, err := in.db.Enqueue(ctx, nj)
	if err != nil {
		return PushResult{}, err
	}
	return PushResult{Job: job.ID.String(), Created: created}, nil
}

// queueSource adapts the queue to device.JobSource for printer "p1".
type queueSource struct {
	db *queue.DB
}

func (s queueSource) Next(ctx context.Context) (device.Job, error) {
	for {
		ch := s.db.Wait("p1")
		j, err := s.db.Claim(ctx, "p1")
		if errors.Is(err, queue.ErrEmpty) {
			select {
			case <-ch:
				continue
			case <-ctx.Done():
				return device.Job{}, ctx.Err()
			}
		}
		if err != nil {
			return device.Job{}, err
		}
		return device.Job{ID: j.ID.String(), Data: j.Payload, Copies: j.Copies}, nil
	}
}

func (s queueSource) Done(ctx context.Context, id string, r device.Result) error {
	jid, err := queue.ParseJobID(id)
	if err != nil {
		return err
	}
	to := map[device.Outcome]queue.State{device.Printed: queue.StatePrinted, device.Sent: queue.StateSent,
		device.Failed: queue.StateFailed, device.Uncertain: queue.StateUncertain}[r.Outcome]
	_, err = s.db.SetState(ctx, jid, to, r.Reason)
	return err
}

func (s queueSource) Hold(ctx context.Context, id, reason string) error {
	jid, err := queue.ParseJobID(id)
	if err != nil {
		return err
	}
	_, err = s.db.Requeue(ctx, jid, reason)
	return err
}

// bench is one simulated bench: a real queue file, the MQTT link and,
// when printing, a printer worker sending to an emulator over TCP.
type bench struct {
	id   string
	db   *queue.DB
	link *MQTT
	emu  *devicetest.Emulator
	done chan error
}

type benchOptions struct {
	print bool
	cfg   func(*Config)
	opts  *Options
	deps  func(*Deps)
	dir   string
}

func startBench(t testing.TB, url, id string, bo benchOptions) *bench {
	t.Helper()
	dir := bo.dir
	if dir == "" {
		dir = t.TempDir()
	}
	db, err := queue.Open(filepath.Join(dir, "queue.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	b := &bench{id: id, db: db, done: make(chan error, 2)}
	cfg := Config{URL: url, DeviceID: id}
	if bo.cfg != nil {
		bo.cfg(&cfg)
	}
	opts := bo.opts
	if opts == nil {
		opts = &Options{}
	}
	if opts.MinBackoff == 0 {
		opts.MinBackoff, opts.MaxBackoff = 20*time.Millisecond, 300*time.Millisecond
	}
	deps := Deps{Queue: db, Intake: zplIntake{db}, Logger: testLogger(t)}
	if bo.deps != nil {
		bo.deps(&deps)
	}
	b.link, err = New(cfg, deps, opts)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	running := 1
	go func() { b.done <- b.link.Run(ctx) }()
	if bo.print {
		b.emu = devicetest.NewEmulator(&devicetest.Options{})
		addr, err := b.emu.ListenTCP("127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		p, err := device.Open(device.PrinterConfig{Name: "p1", Transport: "tcp", Address: addr})
		if err != nil {
			t.Fatal(err)
		}
		w := device.NewWorker(p, queueSource{db}, &device.WorkerOptions{PollInterval: time.Millisecond, IdlePoll: -1, Logger: testLogger(t)})
		running++
		go func() { b.done <- w.Run(ctx); p.Close() }()
	}
	t.Cleanup(func() {
		cancel()
		for range running {
			<-b.done
		}
		if b.emu != nil {
			b.emu.Close()
		}
		db.Close()
	})
	return b
}

// testLogger logs to the test only when -v asks for it: a thousand jobs
// would otherwise drown the output.
func testLogger(t testing.TB) *slog.Logger {
	if !testing.Verbose() {
		return slog.New(slog.DiscardHandler)
	}
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelInfo}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}

// waitFor polls cond until it holds or the deadline passes; for state the
// broker (an external process) or the printer pipeline reaches.
func waitFor(t testing.TB, d time.Duration, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out after %v waiting for %s", d, what)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// labelID extracts the ^FD text of a test label: the push id.
func labelID(label []byte) string {
	s := string(label)
	i := strings.Index(s, "^FD")
	if i < 0 {
		return ""
	}
	s = s[i+3:]
	if j := strings.Index(s, "^FS"); j >= 0 {
		return s[:j]
	}
	return s
}

func zplFor(id string) string { return "^XA^FO20,20^A0N,30,30^FD" + id + "^FS^XZ" }

func itoa(i int) string { return strconv.Itoa(i) }

func startEmulator(t testing.TB) *devicetest.Emulator {
	t.Helper()
	emu := devicetest.NewEmulator(&devicetest.Options{})
	if _, err := emu.ListenTCP("127.0.0.1:0"); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { emu.Close() })
	return emu
}
