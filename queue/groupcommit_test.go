package queue

import (
	"fmt"
	"path/filepath"
	"runtime"
	"sync"
	"testing"
)

// Calls that arrive while a commit runs wait for it and then share one
// commit (one bbolt transaction) among themselves; nobody waits on a timer,
// and each nil return is on disk after a reopen.
func TestGroupCommitSharesTheNextCommit(t *testing.T) {
	t.Parallel()
	path := filepath.Join(t.TempDir(), "packbench.db")
	db, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	const waiting = 10
	inside := make(chan struct{}, 1)
	release := make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- db.Batch(func(tx *Tx) error {
			if err := tx.PutRecord("group", "first", []byte("x")); err != nil {
				return err
			}
			select {
			case inside <- struct{}{}: // the first run only
			default:
			}
			<-release
			return nil
		})
	}()
	<-inside
	var wg sync.WaitGroup
	txids := make([]int, waiting)
	errs := make([]error, waiting)
	for i := range waiting {
		wg.Go(func() {
			errs[i] = db.Batch(func(tx *Tx) error {
				txids[i] = tx.btx.ID()
				return tx.PutRecord("group", fmt.Sprintf("k%d", i), []byte("x"))
			})
		})
	}
	// Every one of them is pending behind the running commit.
	for {
		db.group.mu.Lock()
		n := len(db.group.pending)
		db.group.mu.Unlock()
		if n == waiting {
			break
		}
		runtime.Gosched() // a condition wait: the callers are on their way
	}
	close(release)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for i, err := range errs {
		if err != nil {
			t.Fatalf("caller %d: %v", i, err)
		}
		if txids[i] != txids[0] {
			t.Errorf("caller %d committed in transaction %d, caller 0 in %d: want one shared commit", i, txids[i], txids[0])
		}
	}
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	err = db.View(func(tx *Tx) error {
		for i := range waiting {
			if _, err := tx.GetRecord("group", fmt.Sprintf("k%d", i)); err != nil {
				return fmt.Errorf("k%d after reopen: %w", i, err)
			}
		}
		_, err := tx.GetRecord("group", "first")
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// An urgent call (BatchUrgent) that arrives behind waiting Batch calls is
// committed before them, in a commit of its own, and the waiting calls
// then share the next one; all are on disk.
func TestGroupCommitUrgentGoesFirst(t *testing.T) {
	t.Parallel()
	db, err := Open(filepath.Join(t.TempDir(), "packbench.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	inside := make(chan struct{}, 1)
	release := make(chan struct{})
	first := make(chan error, 1)
	go func() {
		first <- db.Batch(func(tx *Tx) error {
			select {
			case inside <- struct{}{}:
			default:
			}
			<-release
			return tx.PutRecord("group", "first", []byte("x"))
		})
	}()
	<-inside
	pendingAre := func(n int) {
		for {
			db.group.mu.Lock()
			got := len(db.group.pending)
			db.group.mu.Unlock()
			if got == n {
				return
			}
			runtime.Gosched() // a condition wait: the callers are on their way
		}
	}
	const normal = 5
	var wg sync.WaitGroup
	txids := make([]int, normal)
	for i := range normal {
		wg.Go(func() {
			if err := db.Batch(func(tx *Tx) error {
				txids[i] = tx.btx.ID()
				return tx.PutRecord("group", fmt.Sprintf("n%d", i), []byte("x"))
			}); err != nil {
				t.Error(err)
			}
		})
	}
	pendingAre(normal)
	var urgentTx int
	wg.Go(func() {
		if err := db.BatchUrgent(func(tx *Tx) error {
			urgentTx = tx.btx.ID()
			return tx.PutRecord("group", "urgent", []byte("x"))
		}); err != nil {
			t.Error(err)
		}
	})
	pendingAre(normal + 1)
	close(release)
	wg.Wait()
	if err := <-first; err != nil {
		t.Fatal(err)
	}
	for i, id := range txids {
		if id <= urgentTx {
			t.Errorf("waiting call %d committed in transaction %d, the urgent one in %d: want the urgent one first", i, id, urgentTx)
		}
		if id != txids[0] {
			t.Errorf("waiting call %d in transaction %d, call 0 in %d: want one shared commit", i, id, txids[0])
		}
	}
	err = db.View(func(tx *Tx) error {
		for _, k := range []string{"first", "urgent", "n0", "n4"} {
			if _, err := tx.GetRecord("group", k); err != nil {
				return fmt.Errorf("%s: %w", k, err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
