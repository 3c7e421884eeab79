package queue

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"
)

// deadlockGuard bounds a wait that only a stalled queue would exceed; it is
// a hang detector, never a measure of speed.
const deadlockGuard = 60 * time.Second

// seedFinished writes n printed jobs with 2 KB payloads (the copy then has
// real work) and one queued job on printer "seed".
func seedFinished(t testing.TB, d *DB, n int) {
	t.Helper()
	payload := bytes.Repeat([]byte("^FD0123456789^FS"), 128)
	err := d.Update(func(tx *Tx) error {
		for i := range n {
			nj := zpl(fmt.Sprintf("seed-%d", i), "seed")
			nj.Payload = payload
			j, _, err := tx.Enqueue(nj)
			if err != nil {
				return err
			}
			if _, err := tx.claim("seed"); err != nil {
				return err
			}
			if _, err := tx.SetState(j.ID, StatePrinted, ""); err != nil {
				return err
			}
		}
		_, _, err := tx.Enqueue(zpl("seed-queued", "seed"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// probeOpen tries to open path as a second opener (the CLI) would, without
// waiting: it must find the file locked.
func probeOpen(path string) error {
	d, err := Open(path, &Options{Timeout: time.Nanosecond})
	if err == nil {
		d.Close()
		return fmt.Errorf("a second Open of %s succeeded", path)
	}
	if !errors.Is(err, ErrLocked) {
		return fmt.Errorf("second Open: %v, want ErrLocked", err)
	}
	return nil
}

// probeFlock tries bbolt's own lock on the file at path with LOCK_NB. A
// lock won on an inode that is no longer at path (the file a compaction
// just replaced) does not count: nobody can reach that file any more.
func probeFlock(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	err = syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
	if errors.Is(err, syscall.EWOULDBLOCK) {
		return nil
	}
	if err != nil {
		return err
	}
	held, _ := f.Stat()
	now, serr := os.Stat(path)
	if serr == nil && os.SameFile(held, now) {
		return fmt.Errorf("flock(LOCK_NB) on %s succeeded: the file lock was released", path)
	}
	return nil
}

// TestCompactWhileLabelsPrint compacts again and again while producers
// enqueue and two printers claim and finish jobs. Each compaction's copy
// waits (its "copied" hook) until ten more labels were printed, which
// only a queue that keeps working during the copy can do; the file stays
// locked against a second opener at every moment; every job is printed
// exactly once, and the reopened file shows them all.
func TestCompactWhileLabelsPrint(t *testing.T) {
	const (
		producers   = 3
		perProducer = 40
		total       = producers * perProducer
		minCompacts = 3
	)
	path := filepath.Join(t.TempDir(), "q.db")
	ctx := context.Background()

	var (
		printed   = make(chan JobID, total)
		allDone   = make(chan struct{})
		nPrinted  atomic.Int32
		stopProbe = make(chan struct{})
		hookErrs  = make(chan error, 100)
	)
	waitPrinted := func(n int) error {
		guard := time.NewTimer(deadlockGuard)
		defer guard.Stop()
		for range n {
			select {
			case <-printed:
			case <-allDone:
				return nil
			case <-guard.C:
				return errors.New("no label printed while the compaction copied: the queue stalled")
			}
		}
		return nil
	}
	hook := func(step string) error {
		for _, probe := range []func(string) error{probeOpen, probeFlock} {
			if err := probe(path); err != nil {
				hookErrs <- fmt.Errorf("at %s: %w", step, err)
			}
		}
		if step == "copied" {
			if err := waitPrinted(10); err != nil {
				hookErrs <- err
				return err
			}
		}
		return nil
	}
	d := openT(t, path, &Options{CompactHook: hook})
	seedFinished(t, d, 300)

	// Someone else (the CLI) tries the file all the time.
	var probes sync.WaitGroup
	var probeErr atomic.Pointer[error]
	probes.Go(func() {
		for {
			select {
			case <-stopProbe:
				return
			default:
			}
			for _, probe := range []func(string) error{probeOpen, probeFlock} {
				if err := probe(path); err != nil {
					probeErr.CompareAndSwap(nil, &err)
				}
			}
		}
	})

	var (
		work    sync.WaitGroup
		mu      sync.Mutex
		claims  = map[JobID]int{}
		keyToID = map[string]JobID{}
		errs    = make(chan error, 100)
	)
	for g := range producers {
		work.Go(func() {
			for i := range perProducer {
				nj := zpl(fmt.Sprintf("g%d-%d", g, i), []string{"p1", "p2"}[(g+i)%2])
				j, created, err := d.Enqueue(ctx, nj)
				if err != nil || !created {
					errs <- fmt.Errorf("enqueue %s: created %v, %v", nj.Key, created, err)
					return
				}
				mu.Lock()
				keyToID[nj.Key] = j.ID
				mu.Unlock()
			}
		})
	}
	for _, p := range []string{"p1", "p2"} {
		work.Go(func() {
			for {
				ch := d.Wait(p)
				j, err := d.Claim(ctx, p)
				if errors.Is(err, ErrEmpty) {
					select {
					case <-ch:
						continue
					case <-allDone:
						return
					}
				}
				if err != nil {
					errs <- fmt.Errorf("claim %s: %w", p, err)
					return
				}
				mu.Lock()
				claims[j.ID]++
				mu.Unlock()
				if _, err := d.SetState(ctx, j.ID, StatePrinted, "ok"); err != nil {
					errs <- fmt.Errorf("printed %s: %w", j.ID, err)
					return
				}
				printed <- j.ID
				if nPrinted.Add(1) == total {
					close(allDone)
				}
			}
		})
	}

	compacts := 0
	for {
		select {
		case <-allDone:
		default:
			if err := d.Compact(ctx); err != nil {
				t.Fatalf("compaction %d: %v", compacts+1, err)
			}
			compacts++
			continue
		}
		break
	}
	work.Wait()
	close(stopProbe)
	probes.Wait()
	close(errs)
	close(hookErrs)
	for err := range errs {
		t.Error(err)
	}
	for err := range hookErrs {
		t.Error(err)
	}
	if p := probeErr.Load(); p != nil {
		t.Errorf("while compacting: %v", *p)
	}
	if compacts < minCompacts {
		// Each compaction waits for 10 labels, so 120 labels give ~12.
		t.Fatalf("only %d compactions ran during the work", compacts)
	}
	if t.Failed() {
		return
	}

	check := func(d *DB, when string) {
		t.Helper()
		for key, id := range keyToID {
			j, err := d.Job(ctx, id)
			if err != nil || j.Key != key || j.State != StatePrinted {
				t.Fatalf("%s: job %s (%s) = %+v, %v; want printed", when, id, key, j.State, err)
			}
		}
		counts, err := d.Counts(ctx)
		if err != nil {
			t.Fatal(err)
		}
		if counts[StatePrinted] != 300+total || counts[StateQueued] != 1 || counts[StateSending] != 0 {
			t.Fatalf("%s: counts = %v, want %d printed and the 1 seed queued", when, counts, 300+total)
		}
	}
	if len(keyToID) != total || len(claims) != total {
		t.Fatalf("%d jobs enqueued, %d claimed; want %d", len(keyToID), len(claims), total)
	}
	for id, n := range claims {
		if n != 1 {
			t.Fatalf("job %s claimed %d times", id, n)
		}
	}
	check(d, "after the compactions")
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d = openT(t, path, nil)
	check(d, "reopened")
	if rec := d.Recovered(); len(rec) != 0 {
		t.Fatalf("reopen recovered %v", rec)
	}
	t.Logf("%d compactions during %d labels", compacts, total)
}

// dump is every bucket, sequence, key and value of the file, as text.
func dump(t testing.TB, d *DB) []string {
	t.Helper()
	var out []string
	var walk func(prefix string, b *bolt.Bucket) error
	walk = func(prefix string, b *bolt.Bucket) error {
		out = append(out, fmt.Sprintf("%s seq=%d", prefix, b.Sequence()))
		return b.ForEach(func(k, v []byte) error {
			if v == nil {
				if nb := b.Bucket(k); nb != nil {
					return walk(prefix+"/"+string(k), nb)
				}
			}
			out = append(out, fmt.Sprintf("%s/%q=%q", prefix, k, v))
			return nil
		})
	}
	err := d.View(func(tx *Tx) error {
		return tx.btx.ForEach(func(name []byte, b *bolt.Bucket) error { return walk(string(name), b) })
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// TestCompactCatchesUpWrites writes every kind of change after the
// compaction's snapshot (new jobs on a new printer, state changes, records
// put and deleted, counters, consumers and their cursors, events deleted
// by housekeeping) and checks that the compacted file holds exactly what
// the live file held, bucket by bucket, sequences included, then and after
// a reopen.
func TestCompactCatchesUpWrites(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	ctx := context.Background()
	clk := newClock()
	var d *DB
	var want []string
	hook := func(step string) error {
		if step != "copied" {
			return nil
		}
		steps := []func() error{
			func() error { _, _, err := d.Enqueue(ctx, zpl("new-printer", "p9")); return err },
			func() error {
				j, err := d.Claim(ctx, "seed")
				if err == nil {
					_, err = d.SetState(ctx, j.ID, StatePrinted, "")
				}
				return err
			},
			func() error { return d.PutRecord(ctx, KindOrders, "o-2", []byte("two")) },
			func() error { return d.DeleteRecord(ctx, KindOrders, "o-1") },
			func() error { return d.PutRecord(ctx, "newkind", "k", []byte("v")) },
			func() error {
				return d.Update(func(tx *Tx) error { _, err := tx.NextCounter("tracking"); return err })
			},
			func() error { return d.AddConsumer(ctx, "late") },
			func() error {
				last, err := d.LastEventID(ctx)
				if err != nil {
					return err
				}
				return d.Ack(ctx, "c", last)
			},
			func() error {
				clk.Advance(2 * time.Hour)
				_, err := d.deleteFinishedJobs()
				return err
			},
			func() error { _, _, err := d.deleteEvents(); return err },
		}
		for i, step := range steps {
			if err := step(); err != nil {
				return fmt.Errorf("write %d after the snapshot: %w", i, err)
			}
		}
		want = dump(t, d)
		return nil
	}
	o := &Options{Clock: clk, Retention: time.Hour, Consumers: []string{"c"}, CompactHook: hook}
	d = openT(t, path, o)
	seedFinished(t, d, 500)
	if err := d.PutRecord(ctx, KindOrders, "o-1", []byte("one")); err != nil {
		t.Fatal(err)
	}
	before := dump(t, d)
	if err := d.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	if slices.Equal(before, want) {
		t.Fatal("the writes after the snapshot changed nothing: the test tests nothing")
	}
	if got := dump(t, d); !slices.Equal(got, want) {
		t.Fatalf("compacted file differs from the live one:\n%s", diffLines(want, got))
	}
	d.Close()
	o.CompactHook = nil
	d = openT(t, path, o)
	if got := dump(t, d); !slices.Equal(got, want) {
		t.Fatalf("reopened compacted file differs:\n%s", diffLines(want, got))
	}
	if j, err := d.Claim(ctx, "p9"); err != nil || j.Key != "new-printer" {
		t.Fatalf("job enqueued during the copy: %+v, %v", j, err)
	}
}

func diffLines(want, got []string) string {
	var b strings.Builder
	w := map[string]bool{}
	for _, s := range want {
		w[s] = true
	}
	g := map[string]bool{}
	for _, s := range got {
		g[s] = true
		if !w[s] {
			fmt.Fprintf(&b, "+ %s\n", s)
		}
	}
	for _, s := range want {
		if !g[s] {
			fmt.Fprintf(&b, "- %s\n", s)
		}
	}
	return b.String()
}

// TestCompactSwapFailureBreaksDB: when the directory cannot be synced
// after the rename, the DB reports a fatal error (Fatal, Err), refuses
// every call with ErrBroken instead of running on a nil file, wakes its
// waiters, keeps the file locked until Close, and the file reopens whole.
func TestCompactSwapFailureBreaksDB(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	ctx := context.Background()
	injected := errors.New("injected: input/output error")
	d := openT(t, path, &Options{CompactHook: func(step string) error {
		if step == "renamed" {
			return injected
		}
		return nil
	}})
	seedFinished(t, d, 100)
	j := mustEnqueue(t, d, zpl("before", "p"))
	wait := d.Wait("p2")
	select {
	case <-d.Fatal():
		t.Fatal("Fatal closed before anything failed")
	default:
	}
	err := d.Compact(ctx)
	if !errors.Is(err, injected) {
		t.Fatalf("Compact = %v, want the injected error", err)
	}
	select {
	case <-d.Fatal():
	default:
		t.Fatal("Fatal not closed after the swap failed")
	}
	if ferr := d.Err(); !errors.Is(ferr, injected) || !strings.Contains(ferr.Error(), "compaction") || !strings.Contains(ferr.Error(), path) {
		t.Fatalf("Err = %v, want the injected error, naming the compaction and the file", ferr)
	}
	if _, _, err := d.Enqueue(ctx, zpl("after", "p")); !errors.Is(err, ErrBroken) || !errors.Is(err, injected) {
		t.Fatalf("Enqueue on a broken DB = %v, want ErrBroken with the cause", err)
	}
	if _, err := d.Claim(ctx, "p"); !errors.Is(err, ErrBroken) {
		t.Fatalf("Claim on a broken DB = %v, want ErrBroken", err)
	}
	select {
	case <-wait:
	default:
		t.Fatal("a waiter was not woken when the DB broke")
	}
	if err := probeOpen(path); err != nil {
		t.Fatalf("broken DB before Close: %v", err)
	}
	if err := d.Close(); err != nil {
		t.Fatalf("Close of a broken DB: %v", err)
	}
	if err := d.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close = %v, want ErrClosed", err)
	}
	d = openT(t, path, nil)
	if got, err := d.Job(ctx, j.ID); err != nil || got.Key != "before" {
		t.Fatalf("job after reopen = %+v, %v", got, err)
	}
	if c, _ := d.Counts(ctx); c[StatePrinted] != 100 || c[StateQueued] != 2 {
		t.Fatalf("counts after reopen = %v", c)
	}
}

// TestCompactAbandonedKeepsDB: a compaction that fails before the swap
// (here its "copied" step) or finds the DB closed leaves the DB working
// and no copy behind.
func TestCompactAbandonedKeepsDB(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "q.db")
	ctx := context.Background()
	injected := errors.New("injected copy failure")
	var d *DB
	closeInHook := false
	d = openT(t, path, &Options{CompactHook: func(step string) error {
		if step != "copied" {
			return nil
		}
		if closeInHook {
			return d.Close()
		}
		return injected
	}})
	seedFinished(t, d, 100)
	if err := d.Compact(ctx); !errors.Is(err, injected) {
		t.Fatalf("Compact = %v, want the injected error", err)
	}
	select {
	case <-d.Fatal():
		t.Fatal("a failed copy broke the DB")
	default:
	}
	mustEnqueue(t, d, zpl("after-failed-copy", "p"))
	if _, err := os.Stat(path + ".compact"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("copy left behind: %v", err)
	}
	// Closed while copying: the copy is dropped, Close wins.
	closeInHook = true
	if err := d.Compact(ctx); !errors.Is(err, ErrClosed) {
		t.Fatalf("Compact across Close = %v, want ErrClosed", err)
	}
	if _, err := os.Stat(path + ".compact"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("copy left behind after Close: %v", err)
	}
	d = openT(t, path, nil)
	if c, _ := d.Counts(ctx); c[StateQueued] != 2 {
		t.Fatalf("counts after reopen = %v", c)
	}
}

// cancelAfter is a context whose Err turns Canceled after n calls: the
// copy checks it as it goes, so it ends part way through.
type cancelAfter struct {
	context.Context
	n atomic.Int32
}

func (c *cancelAfter) Err() error {
	if c.n.Add(-1) < 0 {
		return context.Canceled
	}
	return nil
}

// TestCompactStopsWhenCancelled: a context that ends during the copy stops
// it; the DB keeps working and no copy is left.
func TestCompactStopsWhenCancelled(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	d := openT(t, path, nil)
	seedFinished(t, d, 300)
	ctx := &cancelAfter{Context: context.Background()}
	ctx.n.Store(2) // Compact's own check and the copy's first
	if err := d.Compact(ctx); !errors.Is(err, context.Canceled) {
		t.Fatalf("Compact = %v, want context.Canceled", err)
	}
	if ctx.n.Load() >= 0 {
		t.Fatal("the copy never checked the context")
	}
	if _, err := os.Stat(path + ".compact"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("copy left behind: %v", err)
	}
	mustEnqueue(t, d, zpl("after-cancel", "p"))
}

// TestCompactGivesUpOnTooManyChanges: a copy during which more keys
// changed than the catch-up may copy is dropped (memory and the write
// lock stay bounded); the DB keeps every write and goes on.
func TestCompactGivesUpOnTooManyChanges(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	ctx := context.Background()
	var d *DB
	d = openT(t, path, &Options{CompactHook: func(step string) error {
		if step != "copied" {
			return nil
		}
		return d.Update(func(tx *Tx) error {
			for i := range maxChanges + 1 {
				if err := tx.PutRecord("bulk", fmt.Sprintf("k%06d", i), []byte("v")); err != nil {
					return err
				}
			}
			return nil
		})
	}})
	seedFinished(t, d, 10)
	err := d.Compact(ctx)
	if err == nil || !strings.Contains(err.Error(), "changed during the copy") {
		t.Fatalf("Compact = %v, want it given up for too many changes", err)
	}
	select {
	case <-d.Fatal():
		t.Fatal("giving up broke the DB")
	default:
	}
	if _, err := os.Stat(path + ".compact"); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("copy left behind: %v", err)
	}
	d.Close()
	d = openT(t, path, nil)
	if v, err := d.GetRecord(ctx, "bulk", fmt.Sprintf("k%06d", maxChanges)); err != nil || string(v) != "v" {
		t.Fatalf("last bulk record after reopen = %q, %v", v, err)
	}
}
