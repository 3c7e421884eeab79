package uplink

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/uplink/uplinktest"
)

func TestMain(m *testing.M) {
	if os.Getenv("UPLINK_TEST_CHILD") == "1" {
		os.Exit(childBench())
	}
	os.Exit(m.Run())
}

// childBench is a bench process for TestKilledBeforeAck: the link plus,
// with UPLINK_TEST_PRINTER, a printer worker. With UPLINK_TEST_CRASH it
// dies right after the bbolt commit of a push, before acknowledging it.
// It reports on stdout: "ready", "committed ID CREATED", "acked ID CREATED".
func childBench() int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	db, err := queue.Open(filepath.Join(os.Getenv("UPLINK_TEST_DIR"), "queue.db"), nil)
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	defer db.Close()
	crash := os.Getenv("UPLINK_TEST_CRASH") == "1"
	opts := &Options{MinBackoff: 20 * time.Millisecond, MaxBackoff: 200 * time.Millisecond,
		beforeAck: func(j PushJob, r PushResult) {
			fmt.Println("committed", j.ID, r.Created)
			if crash {
				os.Exit(3) // killed between the commit and the PUBACK
			}
		},
		afterAck: func(j PushJob, r PushResult) { fmt.Println("acked", j.ID, r.Created) },
	}
	link, err := New(Config{URL: os.Getenv("UPLINK_TEST_URL"), DeviceID: "bench-k"}, Deps{Queue: db, Intake: zplIntake{db}}, opts)
	if err != nil {
		fmt.Println("error", err)
		return 1
	}
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	done := make(chan error, 2)
	go func() { done <- link.Run(ctx) }()
	running := 1
	if addr := os.Getenv("UPLINK_TEST_PRINTER"); addr != "" {
		p, err := device.Open(device.PrinterConfig{Name: "p1", Transport: "tcp", Address: addr})
		if err != nil {
			fmt.Println("error", err)
			return 1
		}
		w := device.NewWorker(p, queueSource{db}, &device.WorkerOptions{PollInterval: time.Millisecond, IdlePoll: -1})
		running++
		go func() { done <- w.Run(ctx) }()
	}
wait:
	for !link.Connected() {
		select {
		case <-ctx.Done():
			break wait
		case <-time.After(5 * time.Millisecond): // polling: the child has no other view
		}
	}
	if ctx.Err() == nil {
		fmt.Println("ready")
	}
	<-ctx.Done()
	cancel()
	for range running {
		<-done
	}
	return 0
}

type child struct {
	cmd   *exec.Cmd
	lines chan string
	exit  chan error
}

func startChild(t *testing.T, env ...string) *child {
	t.Helper()
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(append(os.Environ(), "UPLINK_TEST_CHILD=1"), env...)
	cmd.Stderr = os.Stderr
	uplinktest.DieWithParent(cmd)
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	c := &child{cmd: cmd, lines: make(chan string, 100), exit: make(chan error, 1)}
	go func() {
		sc := bufio.NewScanner(out)
		for sc.Scan() {
			c.lines <- sc.Text()
		}
		_, _ = io.Copy(io.Discard, out)
		close(c.lines)
		c.exit <- cmd.Wait()
	}()
	t.Cleanup(func() { _ = cmd.Process.Kill() })
	return c
}

// expect reads lines until one starts with prefix; other lines are
// returned too, for checks on what came before.
func (c *child) expect(t *testing.T, prefix string) []string {
	t.Helper()
	var seen []string
	timeout := time.After(30 * time.Second)
	for {
		select {
		case l, ok := <-c.lines:
			if !ok {
				t.Fatalf("child exited before %q (saw %q)", prefix, seen)
			}
			seen = append(seen, l)
			if strings.HasPrefix(l, "error") {
				t.Fatalf("child: %s", l)
			}
			if strings.HasPrefix(l, prefix) {
				return seen
			}
		case <-timeout:
			t.Fatalf("child did not say %q within 30s (saw %q)", prefix, seen)
		}
	}
}

func (c *child) stop(t *testing.T) {
	t.Helper()
	_ = c.cmd.Process.Signal(syscall.SIGTERM)
	for range c.lines {
	}
	if err := <-c.exit; err != nil {
		t.Fatalf("child exit: %v", err)
	}
}

// TestKilledBeforeAck: a bench dies after committing a push and before
// acknowledging it. The broker redelivers it to the restarted bench, which
// recognises the id: the job is committed once and printed once, and the
// push is not delivered a third time.
func TestKilledBeforeAck(t *testing.T) {
	mq := uplinktest.StartMosquitto(t, "")
	dir := t.TempDir()
	emu := startEmulator(t)
	env := []string{"UPLINK_TEST_URL=" + mq.URL(), "UPLINK_TEST_DIR=" + dir}
	pub := testClient(t, mq.URL(), "cloud", true)
	push := func(id string) {
		publish(t, pub, "packbench/bench-k/jobs/push", false, PushJob{ID: id, Type: PushZPL, ZPL: zplFor(id)})
	}

	c1 := startChild(t, append(env, "UPLINK_TEST_CRASH=1")...)
	c1.expect(t, "ready")
	push("k-1")
	c1.expect(t, "committed k-1 true")
	var ee *exec.ExitError
	if err := <-c1.exit; !errors.As(err, &ee) || ee.ExitCode() != 3 {
		t.Fatalf("child 1 should have died before the ack: %v", err)
	}
	// The job is on disk although the push was never acknowledged.
	db, err := queue.Open(filepath.Join(dir, "queue.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.JobByKey(context.Background(), "mqtt:k-1"); err != nil {
		t.Fatalf("job of k-1 after the crash: %v", err)
	}
	db.Close()

	c2 := startChild(t, append(env, "UPLINK_TEST_PRINTER="+emu.Addr())...)
	c2.expect(t, "acked k-1 false") // redelivered and recognised
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := emu.WaitLabels(ctx, 1); err != nil {
		t.Fatal(err)
	}
	push("k-2") // the session queues it whether or not c2 is connected yet
	c2.expect(t, "acked k-2 true")
	if err := emu.WaitLabels(ctx, 2); err != nil {
		t.Fatal(err)
	}
	c2.stop(t)

	// A third run gets no k-1 or k-2 again: the broker would redeliver an
	// unacknowledged push before k-3, and the link takes pushes in the
	// order they arrive, so its line would come before k-3's.
	c3 := startChild(t, env...)
	push("k-3")
	for _, l := range c3.expect(t, "acked k-3 true") {
		if strings.Contains(l, "k-1") || strings.Contains(l, "k-2") {
			t.Errorf("redelivered after its ack: %s", l)
		}
	}
	c3.stop(t)
	if got := countLabels(emu.Labels()); got["k-1"] != 1 || got["k-2"] != 1 || len(got) != 2 {
		t.Errorf("labels: %v, want k-1 and k-2 once each", got)
	}
}
