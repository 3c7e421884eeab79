package device_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/device/devicetest"
)

// Each copy of a multi-copy job is recorded before the next one is sent,
// and a job whose source says copies are already out gets only the rest.
func TestWorkerRecordsCopiesAndResumes(t *testing.T) {
	ctx := testCtx(t)
	src := devicetest.NewSource()
	var mu sync.Mutex
	var problems []string
	emu := devicetest.NewEmulator(&devicetest.Options{OnLabel: func(n int, _ []byte) {
		// Label n of job "c" (n = 2, 3) arrived: copy n-1 was on record
		// before it was sent (the worker may be further by now).
		if n < 2 || n > 3 {
			return
		}
		recorded := 0
		for _, e := range src.Events() {
			if e.Kind == "copy" && e.ID == "c" {
				recorded = e.Copies
			}
		}
		if recorded < n-1 {
			mu.Lock()
			problems = append(problems, fmt.Sprintf("label %d sent with %d copies on record", n, recorded))
			mu.Unlock()
		}
	}})
	defer emu.Close()
	addr, _ := emu.ListenTCP("127.0.0.1:0")
	runWorker(t, device.NewWorker(tcpPrinter(t, addr), src, fastOpts(nil)))

	src.Add(device.Job{ID: "c", Data: label("c", 40), Copies: 3})
	ev, err := src.WaitJob(ctx, "done", "c")
	if err != nil {
		t.Fatal(err)
	}
	if ev.Result.Outcome != device.Printed {
		t.Fatalf("job c: %+v", ev.Result)
	}
	var counts []int
	for _, e := range src.Events() {
		if e.Kind == "copy" {
			counts = append(counts, e.Copies)
		}
	}
	if fmt.Sprint(counts) != "[1 2 3]" {
		t.Fatalf("copies recorded %v, want [1 2 3]", counts)
	}
	mu.Lock()
	if len(problems) > 0 {
		t.Fatal(strings.Join(problems, "; "))
	}
	mu.Unlock()

	// Two of three copies already out (a retried, half-sent job): one more.
	src.Add(device.Job{ID: "r", Data: label("r", 40), Copies: 3, CopiesSent: 2})
	if ev, err = src.WaitJob(ctx, "done", "r"); err != nil || ev.Result.Outcome != device.Printed {
		t.Fatalf("job r: %+v, %v", ev.Result, err)
	}
	if got := labelIDs(emu.Labels()); strings.Join(got, " ") != "c c c r" {
		t.Fatalf("labels %v, want c c c r", got)
	}
}

// failingCopies refuses to record a copy count, as a queue that cannot
// write would.
type failingCopies struct{ *devicetest.Source }

func (s failingCopies) CopySent(ctx context.Context, id string, sent int) error {
	return errors.New("queue: disk full")
}

// Without the count on disk the worker sends no further copy: the job is
// uncertain, one label out.
func TestWorkerStopsCopiesWhenCountNotRecorded(t *testing.T) {
	ctx := testCtx(t)
	emu := devicetest.NewEmulator(nil)
	defer emu.Close()
	addr, _ := emu.ListenTCP("127.0.0.1:0")
	src := failingCopies{devicetest.NewSource()}
	runWorker(t, device.NewWorker(tcpPrinter(t, addr), src, fastOpts(nil)))
	src.Add(device.Job{ID: "c", Data: label("c", 40), Copies: 3})
	ev, err := src.WaitJob(ctx, "done", "c")
	if err != nil {
		t.Fatal(err)
	}
	if ev.Result.Outcome != device.Uncertain || !strings.Contains(ev.Result.Reason, "1 of 3 copies sent") {
		t.Fatalf("job c: %+v, want uncertain with 1 of 3 copies sent", ev.Result)
	}
	if ev.Result.Bytes != len(label("c", 40)) {
		t.Fatalf("%d bytes sent, want one copy", ev.Result.Bytes)
	}
	if err := emu.WaitLabels(ctx, 1); err != nil {
		t.Fatal(err)
	}
	if n := len(emu.Labels()); n != 1 {
		t.Fatalf("%d labels, want 1", n)
	}
}
