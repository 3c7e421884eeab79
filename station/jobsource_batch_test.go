package station

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/packbench/packbench/device"
	"github.com/packbench/packbench/queue"
)

// batchChildEnv makes the test binary a printing bench with a batched
// JobSource (TestMain): it opens the queue file named by the variable,
// prints to the emulator at batchChildEnv_ADDR, and stops dead when the
// worker asks to transmit the job batchChildEnv_STOP.
const batchChildEnv = "PACKBENCH_STATION_BATCH_CHILD"

// crashBatch is the Batch of the crash tests: 6 jobs, so one claim takes
// 4 and leaves 2 queued.
const crashBatch = 4

// stopAtSource is a batched JobSource that, when the worker is about to
// transmit job stop, says so and blocks, so the parent kills the bench at
// that exact point (before any byte of that job is written).
type stopAtSource struct {
	*JobSource
	stop string
}

func (s stopAtSource) Transmitting(ctx context.Context, id string) error {
	if id == s.stop {
		os.Stdout.WriteString("stopped at " + id + "\n")
		select {}
	}
	return s.JobSource.Transmitting(ctx, id)
}

func batchChild(path, addr, stop string) int {
	return childBench(path, addr, func(db *queue.DB) device.JobSource {
		return stopAtSource{NewJobSource(db, "z", &JobSourceOptions{Batch: crashBatch}), stop}
	})
}

// TestBatchCrash kills a bench whose worker claims jobs in batches, at two
// points of a batch, and checks the write-ahead rule on the reopened file:
// a job the printer may have received (its batch was marked) is uncertain,
// never reprinted by itself; a claim that never got its mark goes back to
// the queue; jobs outside the batch stay queued; the restarted bench prints
// exactly the jobs no byte of which had left, once each.
func TestBatchCrash(t *testing.T) {
	for _, tc := range []struct {
		name string
		stop queue.JobID // the child stops when asked to transmit this job
		// before the kill: labels out; after it: states of jobs 1..6
		out  int
		want []queue.State
	}{
		// Killed after the claim of the head, before its mark (the rest of
		// a batch is claimed with it): job 1 goes back to the queue, the
		// others never left it, and all six print once.
		{"before the mark", 1, 0, []queue.State{queue.StatePrinted, queue.StatePrinted, queue.StatePrinted, queue.StatePrinted, queue.StatePrinted, queue.StatePrinted}},
		// Killed mid-batch: jobs 1 and 2 are out (written back to back, not
		// yet confirmed nor recorded) and uncertain, a person decides. 3 and
		// 4 were claimed with the batch, but each is marked only before its
		// own bytes: never sent, they go back to the queue and print, with
		// 5 and 6, once each.
		{"mid-batch", 3, 2, []queue.State{queue.StateUncertain, queue.StateUncertain, queue.StatePrinted, queue.StatePrinted, queue.StatePrinted, queue.StatePrinted}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			emu, addr, path, db := crashSetup(t)
			var ids []queue.JobID
			for i := 1; i <= 6; i++ {
				j, _, err := db.Enqueue(ctx, queue.NewJob{Key: fmt.Sprintf("k%d", i), Source: queue.SourceHTTP, Printer: "z",
					ContentType: queue.ContentZPL, Payload: fmt.Appendf(nil, "^XA^FDjob%d^FS^XZ", i)})
				if err != nil {
					t.Fatal(err)
				}
				ids = append(ids, j.ID)
			}
			if ids[0] != 1 {
				t.Fatalf("first job %s, want j00000001", ids[0])
			}
			if err := db.Close(); err != nil {
				t.Fatal(err)
			}

			killChildAt(ctx, t, []string{batchChildEnv + "=" + path, batchChildEnv + "_ADDR=" + addr,
				batchChildEnv + "_STOP=" + tc.stop.String()}, "stopped at "+tc.stop.String())
			// The labels before the stop job were written in full before the
			// worker asked to transmit it (the ~HS that cleared the stop job
			// may have been asked before the last of them: the worker asks
			// early when another job is at hand), so the emulator gets them
			// all; the stop job's bytes never left.
			if err := emu.WaitLabels(ctx, tc.out); err != nil {
				t.Fatalf("%d labels out before the kill, want %d: %v", len(emu.Labels()), tc.out, err)
			}
			if got := len(emu.Labels()); got != tc.out {
				t.Fatalf("%d labels out before the kill, want %d", got, tc.out)
			}

			db, err := queue.Open(path, nil)
			if err != nil {
				t.Fatal(err)
			}
			defer db.Close()
			for i, id := range ids[:crashBatch] {
				j, err := db.Job(ctx, id)
				if err != nil {
					t.Fatal(err)
				}
				if want := tc.want[i]; want == queue.StateUncertain && j.State != queue.StateUncertain {
					t.Fatalf("job %d after the crash: %s, want uncertain (%+v)", i+1, j.State, j.History)
				} else if want == queue.StatePrinted && j.State != queue.StateQueued {
					t.Fatalf("job %d after the crash: %s, want queued again (%+v)", i+1, j.State, j.History)
				}
			}
			for _, id := range ids[crashBatch:] {
				if j, _ := db.Job(ctx, id); j.State != queue.StateQueued {
					t.Fatalf("job %s outside the batch: %s, want queued", id, j.State)
				}
			}

			// The restarted bench prints what is queued, and nothing else.
			defer startWorker(ctx, t, addr, NewJobSource(db, "z", &JobSourceOptions{Batch: crashBatch}))()
			for i, id := range ids {
				if tc.want[i] == queue.StatePrinted {
					waitJobState(t, db, id, queue.StatePrinted)
				}
			}
			labels := emu.Labels()
			if want := tc.out + countState(tc.want, queue.StatePrinted); len(labels) != want {
				t.Fatalf("%d labels in all, want %d", len(labels), want)
			}
			for i, st := range tc.want {
				n := 0
				for _, l := range labels {
					if bytes.Contains(l, fmt.Appendf(nil, "^FDjob%d^FS", i+1)) {
						n++
					}
				}
				if wantN := map[bool]int{true: 1}[st == queue.StatePrinted || i < tc.out]; n != wantN {
					t.Errorf("job %d printed %d times, want %d", i+1, n, wantN)
				}
				if j, _ := db.Job(ctx, ids[i]); j.State != st {
					t.Errorf("job %d: %s, want %s", i+1, j.State, st)
				}
			}
		})
	}
}

func countState(s []queue.State, want queue.State) int {
	n := 0
	for _, st := range s {
		if st == want {
			n++
		}
	}
	return n
}

// The rest of a batch is claimed in the background while the worker sends
// (prefetch): every job is handed out once, in queue order; a hold gives
// back the held job and every job claimed ahead, those of a claim still
// committing included, so no job is left claimed for a worker that does
// not hold it.
func TestJobSourcePrefetch(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	db := openJobQueue(t)
	var want []queue.JobID
	for i := range 10 {
		want = append(want, enqueueJob(t, db, fmt.Sprintf("k%d", i), "z", queue.ContentZPL, []byte("^XA^XZ")).ID)
	}
	src := NewJobSource(db, "z", &JobSourceOptions{Batch: 4})
	j, err := src.Next(ctx)
	if err != nil {
		t.Fatal(err)
	}
	got := []string{j.ID}
	for {
		j, ok := src.TryNext()
		if !ok {
			break
		}
		got = append(got, j.ID)
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("handed out %v, want %v", got, want)
	}
	for _, id := range want {
		if err := src.Done(ctx, id.String(), device.Result{Outcome: device.Printed}); err != nil {
			t.Fatal(err)
		}
	}

	// Hold right after a pop that started a background claim.
	var second []queue.JobID
	for i := range 10 {
		second = append(second, enqueueJob(t, db, fmt.Sprintf("h%d", i), "z", queue.ContentZPL, []byte("^XA^XZ")).ID)
	}
	head, err := src.Next(ctx) // commits the outcomes, claims second[0]
	if err != nil || head.ID != second[0].String() {
		t.Fatalf("Next = %v, %v; want %s", head.ID, err, second[0])
	}
	j2, ok := src.TryNext()  // claims 4 and waits for them; 3 left: the next claim starts in the background
	j3, ok3 := src.TryNext() // 2 or more left, a claim perhaps still committing
	if !ok || !ok3 || j2.ID != second[1].String() || j3.ID != second[2].String() {
		t.Fatalf("TryNext = %v %v, %v %v; want %s, %s", j2.ID, ok, j3.ID, ok3, second[1], second[2])
	}
	if err := src.Hold(ctx, j3.ID, "paper out"); err != nil {
		t.Fatal(err)
	}
	for i, id := range second {
		jb, err := db.Job(ctx, id)
		if err != nil {
			t.Fatal(err)
		}
		if wantState := map[bool]queue.State{true: queue.StateSending, false: queue.StateQueued}[i < 2]; jb.State != wantState {
			t.Errorf("job %d: %s, want %s (handed out and not held: sending; the rest back in the queue)", i, jb.State, wantState)
		}
	}
	for _, id := range want {
		if jb, _ := db.Job(ctx, id); jb.State != queue.StatePrinted {
			t.Errorf("first round job %s: %s, want printed", id, jb.State)
		}
	}
}
