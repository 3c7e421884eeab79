package queue

import (
	"context"
	"errors"
	"path/filepath"
	"strings"
	"testing"
)

// The count of copies sent is on disk: it survives a reopen, a job found
// sending says "k of n copies sent", a Retry keeps a partial count (only the
// rest print) and resets a full one, and the count only grows while sending.
func TestCopiesSentPersistAndRecover(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "q.db")
	d := openT(t, path, nil)
	nj := zpl("three", "p")
	nj.Copies = 3
	j := mustEnqueue(t, d, nj)
	if _, err := d.CopySent(ctx, j.ID, 1); !errors.Is(err, ErrInvalidTransition) {
		t.Fatalf("copy sent while queued: %v, want ErrInvalidTransition", err)
	}
	if _, err := d.Claim(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	for _, k := range []int{1, 2} {
		if got, err := d.CopySent(ctx, j.ID, k); err != nil || got.CopiesSent != k {
			t.Fatalf("copy sent %d: %+v, %v", k, got.CopiesSent, err)
		}
	}
	for _, k := range []int{1, 4} {
		if _, err := d.CopySent(ctx, j.ID, k); !errors.Is(err, ErrInvalid) {
			t.Fatalf("copy sent %d after 2 of 3: %v, want ErrInvalid", k, err)
		}
	}
	got, _ := d.Job(ctx, j.ID)
	if len(got.History) != 2 {
		t.Fatalf("history %+v: counting copies is not a state change", got.History)
	}
	d.Close() // the power went after copy 2

	d = openT(t, path, nil)
	got, _ = d.Job(ctx, j.ID)
	if got.State != StateUncertain || got.CopiesSent != 2 || !strings.Contains(got.LastError, "2 of 3 copies sent") {
		t.Fatalf("recovered: %s, %d sent, %q; want uncertain, 2 of 3 copies sent", got.State, got.CopiesSent, got.LastError)
	}
	if h := got.History[len(got.History)-1]; !strings.Contains(h.Reason, "2 of 3 copies sent") {
		t.Fatalf("recovery history %+v", h)
	}
	if got, err := d.Retry(ctx, j.ID, ""); err != nil || got.CopiesSent != 2 {
		t.Fatalf("retry of a half-sent job: %d sent, %v; want the count kept", got.CopiesSent, err)
	}
	c, err := d.Claim(ctx, "p")
	if err != nil || c.CopiesSent != 2 {
		t.Fatalf("claim after retry: %d sent, %v", c.CopiesSent, err)
	}
	if _, err := d.CopySent(ctx, j.ID, 3); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SetState(ctx, j.ID, StateSent, "not confirmed"); err != nil {
		t.Fatal(err)
	}
	// Every copy went out: retrying means printing the job again.
	if got, err := d.Retry(ctx, j.ID, "no label came out"); err != nil || got.CopiesSent != 0 {
		t.Fatalf("retry of a fully sent job: %d sent, %v; want 0", got.CopiesSent, err)
	}
}
