package queue

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// A job claimed with ClaimUnsent and never marked Transmitting is found in
// sending by Open and put back at the front of its queue ("never sent"),
// however often that happens; once Transmitting is committed it is
// recovered as uncertain, as a plain Claim is.
func TestUnsentClaimIsQueuedAgainOnOpen(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "q.db")
	d := openT(t, path, &Options{Consumers: []string{"hooks"}})
	j1 := mustEnqueue(t, d, zpl("1", "p"))
	j2 := mustEnqueue(t, d, zpl("2", "p"))
	j3 := mustEnqueue(t, d, zpl("3", "q"))
	if _, err := d.Transmitting(ctx, j1.ID); !errors.Is(err, ErrInvalidTransition) {
		t.Fatalf("transmitting a queued job: %v, want ErrInvalidTransition", err)
	}
	c, err := d.ClaimUnsent(ctx, "p")
	// Claim, not Unsent: an older packbench (a rollback) knows only
	// Unsent, and must take a job of this version found sending for
	// uncertain, never for unsent.
	if err != nil || c.ID != j1.ID || c.Claim == 0 || c.Unsent || c.State != StateSending {
		t.Fatalf("ClaimUnsent = %+v, %v; want %s sending with a claim number and Unsent false", c, err, j1.ID)
	}
	if c, err := d.ClaimUnsent(ctx, "q"); err != nil || c.ID != j3.ID {
		t.Fatalf("ClaimUnsent q = %v, %v", c.ID, err)
	}
	for range 2 { // the second call changes nothing
		if got, err := d.Transmitting(ctx, j3.ID); err != nil || got.Unsent {
			t.Fatalf("transmitting: %+v, %v", got, err)
		}
	}
	d.Close() // the power went: j1 claimed but the printer out of paper, j3 being written

	// Five crashes in a row while the printer of p is out of paper: the
	// head of p's queue goes back each time, nothing behind it is touched.
	for round := range 5 {
		d = openT(t, path, nil)
		if rec, req := d.Recovered(), d.Requeued(); round == 0 && (!slices.Equal(rec, []JobID{j3.ID}) || !slices.Equal(req, []JobID{j1.ID})) {
			t.Fatalf("Recovered = %v, Requeued = %v; want [%s] and [%s]", rec, req, j3.ID, j1.ID)
		}
		if rec, req := d.Recovered(), d.Requeued(); round > 0 && (len(rec) != 0 || !slices.Equal(req, []JobID{j1.ID})) {
			t.Fatalf("round %d: Recovered = %v, Requeued = %v; want none and [%s]", round, rec, req, j1.ID)
		}
		got, _ := d.Job(ctx, j1.ID)
		last := got.History[len(got.History)-1]
		if got.State != StateQueued || got.Unsent || got.Claim != 0 || got.Attempts != 0 || last.From != StateSending || last.To != StateQueued ||
			!strings.HasPrefix(last.Reason, "never sent") || got.LastError != last.Reason {
			t.Fatalf("round %d: job never sent came back %s (unsent %v, attempts %d, last error %q, history %+v); want queued, never sent",
				round, got.State, got.Unsent, got.Attempts, got.LastError, got.History)
		}
		if got, _ := d.Job(ctx, j3.ID); got.State != StateUncertain {
			t.Fatalf("round %d: transmitted job is %s, want uncertain", round, got.State)
		}
		if c, err := d.ClaimUnsent(ctx, "p"); err != nil || c.ID != j1.ID {
			t.Fatalf("round %d: claim = %v, %v; want %s again, at the front", round, c.ID, err, j1.ID)
		}
		d.Close()
	}

	d = openT(t, path, nil)
	counts, _ := d.Counts(ctx)
	if counts[StateUncertain] != 1 || counts[StateQueued] != 2 {
		t.Fatalf("counts after the crash loop %v: want j1 and j2 queued, only j3 uncertain", counts)
	}
	got, _ := d.Job(ctx, j1.ID)
	if n := strings.Count(historyReasons(got), "never sent"); n != 6 {
		t.Fatalf("history of j1 shows %d recoveries, want 6: %+v", n, got.History)
	}
	// The outbox tells the recovery like any state change.
	evs, _ := d.Events(ctx, "hooks", 1000)
	if last := evs[len(evs)-1]; last.JobID != j1.ID || last.From != StateSending || last.To != StateQueued || !strings.HasPrefix(last.Reason, "never sent") {
		t.Fatalf("last event %+v, want j1's recovery to queued", last)
	}
	// Paper back: this time the worker marked it before writing.
	if c, err := d.ClaimUnsent(ctx, "p"); err != nil || c.ID != j1.ID {
		t.Fatalf("claim = %v, %v", c.ID, err)
	}
	if got, err := d.Transmitting(ctx, j1.ID); err != nil || got.Unsent || got.State != StateSending {
		t.Fatalf("transmitting = %+v, %v", got, err)
	}
	d.Close()
	d = openT(t, path, nil)
	if rec, req := d.Recovered(), d.Requeued(); !slices.Equal(rec, []JobID{j1.ID}) || len(req) != 0 {
		t.Fatalf("Recovered = %v, Requeued = %v; want [%s] and none", rec, req, j1.ID)
	}
	got, _ = d.Job(ctx, j1.ID)
	if got.State != StateUncertain || strings.HasPrefix(got.LastError, "never sent") {
		t.Fatalf("transmitted job came back %s (%q), want uncertain", got.State, got.LastError)
	}
	if c, err := d.ClaimUnsent(ctx, "p"); err != nil || c.ID != j2.ID {
		t.Fatalf("claim = %v, %v; want %s: an uncertain job is never resent", c.ID, err, j2.ID)
	}
}

// The mark belongs to one claim: a Requeue (paper out after copy 1 of 3)
// ends it, the next ClaimUnsent starts a new one with the count of copies
// kept, and a crash before that claim's first byte loses no copy and
// repeats none.
func TestUnsentClaimOfAPartlySentJob(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "q.db")
	d := openT(t, path, nil)
	nj := zpl("three", "p")
	nj.Copies = 3
	j := mustEnqueue(t, d, nj)
	if _, err := d.ClaimUnsent(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Transmitting(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	if _, err := d.CopySent(ctx, j.ID, 1); err != nil {
		t.Fatal(err)
	}
	if got, err := d.Requeue(ctx, j.ID, "paper out"); err != nil || got.Unsent || got.CopiesSent != 1 {
		t.Fatalf("requeue = %+v, %v", got, err)
	}
	if got, _ := d.Job(ctx, j.ID); got.Claim != 0 {
		t.Fatalf("requeued job keeps claim %d, want the claim ended", got.Claim)
	}
	// The first claim's mark is still in the marks log: the new claim has
	// a new number, which that mark does not match.
	if c, err := d.ClaimUnsent(ctx, "p"); err != nil || c.Claim == 0 || c.CopiesSent != 1 {
		t.Fatalf("claim again = %+v, %v; want a new claim with 1 copy sent", c, err)
	}
	d.Close()

	d = openT(t, path, nil)
	got, _ := d.Job(ctx, j.ID)
	if got.State != StateQueued || got.CopiesSent != 1 {
		t.Fatalf("recovered %s with %d copies sent, want queued with 1", got.State, got.CopiesSent)
	}
	if _, err := d.ClaimUnsent(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.Transmitting(ctx, j.ID); err != nil {
		t.Fatal(err)
	}
	d.Close() // copy 2 may be on its way

	d = openT(t, path, nil)
	got, _ = d.Job(ctx, j.ID)
	if got.State != StateUncertain || !strings.Contains(got.LastError, "1 of 3 copies sent") {
		t.Fatalf("recovered %s (%q), want uncertain, 1 of 3 copies sent", got.State, got.LastError)
	}
}

func historyReasons(j Job) string {
	var b strings.Builder
	for _, tr := range j.History {
		b.WriteString(tr.Reason)
		b.WriteByte('\n')
	}
	return b.String()
}
