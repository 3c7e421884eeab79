package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/device/devicetest"
	"github.com/packbench/packbench/internal/datadir"
	"github.com/packbench/packbench/queue"
)

// rawDaemon starts packbenchd with the printer emulator and the raw 9100
// port on loopback; it returns the daemon, the emulator and the port's
// host and port as the real tools take them.
func rawDaemon(t *testing.T) (*daemon, *devicetest.Emulator, string, string) {
	t.Helper()
	for _, tool := range []string{"nc", "socat"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Fatalf("%s is not installed (scripts/test installs netcat-openbsd and socat): %v", tool, err)
		}
	}
	emu, addr := emulator(t, nil)
	dir := t.TempDir()
	cfg := benchConfig(t, dir, addr, "[raw9100]\nlisten = \"127.0.0.1:0\"\n")
	key := "raw9100-test-key-0123456789abcdef0123456789"
	d := startDaemon(t, dir, []string{"PACKBENCH_API_KEY=" + key}, "--config", cfg)
	d.key = key
	m, err := d.waitLog(regexp.MustCompile(`raw 9100 port listening.* addr=(\S+)`), 10*time.Second)
	if err != nil {
		t.Fatalf("no raw 9100 listening line: %v\n%s", err, d.log())
	}
	host, port, err := net.SplitHostPort(m[1])
	if err != nil {
		t.Fatal(err)
	}
	return d, emu, host, port
}

// runTool runs a sender (nc, socat) with stdin from file to the end: the
// bench closes the connection once it committed (or refused) what came,
// so the queue is final for this sender when the tool exits. The exit
// status is returned, not judged: a refusal may reset the connection.
func runTool(t *testing.T, stdin string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second) // hang guard
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if stdin != "" {
		f, err := os.Open(stdin)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		cmd.Stdin = f
	}
	var out bytes.Buffer
	cmd.Stdout = &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %v did not end: the bench kept the connection open", name, args)
	}
	return out.String(), err
}

func writeFile(t *testing.T, name string, data []byte) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	if err := os.WriteFile(p, data, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

// rawJobs lists the daemon's raw 9100 jobs through the API.
func rawJobs(t *testing.T, d *daemon) []queue.Job {
	t.Helper()
	return jobsWhere(t, d, func(j queue.Job) bool { return j.Source == queue.SourceRaw9100 })
}

// jobsWhere lists the daemon's jobs that keep says, reading every page of
// the API's job list.
func jobsWhere(t *testing.T, d *daemon, keep func(queue.Job) bool) []queue.Job {
	t.Helper()
	var out []queue.Job
	after := ""
	for {
		var page struct {
			Jobs []queue.Job `json:"jobs"`
			Next string      `json:"next"`
		}
		d.must("GET", "/api/v1/jobs?limit=500"+after, nil, &page)
		for _, j := range page.Jobs {
			if keep(j) {
				out = append(out, j)
			}
		}
		if page.Next == "" {
			return out
		}
		after = "&after=" + page.Next
	}
}

func rawLabel(text string) string {
	return "^XA^FO50,50^A0N,40,40^FD" + text + "^FS^FO50,120^BCN,80^FD" + text + "^FS^XZ\r\n"
}

// TestRaw9100WithRealTools drives the daemon's raw 9100 port with nc and
// socat as a computer printing to a network Zebra would.
func TestRaw9100WithRealTools(t *testing.T) {
	d, emu, host, port := rawDaemon(t)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()

	// nc: a file with one format is one durable job, printed at the emulator.
	one := rawLabel("RAW-NC-1")
	if _, err := runTool(t, writeFile(t, "label.zpl", []byte(one)), "nc", "-N", host, port); err != nil {
		t.Fatalf("nc: %v", err)
	}
	js := rawJobs(t, d)
	if len(js) != 1 || js[0].Printer != "zebra" || !strings.HasPrefix(js[0].Origin, "127.0.0.1:") {
		t.Fatalf("after nc: %+v, want one raw9100 job for zebra from 127.0.0.1", js)
	}
	if err := emu.WaitLabels(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if got := string(emu.Labels()[0]); got != strings.TrimSpace(one) {
		t.Fatalf("printed %q, want the format sent %q", got, one)
	}

	// socat: two formats in one connection are two jobs, two labels.
	two := rawLabel("RAW-SOCAT-1") + rawLabel("RAW-SOCAT-2")
	// -t: after its input ends socat waits for the bench to close (-u
	// would leave at once, before the bench had read the formats).
	if _, err := runTool(t, writeFile(t, "two.zpl", []byte(two)), "socat", "-t", "30", "STDIO", "TCP:"+net.JoinHostPort(host, port)); err != nil {
		t.Fatalf("socat: %v", err)
	}
	if js := rawJobs(t, d); len(js) != 3 {
		t.Fatalf("after socat: %d raw jobs, want 3", len(js))
	}
	if err := emu.WaitLabels(ctx, 3); err != nil {
		t.Fatal(err)
	}

	// 50 senders at once: 50 jobs, none merged.
	const n = 50
	var wg sync.WaitGroup
	for i := range n {
		file := writeFile(t, fmt.Sprintf("c%02d.zpl", i), []byte(rawLabel(fmt.Sprintf("RAW-CONC-%02d", i))))
		wg.Go(func() {
			if _, err := runTool(t, file, "nc", "-N", host, port); err != nil {
				t.Errorf("nc sender %d: %v", i, err)
			}
		})
	}
	wg.Wait()
	if err := emu.WaitLabels(ctx, 3+n); err != nil {
		t.Fatal(err)
	}
	printed := map[string]int{}
	for _, l := range emu.Labels() {
		printed[string(l)]++
	}
	for i := range n {
		if f := strings.TrimSpace(rawLabel(fmt.Sprintf("RAW-CONC-%02d", i))); printed[f] != 1 {
			t.Errorf("sender %d's format printed %d times, want once", i, printed[f])
		}
	}
	if js := rawJobs(t, d); len(js) != 3+n {
		t.Fatalf("%d raw jobs, want %d", len(js), 3+n)
	}

	// Garbage and oversized input: refused, nothing queued.
	garbage := make([]byte, 64<<10)
	rand.Read(garbage)
	big := []byte("^XA^FO0,0^GFA,1,1,1," + strings.Repeat("F", 5<<20) + "^FS^XZ")
	for name, data := range map[string][]byte{"random bytes": garbage, "a PDF": []byte("%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj"), "a 5 MiB format": big} {
		runTool(t, writeFile(t, "in.bin", data), "nc", "-N", host, port)
		if js := rawJobs(t, d); len(js) != 3+n {
			t.Fatalf("%s: %d raw jobs, want %d: nothing queued", name, len(js), 3+n)
		}
	}
	if !strings.Contains(d.log(), "input refused") {
		t.Errorf("refusals not logged:\n%s", d.log())
	}

	// ~HS on the port answers from the printer's real state: paper out
	// shows as paper out once the bench's worker has seen it.
	hs := writeFile(t, "hs.txt", []byte("~HS"))
	st := hostStatus(t, hs, host, port)
	if st.PaperOut || st.State != device.StateReady {
		t.Fatalf("ready printer: ~HS says %+v", st)
	}
	emu.SetPaperOut(true)
	runTool(t, writeFile(t, "after.zpl", []byte(rawLabel("RAW-AFTER-PAPER"))), "nc", "-N", host, port)
	poll(t, "~HS to show paper out", 30*time.Second, func() (bool, error) {
		st := hostStatus(t, hs, host, port)
		return st.PaperOut && st.FormatsInBuffer >= 1, fmt.Errorf("~HS says %+v", st)
	})
	emu.SetPaperOut(false)
	if err := emu.WaitLabels(ctx, 3+n+1); err != nil {
		t.Fatal(err)
	}

	// SIGTERM with a sender in the middle of a format: a clean exit; the
	// file holds every finished format and nothing of the unfinished one.
	held, err := net.Dial("tcp", net.JoinHostPort(host, port))
	if err != nil {
		t.Fatal(err)
	}
	defer held.Close()
	if _, err := held.Write([]byte("^XA^FO1,1^FDunfinished")); err != nil {
		t.Fatal(err)
	}
	d.stop()
	db, err := queue.Open(filepath.Join(d.dataDir, datadir.DataFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	all, err := db.List(ctx, queue.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	raw := 0
	for _, j := range all {
		if j.Source == queue.SourceRaw9100 {
			raw++
		}
	}
	if raw != 3+n+1 {
		t.Fatalf("%d raw 9100 jobs in the file after the stop, want %d", raw, 3+n+1)
	}
}

// hostStatus asks ~HS through nc and parses the answer.
func hostStatus(t *testing.T, file, host, port string) device.Status {
	t.Helper()
	out, err := runTool(t, file, "nc", "-N", host, port)
	if err != nil {
		t.Fatalf("nc ~HS: %v", err)
	}
	st, err := device.ParseHostStatus([]byte(out))
	if err != nil {
		t.Fatalf("~HS answer %q: %v", out, err)
	}
	return st
}
