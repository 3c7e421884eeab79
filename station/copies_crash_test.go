package station

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/device/devicetest"
	"github.com/packbench/packbench/queue"
)

// copiesChildEnv makes the test binary a printing bench (TestMain): it opens
// the queue file named by the variable and prints to the emulator at
// copiesChildEnv_ADDR, and stops dead once copy 2 is recorded.
const copiesChildEnv = "PACKBENCH_STATION_COPIES_CHILD"

func TestMain(m *testing.M) {
	if path := os.Getenv(copiesChildEnv); path != "" {
		os.Exit(copiesChild(path, os.Getenv(copiesChildEnv+"_ADDR")))
	}
	if path := os.Getenv(batchChildEnv); path != "" {
		os.Exit(batchChild(path, os.Getenv(batchChildEnv+"_ADDR"), os.Getenv(batchChildEnv+"_STOP")))
	}
	os.Exit(m.Run())
}

// stallingSource is the real JobSource; after recording copy 2 it says so
// and blocks, so the parent kills the bench at that exact point.
type stallingSource struct{ *JobSource }

func (s stallingSource) CopySent(ctx context.Context, id string, sent int) error {
	if err := s.JobSource.CopySent(ctx, id, sent); err != nil {
		return err
	}
	if sent == 2 {
		os.Stdout.WriteString("copy 2 recorded\n")
		select {}
	}
	return nil
}

func copiesChild(path, addr string) int {
	return childBench(path, addr, func(db *queue.DB) device.JobSource { return stallingSource{NewJobSource(db, "z", nil)} })
}

// childBench is the child process of a crash test: a worker printing from
// the queue file at path, through the source src makes, to the emulator at
// addr, until it is killed.
func childBench(path, addr string, src func(db *queue.DB) device.JobSource) int {
	db, err := queue.Open(path, &queue.Options{Timeout: 10 * time.Second})
	if err != nil {
		fmt.Println("ERR open:", err)
		return 3
	}
	p, err := device.Open(device.PrinterConfig{Name: "z", Transport: "tcp", Address: addr})
	if err != nil {
		fmt.Println("ERR printer:", err)
		return 3
	}
	w := device.NewWorker(p, src(db), &device.WorkerOptions{IdlePoll: -1, PollInterval: 5 * time.Millisecond})
	err = w.Run(context.Background())
	fmt.Println("ERR run:", err)
	return 3
}

// startWorker runs a worker printing from src to the emulator at addr, as
// the restarted bench; the function it returns stops it.
func startWorker(ctx context.Context, t *testing.T, addr string, src *JobSource) (stop func()) {
	t.Helper()
	p, err := device.Open(device.PrinterConfig{Name: "z", Transport: "tcp", Address: addr})
	if err != nil {
		t.Fatal(err)
	}
	w := device.NewWorker(p, src, &device.WorkerOptions{IdlePoll: -1, PollInterval: 5 * time.Millisecond})
	wctx, cancel := context.WithCancel(ctx)
	ran := make(chan error, 1)
	go func() { ran <- w.Run(wctx) }()
	return func() {
		cancel()
		if err := <-ran; !errors.Is(err, context.Canceled) {
			t.Errorf("Run: %v", err)
		}
		p.Close()
	}
}

// crashSetup starts a crash test: a printer emulator on loopback TCP (its
// address) and a fresh queue file (its path), open.
func crashSetup(t *testing.T) (*devicetest.Emulator, string, string, *queue.DB) {
	t.Helper()
	emu := devicetest.NewEmulator(nil)
	t.Cleanup(func() { emu.Close() })
	addr, err := emu.ListenTCP("127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(t.TempDir(), "packbench.db")
	db, err := queue.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	return emu, addr, path, db
}

// killChildAt runs this test binary as the child bench env selects
// (TestMain), waits for it to say want, and kills it right there: no
// shutdown, like a power cut.
func killChildAt(ctx context.Context, t *testing.T, env []string, want string) {
	t.Helper()
	cmd := exec.CommandContext(ctx, os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), env...)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	if line != want+"\n" {
		cmd.Process.Kill()
		cmd.Wait()
		t.Fatalf("child said %q, %v; want %q", line, err, want)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()
}

// A bench killed after copy 2 of a 3-copy job: the reopened queue has the
// job uncertain with "2 of 3 copies sent", and the operator's retry prints
// the third copy only: three labels, never four.
func TestCopiesSurviveACrash(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	emu, addr, path, db := crashSetup(t)
	job, _, err := db.Enqueue(ctx, queue.NewJob{Key: "three", Source: queue.SourceHTTP, Printer: "z",
		ContentType: queue.ContentZPL, Payload: []byte("^XA^FDthree^FS^XZ"), Copies: 3})
	if err != nil {
		t.Fatal(err)
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}

	killChildAt(ctx, t, []string{copiesChildEnv + "=" + path, copiesChildEnv + "_ADDR=" + addr}, "copy 2 recorded")
	if err := emu.WaitLabels(ctx, 2); err != nil {
		t.Fatal(err)
	}

	db, err = queue.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	j, err := db.Job(ctx, job.ID)
	if err != nil {
		t.Fatal(err)
	}
	if j.State != queue.StateUncertain || j.CopiesSent != 2 || !strings.Contains(j.LastError, "2 of 3 copies sent") {
		t.Fatalf("after the crash: %s, %d copies sent, %q; want uncertain, 2 of 3 copies sent", j.State, j.CopiesSent, j.LastError)
	}

	// The operator retries: the third copy goes out, and only it.
	defer startWorker(ctx, t, addr, NewJobSource(db, "z", nil))()
	if _, err := db.Retry(ctx, job.ID, ""); err != nil {
		t.Fatal(err)
	}
	j = waitJobState(t, db, job.ID, queue.StatePrinted)
	if n := len(emu.Labels()); n != 3 || j.CopiesSent != 3 {
		t.Fatalf("%d labels after the retry (job says %d copies sent), want 3: no copy twice", n, j.CopiesSent)
	}
}
