package queue

import (
	"context"
	"path/filepath"
	"testing"
)

// A job printed after a failed try drops its "last error" (the reason
// stays in its history), also after the file is reopened (issue 19).
func TestPrintedDropsStaleLastError(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "q.db")
	d := openT(t, path, &Options{Clock: newClock()})
	j := mustEnqueue(t, d, zpl("k1", "p"))
	if _, err := d.Claim(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	if got, err := d.Requeue(ctx, j.ID, "paper out"); err != nil || got.LastError != "paper out" {
		t.Fatalf("requeue: %v %q", err, got.LastError)
	}
	if _, err := d.Claim(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SetState(ctx, j.ID, StatePrinted, "confirmed"); err != nil {
		t.Fatal(err)
	}
	d.Close()
	d = openT(t, path, &Options{Clock: newClock()})
	got, err := d.Job(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	if got.LastError != "" {
		t.Errorf("printed job keeps last error %q", got.LastError)
	}
	found := false
	for _, h := range got.History {
		found = found || h.Reason == "paper out"
	}
	if !found {
		t.Errorf("the reason left the history: %+v", got.History)
	}
}
