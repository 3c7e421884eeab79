package api_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packbench/packbench/api"
	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/station"
)

// statusBoard is the printers' last known status, as the daemon's
// printer view keeps it from the workers.
type statusBoard struct {
	mu sync.Mutex
	st map[string]device.Status
}

func (b *statusBoard) PrinterStatus(name string) (device.Status, bool) {
	b.mu.Lock()
	defer b.mu.Unlock()
	s, ok := b.st[name]
	return s, ok
}

func (b *statusBoard) set(name string, s device.Status) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.st[name] = s
}

// rawBench is a Raw9100 on loopback over a real bbolt file.
type rawBench struct {
	t      testing.TB
	path   string
	db     *queue.DB
	addr   string
	status *statusBoard
	log    *syncBuffer
	cancel context.CancelFunc
	done   chan error
}

func startRaw(t testing.TB, opts *api.Raw9100Options) *rawBench {
	t.Helper()
	b := &rawBench{t: t, path: filepath.Join(t.TempDir(), "packbench.db"), status: &statusBoard{st: map[string]device.Status{}}, log: &syncBuffer{}, done: make(chan error, 1)}
	var err error
	if b.db, err = queue.Open(b.path, nil); err != nil {
		t.Fatal(err)
	}
	logger := slog.New(slog.NewTextHandler(b.log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	st, err := station.New(b.db, &station.Options{Printers: []string{"zebra", "other"}, Logger: logger})
	if err != nil {
		t.Fatal(err)
	}
	var o api.Raw9100Options
	if opts != nil {
		o = *opts
	}
	o.Logger = logger
	r, err := api.NewRaw9100(b.db, st, b.status, &o)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	b.addr = ln.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	b.cancel = cancel
	go func() { b.done <- r.Serve(ctx, ln) }()
	t.Cleanup(func() {
		b.stop()
		b.db.Close()
	})
	return b
}

// stop cancels Serve and waits for it to return with every connection closed.
func (b *rawBench) stop() {
	b.t.Helper()
	if b.cancel == nil {
		return
	}
	b.cancel()
	b.cancel = nil
	select {
	case err := <-b.done:
		if err != nil {
			b.t.Errorf("Serve: %v", err)
		}
	case <-time.After(10 * time.Second):
		b.t.Fatal("Serve did not return after cancel")
	}
}

func (b *rawBench) dial() *net.TCPConn {
	b.t.Helper()
	c, err := net.Dial("tcp", b.addr)
	if err != nil {
		b.t.Fatal(err)
	}
	b.t.Cleanup(func() { c.Close() })
	return c.(*net.TCPConn)
}

// send writes data as one sender does (nc -N, socat): all of it, then the
// end of its side; it returns what the bench answered once the bench
// closed the connection. The bench commits a connection's formats before
// it closes it, so the queue is final for this sender then.
func (b *rawBench) send(data string) string {
	b.t.Helper()
	c := b.dial()
	if _, err := c.Write([]byte(data)); err != nil && !isReset(err) {
		b.t.Fatal(err)
	}
	c.CloseWrite()
	return waitClosed(b.t, c)
}

// waitClosed reads until the bench closes c (EOF, or a reset when it
// closed with input unread) and returns what it read.
func waitClosed(t testing.TB, c net.Conn) string {
	t.Helper()
	c.SetReadDeadline(time.Now().Add(20 * time.Second)) // a hang guard, not a timing
	var got bytes.Buffer
	_, err := io.Copy(&got, c)
	if err != nil && !isReset(err) {
		t.Fatalf("the bench did not close the connection: %v (read %q)", err, got.String())
	}
	return got.String()
}

func isReset(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe"))
}

func (b *rawBench) jobs() []queue.Job {
	b.t.Helper()
	js, err := b.db.List(context.Background(), queue.ListOptions{})
	if err != nil {
		b.t.Fatal(err)
	}
	out := make([]queue.Job, 0, len(js))
	for _, j := range js {
		full, err := b.db.Job(context.Background(), j.ID)
		if err != nil {
			b.t.Fatal(err)
		}
		out = append(out, full)
	}
	return out
}

func label(text string) string { return "^XA^FO50,50^A0N,40,40^FD" + text + "^FS^XZ" }

// TestRaw9100FormatsBecomeDurableJobs: one connection with two formats is
// two jobs, each exactly its format, from raw9100 with the sender's
// address, on the configured printer, still there after a reopen; the log
// names the jobs but never the label.
func TestRaw9100FormatsBecomeDurableJobs(t *testing.T) {
	b := startRaw(t, &api.Raw9100Options{Printer: "other"})
	c := b.dial()
	first, second := label("SECRET-ONE"), "^xa^fo10,10^bcN,80^fd12345^fs^pq2^xz"
	if _, err := c.Write([]byte("\r\n" + first + "\r\n" + second + "\r\n")); err != nil {
		t.Fatal(err)
	}
	c.CloseWrite()
	if got := waitClosed(t, c); got != "" {
		t.Fatalf("the bench answered %q to formats: a printer says nothing", got)
	}
	b.stop()
	if err := b.db.Close(); err != nil {
		t.Fatal(err)
	}
	var err error
	if b.db, err = queue.Open(b.path, nil); err != nil {
		t.Fatal(err)
	}
	js := b.jobs()
	if len(js) != 2 {
		t.Fatalf("%d jobs, want 2: %+v", len(js), js)
	}
	for i, want := range []string{first, second} {
		j := js[i]
		if string(j.Payload) != want || j.Source != queue.SourceRaw9100 || j.Printer != "other" ||
			j.ContentType != queue.ContentZPL || j.Origin != c.LocalAddr().String() || j.Copies != 1 || j.State != queue.StateQueued {
			t.Errorf("job %d = %+v payload %q: want %q from raw9100 at %s for printer other", i, j, j.Payload, want, c.LocalAddr())
		}
	}
	if js[0].Key == js[1].Key || !strings.HasPrefix(js[0].Key, "raw9100:") {
		t.Errorf("keys %q %q: want two distinct raw9100: keys", js[0].Key, js[1].Key)
	}
	log := b.log.String()
	if strings.Contains(log, "SECRET-ONE") || strings.Contains(log, "12345") {
		t.Errorf("the log carries label content:\n%s", log)
	}
	if !strings.Contains(log, js[0].ID.String()) || !strings.Contains(log, js[1].ID.String()) {
		t.Errorf("the log does not name the jobs:\n%s", log)
	}
}

// TestRaw9100CommitsBeforeReadingOn: a format is a durable job as soon as
// its ^XZ arrived, while the sender keeps the connection open (a WMS
// holding its printer socket).
func TestRaw9100CommitsBeforeReadingOn(t *testing.T) {
	b := startRaw(t, nil)
	c := b.dial()
	for n := 1; n <= 3; n++ {
		wait := b.db.Wait("zebra")
		if _, err := c.Write([]byte(label(fmt.Sprint("held-open-", n)))); err != nil {
			t.Fatal(err)
		}
		for len(b.jobs()) < n {
			select {
			case <-wait:
				wait = b.db.Wait("zebra")
			case <-time.After(20 * time.Second):
				t.Fatalf("format %d not queued while the connection stays open", n)
			}
		}
	}
}

// TestRaw9100Refusals: input that is not ZPL for a label is refused and
// the connection closed; nothing of the refused format or after it is
// queued, what came before it is.
func TestRaw9100Refusals(t *testing.T) {
	for _, tc := range []struct {
		name string
		opts api.Raw9100Options
		in   string
		want int // jobs queued
	}{
		{"binary garbage", api.Raw9100Options{}, "\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + label("after"), 0},
		{"text", api.Raw9100Options{}, "%PDF-1.7\n" + label("after"), 0},
		{"binary inside a format", api.Raw9100Options{}, "^XA^FDab\x00\x01cd^FS^XZ", 0},
		{"oversized format", api.Raw9100Options{MaxFormat: 1024}, "^XA^FD" + strings.Repeat("x", 2048) + "^FS^XZ" + label("after"), 0},
		{"oversized connection", api.Raw9100Options{MaxFormat: 1024, MaxBytes: 4096}, strings.Repeat(label("fits")+"\n", 200), (4096 + 1) / len(label("fits")+"\n")},
		{"a reset between formats", api.Raw9100Options{}, label("one") + "~JR" + label("two"), 1},
		{"a setting in a format", api.Raw9100Options{}, label("one") + "^XA^JUS^XZ" + label("three"), 1},
		{"a prefix change", api.Raw9100Options{}, "^XA^CC+^FDx+FS+XZ", 0},
		{"garbage after a format", api.Raw9100Options{}, label("one") + "\r\nhello" + label("two"), 1},
		{"too many copies", api.Raw9100Options{}, "^XA^FDx^FS^PQ5000^XZ", 0},
		{"cut inside a format", api.Raw9100Options{}, label("one") + "^XA^FO1,1^FDpart", 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := startRaw(t, &tc.opts)
			b.send(tc.in)
			if js := b.jobs(); len(js) != tc.want {
				t.Fatalf("%d jobs, want %d", len(js), tc.want)
			}
			if tc.want == 0 || strings.Contains(tc.name, "cut") {
				return
			}
			if !strings.Contains(b.log.String(), "input refused") {
				t.Errorf("no refusal logged:\n%s", b.log)
			}
		})
	}
}

// TestRaw9100HostStatus: ~HS and ~HQES on the port answer from the
// printer's last known status, paper out as paper out, with the jobs the
// bench holds as formats in buffer.
func TestRaw9100HostStatus(t *testing.T) {
	b := startRaw(t, nil)
	b.status.set("zebra", device.Status{State: device.StateReady, Known: true, LabelLength: 1218, Password: "1234", FormatWhilePrint: 1})
	st, err := device.ParseHostStatus([]byte(b.send("~HS")))
	if err != nil || st.PaperOut || st.State != device.StateReady || st.LabelLength != 1218 || st.FormatsInBuffer != 0 {
		t.Fatalf("ready printer: %+v %v", st, err)
	}

	b.send(label("one") + label("two"))
	// The worker found the printer out of paper: ~HS told it nothing (a
	// Zebra is silent then), ~HQES said media out.
	b.status.set("zebra", device.Status{State: device.StatePaperOut, Known: true, Errors: device.ErrFlagMediaOut, Reason: "paper out"})
	c := b.dial()
	if _, err := c.Write([]byte("~HS\r\n~hqes")); err != nil {
		t.Fatal(err)
	}
	c.CloseWrite()
	reply := waitClosed(t, c)
	frames, _ := device.SplitFrames([]byte(reply))
	if len(frames) != 4 {
		t.Fatalf("reply %q: want 3 ~HS lines and one ~HQES block", reply)
	}
	hs := []byte(reply[:strings.Index(reply, "PRINTER STATUS")-3])
	st, err = device.ParseHostStatus(hs)
	if err != nil || !st.PaperOut || st.State != device.StatePaperOut || st.FormatsInBuffer != 2 {
		t.Fatalf("~HS %q → %+v %v: want paper out with 2 formats in buffer", hs, st, err)
	}
	ef, _, err := device.ParseExtendedStatus([]byte(reply[len(hs):]))
	if err != nil || ef&device.ErrFlagMediaOut == 0 {
		t.Fatalf("~HQES %q: flags %x %v, want media out", reply[len(hs):], ef, err)
	}

	// A printer the bench cannot reach shows as paused: its queue is held.
	b.status.set("zebra", device.Status{State: device.StateOffline, Reason: "dial tcp: refused"})
	st, err = device.ParseHostStatus([]byte(b.send("~HS")))
	if err != nil || !st.Paused || st.PaperOut {
		t.Fatalf("offline printer: %+v %v, want paused", st, err)
	}
}

// TestRaw9100ConcurrentSenders: 50 senders at once (more than the
// connection cap) give 50 jobs, each exactly one sender's format.
func TestRaw9100ConcurrentSenders(t *testing.T) {
	b := startRaw(t, &api.Raw9100Options{MaxConnections: 8})
	const n = 50
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := range n {
		wg.Go(func() {
			c, err := net.Dial("tcp", b.addr)
			if err != nil {
				errs <- err
				return
			}
			defer c.Close()
			// Two writes, so formats arrive in pieces that could interleave.
			f := label(fmt.Sprintf("sender-%02d", i))
			if _, err := c.Write([]byte(f[:10])); err != nil {
				errs <- err
				return
			}
			if _, err := c.Write([]byte(f[10:])); err != nil {
				errs <- err
				return
			}
			c.(*net.TCPConn).CloseWrite()
			c.SetReadDeadline(time.Now().Add(30 * time.Second)) // hang guard
			if _, err := io.Copy(io.Discard, c); err != nil {
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for _, j := range b.jobs() {
		seen[string(j.Payload)] = true
	}
	for i := range n {
		if f := label(fmt.Sprintf("sender-%02d", i)); !seen[f] {
			t.Errorf("sender %d's format not queued as its own job", i)
		}
	}
	if js := b.jobs(); len(js) != n {
		t.Fatalf("%d jobs, want %d", len(js), n)
	}
}

// TestRaw9100IdleAndShutdown: a sender that goes quiet mid-format is
// closed after the idle timeout with nothing queued; at the cap a
// newcomer takes the place of a connection waiting between formats; a
// shutdown closes what is open.
func TestRaw9100IdleAndShutdown(t *testing.T) {
	b := startRaw(t, &api.Raw9100Options{IdleTimeout: 50 * time.Millisecond})
	c := b.dial()
	if _, err := c.Write([]byte("^XA^FO1,1^FDnever finished")); err != nil {
		t.Fatal(err)
	}
	waitClosed(t, c)
	if js := b.jobs(); len(js) != 0 {
		t.Fatalf("an unfinished format was queued: %+v", js)
	}
	if !strings.Contains(b.log.String(), "connection idle") {
		t.Errorf("idle close not logged:\n%s", b.log)
	}

	b2 := startRaw(t, &api.Raw9100Options{MaxConnections: 1})
	held := b2.dial()
	wait := b2.db.Wait("zebra")
	if _, err := held.Write([]byte(label("held"))); err != nil {
		t.Fatal(err)
	}
	<-wait // committed: the held connection now waits between formats
	if b2.send(label("newcomer")) != "" || len(b2.jobs()) != 2 {
		t.Fatalf("the newcomer's format was not queued: %+v", b2.jobs())
	}
	waitClosed(t, held) // made room

	b3 := startRaw(t, nil)
	open := b3.dial()
	if _, err := open.Write([]byte("^XA^FDpart")); err != nil {
		t.Fatal(err)
	}
	b3.stop()
	waitClosed(t, open)
	if js := b3.jobs(); len(js) != 0 {
		t.Fatalf("shutdown queued an unfinished format: %+v", js)
	}
}

func TestRaw9100Options(t *testing.T) {
	db, err := queue.Open(filepath.Join(t.TempDir(), "q.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := station.New(db, &station.Options{Printers: []string{"zebra"}})
	if err != nil {
		t.Fatal(err)
	}
	for _, o := range []api.Raw9100Options{{Printer: "nope"}, {MaxFormat: 8 << 20}, {MaxFormat: 2048, MaxBytes: 1024}, {IdleTimeout: -1}} {
		if _, err := api.NewRaw9100(db, st, nil, &o); !errors.Is(err, api.ErrConfig) {
			t.Errorf("%+v: %v, want ErrConfig", o, err)
		}
	}
	r, err := api.NewRaw9100(db, st, nil, nil)
	if err != nil || r.Printer() != "zebra" {
		t.Fatalf("defaults: %v printer %q, want the station's", err, r.Printer())
	}
}
