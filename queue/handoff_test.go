package queue

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"sync"
	"testing"
)

// The commit that queues a job for a printer whose worker waits claims it
// for that worker: the job is sending when the commit returns, its claim
// numbered, and only one job per hand-over is claimed.
func TestHandoffClaimsInTheEnqueueCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "q.db")
	d := openT(t, path, nil)
	h, err := d.Handoff("p")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := d.Handoff("p"); err == nil {
		t.Fatal("a second Handoff for the same printer was accepted")
	}
	var j1, j2 Job
	if err := d.Batch(func(tx *Tx) error {
		var err error
		if j1, _, err = tx.Enqueue(zpl("1", "p")); err != nil {
			return err
		}
		j2, _, err = tx.Enqueue(zpl("2", "p"))
		return err
	}); err != nil {
		t.Fatal(err)
	}
	select {
	case <-h.Ready():
	default:
		t.Fatal("Ready not closed when Batch returned")
	}
	got, ok := h.Stop()
	if !ok || got.ID != j1.ID || got.State != StateSending || got.Claim == 0 || string(got.Payload) != string(zpl("1", "p").Payload) {
		t.Fatalf("handed over %+v, %v; want %s sending with a claim and its payload", got, ok, j1.ID)
	}
	if s, _ := d.Job(ctx, j1.ID); s.State != StateSending || s.Claim != got.Claim {
		t.Fatalf("stored %s claim %d, want sending claim %d", s.State, s.Claim, got.Claim)
	}
	if s, _ := d.Job(ctx, j2.ID); s.State != StateQueued {
		t.Fatalf("second job %s, want queued: one job per hand-over", s.State)
	}
	// A new handoff after the first ended works again.
	h2, err := d.Handoff("p")
	if err != nil {
		t.Fatalf("Handoff after Stop: %v", err)
	}
	if _, ok := h2.Stop(); ok {
		t.Fatal("Stop handed over a job nobody queued after the handoff began")
	}
	d.Close()

	// The claim is an ordinary unmarked one: the job never went out.
	d = openT(t, path, nil)
	if req := d.Requeued(); !slices.Equal(req, []JobID{j1.ID}) {
		t.Fatalf("Requeued = %v, want [%s]", req, j1.ID)
	}
}

// Nothing is handed over by a transaction that rolls back, nor after Stop,
// nor for another printer.
func TestHandoffOnlyOnCommit(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := openT(t, filepath.Join(t.TempDir(), "q.db"), nil)
	h, err := d.Handoff("p")
	if err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if err := d.Batch(func(tx *Tx) error {
		if _, _, err := tx.Enqueue(zpl("rolled-back", "p")); err != nil {
			return err
		}
		return boom
	}); !errors.Is(err, boom) {
		t.Fatalf("Batch = %v, want boom", err)
	}
	mustEnqueue(t, d, zpl("other printer", "q"))
	select {
	case <-h.Ready():
		t.Fatal("a job was handed over by a rolled-back transaction or for another printer")
	default:
	}
	j := mustEnqueue(t, d, zpl("committed", "p"))
	if got, ok := h.Stop(); !ok || got.ID != j.ID {
		t.Fatalf("Stop = %v, %v; want %s", got.ID, ok, j.ID)
	}

	h, _ = d.Handoff("p")
	h.Stop()
	late := mustEnqueue(t, d, zpl("after stop", "p"))
	if s, _ := d.Job(ctx, late.ID); s.State != StateQueued {
		t.Fatalf("job queued after Stop is %s, want queued", s.State)
	}
}

// Workers that take jobs by hand-over and by claim, while many producers
// commit, get every job exactly once and leave none claimed for nobody.
func TestHandoffUnderConcurrentCommits(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := openT(t, filepath.Join(t.TempDir(), "q.db"), nil)
	const producers, perProducer = 8, 40
	total := producers * perProducer
	var got sync.Map
	dup := make(chan JobID, total)
	take := func(j Job) {
		if _, loaded := got.LoadOrStore(j.ID, true); loaded {
			dup <- j.ID
		}
		if _, err := d.SetState(ctx, j.ID, StatePrinted, ""); err != nil {
			t.Error(err)
		}
	}
	workerDone := make(chan int)
	go func() {
		n := 0
		for n < total {
			ch := d.Wait("p")
			if j, err := d.ClaimUnsent(ctx, "p"); err == nil {
				take(j)
				n++
				continue
			}
			h, err := d.Handoff("p")
			if err != nil {
				t.Error(err)
				break
			}
			select {
			case <-h.Ready():
			case <-ch:
			}
			if j, ok := h.Stop(); ok {
				take(j)
				n++
			}
		}
		workerDone <- n
	}()
	var wg sync.WaitGroup
	for p := range producers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range perProducer {
				if _, _, err := d.Enqueue(ctx, zpl(fmt.Sprintf("%d-%d", p, i), "p")); err != nil {
					t.Error(err)
				}
			}
		}()
	}
	wg.Wait()
	if n := <-workerDone; n != total {
		t.Fatalf("worker took %d jobs, want %d", n, total)
	}
	close(dup)
	for id := range dup {
		t.Errorf("job %s taken twice", id)
	}
	counts, _ := d.Counts(ctx)
	if counts[StatePrinted] != total || counts[StateSending] != 0 || counts[StateQueued] != 0 {
		t.Fatalf("counts %v, want all %d printed and none left sending or queued", counts, total)
	}
}

// Coming tells an idle worker that a transaction claimed a job for it (it
// is closed before that commit's fsync; here seen after it), and stays
// open when nothing was claimed for it.
func TestHandoffComing(t *testing.T) {
	t.Parallel()
	d := openT(t, filepath.Join(t.TempDir(), "q.db"), nil)
	h, err := d.Handoff("p")
	if err != nil {
		t.Fatal(err)
	}
	mustEnqueue(t, d, zpl("other printer", "q"))
	select {
	case <-h.Coming():
		t.Fatal("Coming closed by a job for another printer")
	default:
	}
	mustEnqueue(t, d, zpl("mine", "p"))
	select {
	case <-h.Coming():
	default:
		t.Fatal("Coming not closed after a job was claimed for the worker")
	}
	if _, ok := h.Stop(); !ok {
		t.Fatal("no job handed over")
	}
}
