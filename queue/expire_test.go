package queue

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestExpireRecords: entries dated at or before the cutoff are handed to
// expire and deleted, across more entries than one transaction takes;
// later ones stay, and the deletion is on disk (reopened file).
func TestExpireRecords(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "q.db")
	d := openT(t, path, nil)
	base := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	const total, old = 450, 430 // old: more than two batches
	err := d.Update(func(tx *Tx) error {
		for i := range total {
			name := fmt.Sprintf("n/%03d", i) // a name may hold "/"
			if err := tx.PutRecord("things", name, []byte("x")); err != nil {
				return err
			}
			if err := tx.PutRecord("things-time", TimeKey(base.Add(time.Duration(i)*time.Second), name), nil); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	var seen []string
	cutoff := base.Add((old - 1) * time.Second) // entry old-1 is exactly at the cutoff: expired
	n, err := d.ExpireRecords(ctx, "things-time", cutoff, func(tx *Tx, name string) (bool, error) {
		seen = append(seen, name)
		return name != "n/000", tx.DeleteRecord("things", name) // n/000 "was taken again": not counted
	})
	if err != nil || n != old-1 || len(seen) != old {
		t.Fatalf("ExpireRecords = %d, %v, %d names; want %d, nil, %d", n, err, len(seen), old-1, old)
	}
	for i, name := range seen {
		if want := fmt.Sprintf("n/%03d", i); name != want {
			t.Fatalf("name %d = %q, want %q (oldest first)", i, name, want)
		}
	}
	d.Close()
	d = openT(t, path, nil)
	for _, kind := range []string{"things", "things-time"} {
		recs, err := d.ListRecords(ctx, kind, RecordPage{})
		if err != nil || len(recs) != total-old {
			t.Fatalf("%s after reopen: %d records, %v; want %d", kind, len(recs), err, total-old)
		}
	}
	if n, err := d.ExpireRecords(ctx, "things-time", cutoff, nil); err != nil || n != 0 {
		t.Fatalf("second pass = %d, %v", n, err)
	}
}

// TestExpireRecordsErrors: a failing expire rolls its transaction back,
// a malformed key is named, and a cancelled context stops the walk.
func TestExpireRecordsErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	d := openT(t, filepath.Join(t.TempDir(), "q.db"), nil)
	at := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	if err := d.PutRecord(ctx, "t-time", TimeKey(at, "a"), nil); err != nil {
		t.Fatal(err)
	}
	boom := errors.New("boom")
	if _, err := d.ExpireRecords(ctx, "t-time", at, func(*Tx, string) (bool, error) { return false, boom }); !errors.Is(err, boom) {
		t.Fatalf("err = %v, want boom", err)
	}
	if recs, _ := d.ListRecords(ctx, "t-time", RecordPage{}); len(recs) != 1 {
		t.Fatalf("a failed expire deleted its entry: %d left", len(recs))
	}
	cancelled, cancel := context.WithCancel(ctx)
	cancel()
	if _, err := d.ExpireRecords(cancelled, "t-time", at, func(*Tx, string) (bool, error) { return true, nil }); !errors.Is(err, context.Canceled) {
		t.Fatalf("cancelled: %v", err)
	}
	if err := d.PutRecord(ctx, "t-time", "no-time", nil); err != nil {
		t.Fatal(err)
	}
	_, err := d.ExpireRecords(ctx, "t-time", at.Add(time.Hour), func(*Tx, string) (bool, error) { return true, nil })
	if err == nil || !strings.Contains(err.Error(), `"no-time": not a time index key`) {
		t.Fatalf("malformed key: %v", err)
	}
}
