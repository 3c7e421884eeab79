package queue

import (
	"errors"
	"fmt"
	"path/filepath"
	"sync"
	"testing"
)

// Concurrent Batch callers each get their own outcome: the failing one
// alone is rolled back (bbolt reruns the others), every nil return is on
// disk after a reopen, and a function that ran more than once left its
// results only once (each run takes a counter value and writes it).
func TestBatchConcurrentCallers(t *testing.T) {
	path := filepath.Join(t.TempDir(), "packbench.db")
	db, err := Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	const callers = 32
	errBad := errors.New("refused")
	got := make([]uint64, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			errs[i] = db.Batch(func(tx *Tx) error {
				n, err := tx.NextCounter("batch")
				if err != nil {
					return err
				}
				if err := tx.PutRecord("batch", fmt.Sprintf("k%02d", i), []byte(fmt.Sprint(n))); err != nil {
					return err
				}
				if i == 7 {
					return errBad
				}
				got[i] = n // set, not accumulated: a rerun overwrites it
				return nil
			})
		})
	}
	wg.Wait()
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db, err = Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	seen := map[uint64]bool{}
	err = db.View(func(tx *Tx) error {
		if n := tx.Counter("batch"); n != callers-1 {
			t.Errorf("counter %d after reopen, want %d: one value per caller that succeeded", n, callers-1)
		}
		for i := range callers {
			v, err := tx.GetRecord("batch", fmt.Sprintf("k%02d", i))
			if i == 7 {
				if !errors.Is(errs[i], errBad) || !errors.Is(err, ErrNotFound) {
					t.Errorf("failing caller: %v, record %v; want its error and nothing written", errs[i], err)
				}
				continue
			}
			if errs[i] != nil || err != nil {
				t.Fatalf("caller %d: %v, record %v", i, errs[i], err)
			}
			if string(v) != fmt.Sprint(got[i]) || seen[got[i]] {
				t.Errorf("caller %d: record %s, returned %d (seen before: %v)", i, v, got[i], seen[got[i]])
			}
			seen[got[i]] = true
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
