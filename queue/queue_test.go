package queue

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	bolt "go.etcd.io/bbolt"

	"github.com/packbench/packbench/internal/clocktest"
)

// testClock is the manual clock tests move by hand.
type testClock = clocktest.Clock

func newClock() *testClock { return clocktest.NewClock(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)) }

func openT(t testing.TB, path string, o *Options) *DB {
	t.Helper()
	d, err := Open(path, o)
	if err != nil {
		t.Fatalf("Open: %v", err)
	}
	t.Cleanup(func() { d.Close() })
	return d
}

func zpl(key, printer string) NewJob {
	return NewJob{Key: key, Source: SourceHTTP, Printer: printer, ContentType: ContentZPL, Payload: []byte("^XA^FO50,50^FD" + key + "^FS^XZ")}
}

func mustEnqueue(t testing.TB, d *DB, nj NewJob) Job {
	t.Helper()
	j, created, err := d.Enqueue(context.Background(), nj)
	if err != nil {
		t.Fatalf("Enqueue(%s): %v", nj.Key, err)
	}
	if !created {
		t.Fatalf("Enqueue(%s): created = false for a new key", nj.Key)
	}
	return j
}

func TestLifecyclePersists(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "packbench.db")
	clk := newClock()
	d := openT(t, path, &Options{Clock: clk, Consumers: []string{"mqtt"}})
	j := mustEnqueue(t, d, zpl("pkg-1", "zebra"))
	if j.ID != 1 || j.State != StateQueued || j.Copies != 1 || j.PayloadSize != len(j.Payload) {
		t.Fatalf("enqueued job = %+v", j)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}

	d = openT(t, path, &Options{Clock: clk})
	got, err := d.Claim(ctx, "zebra")
	if err != nil {
		t.Fatalf("Claim after reopen: %v", err)
	}
	if got.ID != j.ID || got.State != StateSending || got.Attempts != 1 || string(got.Payload) != string(j.Payload) {
		t.Fatalf("claimed %+v, want job %s sending with its payload", got, j.ID)
	}
	if _, err := d.Claim(ctx, "zebra"); !errors.Is(err, ErrEmpty) {
		t.Fatalf("second Claim: err = %v, want ErrEmpty", err)
	}
	clk.Advance(time.Second)
	if _, err := d.SetState(ctx, j.ID, StateSent, ""); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SetState(ctx, j.ID, StatePrinted, "~HS ok"); err != nil {
		t.Fatal(err)
	}
	d.Close()

	d = openT(t, path, &Options{Clock: clk})
	got, err = d.Job(ctx, j.ID)
	if err != nil {
		t.Fatal(err)
	}
	want := []State{StateQueued, StateSending, StateSent, StatePrinted}
	if len(got.History) != len(want) {
		t.Fatalf("history = %+v, want states %v", got.History, want)
	}
	for i, tr := range got.History {
		if tr.To != want[i] || (i > 0 && tr.From != want[i-1]) {
			t.Fatalf("history[%d] = %+v, want → %s", i, tr, want[i])
		}
	}
	if got.History[3].Reason != "~HS ok" || got.FinishedAt.IsZero() {
		t.Fatalf("printed entry = %+v, finished at %v", got.History[3], got.FinishedAt)
	}
	evs, err := d.Events(ctx, "mqtt", 100)
	if err != nil {
		t.Fatal(err)
	}
	if len(evs) != 4 {
		t.Fatalf("events = %+v, want 4", evs)
	}
	for i, ev := range evs {
		if ev.ID != got.History[i].EventID || ev.To != want[i] || ev.JobID != j.ID || ev.Key != "pkg-1" {
			t.Fatalf("event %d = %+v, want the history entry %+v", i, ev, got.History[i])
		}
	}
	if evs[0].Type != EventJobQueued || evs[1].Type != EventJobState {
		t.Fatalf("event types %q, %q", evs[0].Type, evs[1].Type)
	}
}

type jobIDCase struct {
	in   string
	want JobID
	ok   bool
}

// jobIDCases is the table for TestJobIDText and the seeds of FuzzParseJobID.
func jobIDCases() []jobIDCase {
	return []jobIDCase{
		{"j00000042", 42, true}, {"j42", 42, true}, {"42", 42, true}, {"j18446744073709551615", 1<<64 - 1, true},
		{"", 0, false}, {"j", 0, false}, {"j0", 0, false}, {"x42", 0, false}, {"j-1", 0, false}, {"j+1", 0, false},
		{"j18446744073709551616", 0, false}, {"j 1", 0, false},
	}
}

func TestJobIDText(t *testing.T) {
	for _, tc := range jobIDCases() {
		got, err := ParseJobID(tc.in)
		if (err == nil) != tc.ok || got != tc.want {
			t.Errorf("ParseJobID(%q) = %v, %v; want %v ok=%v", tc.in, got, err, tc.want, tc.ok)
		}
	}
	if s := JobID(42).String(); s != "j00000042" {
		t.Errorf("String = %q", s)
	}
	b, _ := json.Marshal(JobID(7))
	var back JobID
	if err := json.Unmarshal(b, &back); err != nil || back != 7 || string(b) != `"j00000007"` {
		t.Errorf("JSON round trip: %s → %v, %v", b, back, err)
	}
}

func TestEnqueueValidation(t *testing.T) {
	d := openT(t, filepath.Join(t.TempDir(), "q.db"), &Options{MaxPayload: 100})
	ok := zpl("k", "p")
	for _, tc := range []struct {
		name   string
		mutate func(*NewJob)
		target error
		field  string
	}{
		{"empty key", func(j *NewJob) { j.Key = "" }, ErrInvalid, "key: must not be empty"},
		{"long key", func(j *NewJob) { j.Key = strings.Repeat("k", MaxKeyLen+1) }, ErrInvalid, "key: 257 bytes"},
		{"control in key", func(j *NewJob) { j.Key = "a\nb" }, ErrInvalid, "key: must not contain control"},
		{"C1 in key", func(j *NewJob) { j.Key = "a\u0085b" }, ErrInvalid, "key: must not contain control"},
		{"bidi override in key", func(j *NewJob) { j.Key = "mqtt:a\u202eb" }, ErrInvalid, "key: must not contain U+202E"},
		{"invalid UTF-8 in key", func(j *NewJob) { j.Key = "a\xffb" }, ErrInvalid, "key: must be valid UTF-8"},
		{"bidi isolate in ref", func(j *NewJob) { j.Ref = "ref\u2066" }, ErrInvalid, "ref: must not contain U+2066"},
		{"C1 in ref", func(j *NewJob) { j.Ref = "ref\u009b" }, ErrInvalid, "ref: must not contain control"},
		{"line break in origin", func(j *NewJob) { j.Origin = "192.0.2.7:1\nforged" }, ErrInvalid, "origin: must not contain control"},
		{"long origin", func(j *NewJob) { j.Origin = strings.Repeat("o", MaxOriginLen+1) }, ErrInvalid, "origin: 257 bytes"},
		{"slash in printer", func(j *NewJob) { j.Printer = "../p" }, ErrInvalid, `printer: must not contain "/"`},
		{"hash in printer", func(j *NewJob) { j.Printer = "p#1" }, ErrInvalid, `printer: must not contain "#"`},
		{"RLM in printer", func(j *NewJob) { j.Printer = "p\u200f" }, ErrInvalid, "printer: must not contain U+200F"},
		{"source", func(j *NewJob) { j.Source = "fax" }, ErrInvalid, `source "fax"`},
		{"printer", func(j *NewJob) { j.Printer = "" }, ErrInvalid, "printer: must not be empty"},
		{"content type", func(j *NewJob) { j.ContentType = "text/plain" }, ErrInvalid, `content type "text/plain"`},
		{"empty payload", func(j *NewJob) { j.Payload = nil }, ErrInvalid, "payload: must not be empty"},
		{"big payload", func(j *NewJob) { j.Payload = make([]byte, 101) }, ErrPayloadTooLarge, "payload is 101 bytes, at most 100"},
		{"spec not JSON", func(j *NewJob) { j.ContentType = ContentLabelSpec }, ErrInvalid, "payload: not valid JSON"},
		{"not a PNG", func(j *NewJob) { j.ContentType = ContentPNG }, ErrInvalid, "payload: not a PNG"},
		{"copies", func(j *NewJob) { j.Copies = -1 }, ErrInvalid, "copies: -1"},
		{"too many copies", func(j *NewJob) { j.Copies = MaxCopies + 1 }, ErrInvalid, "copies: 1001"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			nj := ok
			tc.mutate(&nj)
			_, _, err := d.Enqueue(context.Background(), nj)
			if !errors.Is(err, tc.target) || !strings.Contains(err.Error(), tc.field) {
				t.Fatalf("err = %v, want %v naming %q", err, tc.target, tc.field)
			}
		})
	}
	if n, _ := d.List(context.Background(), ListOptions{}); len(n) != 0 {
		t.Fatalf("rejected jobs were stored: %+v", n)
	}
}

func TestIdempotencyAcrossRestartAndRetention(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "q.db")
	clk := newClock()
	o := &Options{Clock: clk, Retention: 48 * time.Hour}
	d := openT(t, path, o)
	first := mustEnqueue(t, d, zpl("cloud-7", "zebra"))
	d.Close()

	d = openT(t, path, o)
	nj := zpl("cloud-7", "other-printer") // same key, different content: still the same job
	again, created, err := d.Enqueue(ctx, nj)
	if err != nil || created || again.ID != first.ID || again.Printer != "zebra" || string(again.Payload) != string(first.Payload) {
		t.Fatalf("re-enqueue = %+v created=%v err=%v; want job %s unchanged", again, created, err, first.ID)
	}
	if byKey, err := d.JobByKey(ctx, "cloud-7"); err != nil || byKey.ID != first.ID {
		t.Fatalf("JobByKey = %s, %v", byKey.ID, err)
	}
	if _, err := d.JobByKey(ctx, "never"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("JobByKey of an unknown key: %v", err)
	}
	if _, err := d.Claim(ctx, "zebra"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SetState(ctx, first.ID, StatePrinted, ""); err != nil {
		t.Fatal(err)
	}
	// Within retention the key still answers with the printed job.
	clk.Advance(47 * time.Hour)
	if r, err := d.Housekeep(ctx); err != nil || r.JobsDeleted != 0 {
		t.Fatalf("housekeep within retention: %+v, %v", r, err)
	}
	if j, created, err := d.Enqueue(ctx, nj); err != nil || created || j.ID != first.ID || j.State != StatePrinted {
		t.Fatalf("within retention: %+v created=%v err=%v", j, created, err)
	}
	clk.Advance(2 * time.Hour)
	if r, err := d.Housekeep(ctx); err != nil || r.JobsDeleted != 1 {
		t.Fatalf("housekeep after retention: %+v, %v", r, err)
	}
	if _, err := d.Job(ctx, first.ID); !errors.Is(err, ErrNotFound) {
		t.Fatalf("job after retention: err = %v, want ErrNotFound", err)
	}
	j, created, err := d.Enqueue(ctx, nj)
	if err != nil || !created || j.ID == first.ID {
		t.Fatalf("after retention the key is new again: %+v created=%v err=%v", j, created, err)
	}
}

func TestConcurrentEnqueueSameKeyCreatesOne(t *testing.T) {
	d := openT(t, filepath.Join(t.TempDir(), "q.db"), nil)
	var wg sync.WaitGroup
	var mu sync.Mutex
	ids := map[JobID]int{}
	createdN := 0
	for i := range 32 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			key := fmt.Sprintf("k%d", i%4)
			j, created, err := d.Enqueue(context.Background(), zpl(key, "p"))
			if err != nil {
				t.Error(err)
				return
			}
			mu.Lock()
			ids[j.ID]++
			if created {
				createdN++
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if len(ids) != 4 || createdN != 4 {
		t.Fatalf("ids = %v, created = %d; want 4 jobs created once each", ids, createdN)
	}
	jobs, _ := d.List(context.Background(), ListOptions{})
	if len(jobs) != 4 {
		t.Fatalf("stored %d jobs, want 4", len(jobs))
	}
}

func TestTransitionsAreValidated(t *testing.T) {
	ctx := context.Background()
	d := openT(t, filepath.Join(t.TempDir(), "q.db"), nil)
	j := mustEnqueue(t, d, zpl("a", "p"))
	if _, err := d.Claim(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SetState(ctx, j.ID, StatePrinted, ""); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name string
		op   func() (Job, error)
		want string
	}{
		{"printed to sent", func() (Job, error) { return d.SetState(ctx, j.ID, StateSent, "") }, "from printed to sent"},
		{"printed to queued", func() (Job, error) { return d.Retry(ctx, j.ID, "") }, "from printed to queued"},
		{"printed to cancelled", func() (Job, error) { return d.Cancel(ctx, j.ID, "") }, "from printed to cancelled"},
		{"printed to sending", func() (Job, error) { return d.SetState(ctx, j.ID, StateSending, "") }, "from printed to sending"},
		{"requeue not sending", func() (Job, error) { return d.Requeue(ctx, j.ID, "") }, "from printed to queued"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.op()
			var te *TransitionError
			if !errors.Is(err, ErrInvalidTransition) || !errors.As(err, &te) || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want a TransitionError %q", err, tc.want)
			}
		})
	}
	if _, err := d.Job(ctx, 99); !errors.Is(err, ErrNotFound) {
		t.Fatalf("missing job: %v", err)
	}
	if _, err := d.Cancel(ctx, 99, ""); !errors.Is(err, ErrNotFound) {
		t.Fatalf("cancel missing job: %v", err)
	}
	got, _ := d.Job(ctx, j.ID)
	if got.State != StatePrinted || len(got.History) != 3 {
		t.Fatalf("refused transitions changed the job: %+v", got)
	}
}

func TestFIFOPerPrinterAndRequeueKeepsPlace(t *testing.T) {
	ctx := context.Background()
	d := openT(t, filepath.Join(t.TempDir(), "q.db"), nil)
	a1 := mustEnqueue(t, d, zpl("a1", "A"))
	b1 := mustEnqueue(t, d, zpl("b1", "B"))
	a2 := mustEnqueue(t, d, zpl("a2", "A"))
	a3 := mustEnqueue(t, d, zpl("a3", "A"))

	c, err := d.Claim(ctx, "A")
	if err != nil || c.ID != a1.ID {
		t.Fatalf("first claim on A = %v, %v; want %s", c.ID, err, a1.ID)
	}
	if c, err := d.Claim(ctx, "B"); err != nil || c.ID != b1.ID {
		t.Fatalf("claim on B = %v, %v; want %s", c.ID, err, b1.ID)
	}
	r, err := d.Requeue(ctx, a1.ID, "paper out")
	if err != nil || r.Attempts != 0 || r.LastError != "paper out" {
		t.Fatalf("requeue = %+v, %v; want attempts back to 0 and the reason kept", r, err)
	}
	order := []JobID{a1.ID, a2.ID}
	for _, want := range order {
		c, err := d.Claim(ctx, "A")
		if err != nil || c.ID != want {
			t.Fatalf("claim = %v, %v; want %s (requeued job first)", c.ID, err, want)
		}
		if c.ID == a1.ID && c.Attempts != 1 {
			t.Fatalf("requeued job claimed again has attempts %d, want 1", c.Attempts)
		}
	}
	// a1 fails, operator retries: it returns ahead of a3, its original place.
	if _, err := d.SetState(ctx, a1.ID, StateFailed, "head open"); err != nil {
		t.Fatal(err)
	}
	if j, err := d.Retry(ctx, a1.ID, ""); err != nil || j.Attempts != 0 || j.State != StateQueued {
		t.Fatalf("retry = %+v, %v", j, err)
	}
	for _, want := range []JobID{a1.ID, a3.ID} {
		if c, err := d.Claim(ctx, "A"); err != nil || c.ID != want {
			t.Fatalf("claim after retry = %v, %v; want %s", c.ID, err, want)
		}
	}
	counts, _ := d.Counts(ctx)
	if counts[StateSending] != 4 || counts[StateQueued] != 0 {
		t.Fatalf("counts = %v", counts)
	}
}

func TestRecoveryMarksSendingUncertain(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "q.db")
	d := openT(t, path, &Options{Consumers: []string{"hooks"}})
	j1 := mustEnqueue(t, d, zpl("1", "p"))
	j2 := mustEnqueue(t, d, zpl("2", "p"))
	if _, err := d.Claim(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	d.Close() // as if the power went while j1 was being sent

	d = openT(t, path, nil)
	if rec := d.Recovered(); len(rec) != 1 || rec[0] != j1.ID {
		t.Fatalf("Recovered = %v, want [%s]", rec, j1.ID)
	}
	got, _ := d.Job(ctx, j1.ID)
	if got.State != StateUncertain || got.LastError == "" {
		t.Fatalf("recovered job = %+v, want uncertain with a reason", got)
	}
	evs, _ := d.Events(ctx, "hooks", 100)
	last := evs[len(evs)-1]
	if last.JobID != j1.ID || last.From != StateSending || last.To != StateUncertain {
		t.Fatalf("last event = %+v, want the recovery", last)
	}
	// Never reprinted silently: the next claim is j2.
	if c, err := d.Claim(ctx, "p"); err != nil || c.ID != j2.ID {
		t.Fatalf("claim = %v, %v; want %s", c.ID, err, j2.ID)
	}
	if _, err := d.MarkPrinted(ctx, j1.ID, "operator saw it"); err != nil {
		t.Fatal(err)
	}
	d.Close()
	d = openT(t, path, nil)
	if rec := d.Recovered(); len(rec) != 1 || rec[0] != j2.ID {
		t.Fatalf("second recovery = %v, want [%s]", rec, j2.ID)
	}
}

func TestSecondOpenIsLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	openT(t, path, nil)
	start := time.Now()
	_, err := Open(path, &Options{Timeout: 100 * time.Millisecond})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "packbenchd") {
		t.Fatalf("second Open: err = %v, want ErrLocked naming %s and packbenchd", err, path)
	}
	if time.Since(start) > 10*time.Second {
		t.Fatalf("second Open hung for %v", time.Since(start))
	}
}

func TestNewFileLeavesNoTemporaries(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "state", "packbench") // created by Open
	d := openT(t, filepath.Join(dir, "q.db"), nil)
	if err := d.Compact(context.Background()); err != nil {
		t.Fatal(err)
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 3 || ents[0].Name() != "q.db" || ents[1].Name() != "q.db.lock" || ents[2].Name() != "q.db.marks" {
		t.Fatalf("dir holds %v, want only q.db, its lock file q.db.lock and its marks log q.db.marks", ents)
	}
}

func TestSchemaTooNewIsRefused(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	d := openT(t, path, nil)
	d.Close()
	b, err := bolt.Open(path, 0o600, nil)
	if err != nil {
		t.Fatal(err)
	}
	if err := b.Update(func(tx *bolt.Tx) error { return tx.Bucket([]byte(bMeta)).Put([]byte("schema"), u64(SchemaVersion+1)) }); err != nil {
		t.Fatal(err)
	}
	b.Close()
	if _, err := Open(path, nil); !errors.Is(err, ErrSchemaTooNew) {
		t.Fatalf("Open = %v, want ErrSchemaTooNew", err)
	}
}

func TestWaitIsClosedByEnqueue(t *testing.T) {
	ctx := context.Background()
	d := openT(t, filepath.Join(t.TempDir(), "q.db"), nil)
	chA, chB, chEv := d.Wait("A"), d.Wait("B"), d.WaitEvents()
	if _, err := d.Claim(ctx, "A"); !errors.Is(err, ErrEmpty) {
		t.Fatalf("claim on empty = %v", err)
	}
	done := make(chan JobID)
	go func() {
		<-chA
		j, err := d.Claim(ctx, "A")
		if err != nil {
			t.Error(err)
		}
		done <- j.ID
	}()
	j := mustEnqueue(t, d, zpl("x", "A"))
	select {
	case got := <-done:
		if got != j.ID {
			t.Fatalf("waiter claimed %s, want %s", got, j.ID)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("Wait channel not closed by Enqueue")
	}
	select {
	case <-chEv:
	default:
		t.Fatal("WaitEvents channel not closed by the enqueue event")
	}
	select {
	case <-chB:
		t.Fatal("printer B's waiter woke for a job on A")
	default:
	}
	// A requeue also wakes the printer's waiter.
	chA = d.Wait("A")
	if _, err := d.Requeue(ctx, j.ID, "paper out"); err != nil {
		t.Fatal(err)
	}
	select {
	case <-chA:
	default:
		t.Fatal("Wait channel not closed by Requeue")
	}
}

// TestEventsAfter: a live view reads the outbox after any id without a
// consumer, and reading registers nothing that could hold events back.
func TestEventsAfter(t *testing.T) {
	ctx := context.Background()
	d := openT(t, filepath.Join(t.TempDir(), "q.db"), nil)
	for i := range 5 {
		mustEnqueue(t, d, zpl(fmt.Sprint(i), "p"))
	}
	evs, err := d.EventsAfter(ctx, 2, 2)
	if err != nil || len(evs) != 2 || evs[0].ID != 3 || evs[1].ID != 4 {
		t.Fatalf("after 2, limit 2 = %+v, %v; want 3 and 4", evs, err)
	}
	if evs, err := d.EventsAfter(ctx, 5, 10); err != nil || len(evs) != 0 {
		t.Fatalf("after the last event = %+v, %v; want none", evs, err)
	}
	if _, err := d.EventsAfter(ctx, 0, 0); !errors.Is(err, ErrInvalid) {
		t.Fatalf("limit 0: %v, want ErrInvalid", err)
	}
	if cons, err := d.Consumers(ctx); err != nil || len(cons) != 0 {
		t.Fatalf("consumers after reading = %v, %v; want none", cons, err)
	}
	// With no consumer registered, housekeeping may delete every event.
	if r, err := d.Housekeep(ctx); err != nil || r.EventsDeleted != 5 {
		t.Fatalf("housekeep = %+v, %v; want the 5 events deleted", r, err)
	}
}

func TestOutboxConsumersAndDeletion(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "q.db")
	clk := newClock()
	o := &Options{Clock: clk, Consumers: []string{"mqtt", "hooks"}, EventRetention: 24 * time.Hour}
	d := openT(t, path, o)
	for i := range 5 {
		mustEnqueue(t, d, zpl(fmt.Sprint(i), "p"))
	}
	if _, err := d.Events(ctx, "nobody", 10); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown consumer: %v", err)
	}
	evs, err := d.Events(ctx, "mqtt", 3)
	if err != nil || len(evs) != 3 || evs[0].ID != 1 || evs[2].ID != 3 {
		t.Fatalf("first page = %+v, %v", evs, err)
	}
	// Unacknowledged events come back.
	if again, _ := d.Events(ctx, "mqtt", 3); again[0].ID != 1 {
		t.Fatalf("redelivery = %+v", again)
	}
	if err := d.Ack(ctx, "mqtt", 3); err != nil {
		t.Fatal(err)
	}
	if err := d.Ack(ctx, "mqtt", 2); err != nil { // older ack: no change
		t.Fatal(err)
	}
	if err := d.Ack(ctx, "mqtt", 6); !errors.Is(err, ErrInvalid) {
		t.Fatalf("ack beyond the last event: %v", err)
	}
	d.Close()
	d = openT(t, path, o)
	if evs, _ := d.Events(ctx, "mqtt", 10); len(evs) != 2 || evs[0].ID != 4 {
		t.Fatalf("after reopen mqtt reads %+v, want 4 and 5", evs)
	}
	// hooks has acknowledged nothing: nothing may be deleted yet.
	if r, _ := d.Housekeep(ctx); r.EventsDeleted != 0 || r.EventsExpired != 0 {
		t.Fatalf("housekeep deleted %+v while hooks had acked nothing", r)
	}
	if err := d.Ack(ctx, "hooks", 4); err != nil {
		t.Fatal(err)
	}
	if r, _ := d.Housekeep(ctx); r.EventsDeleted != 3 {
		t.Fatalf("housekeep = %+v, want the 3 events both acked", r)
	}
	if evs, _ := d.Events(ctx, "hooks", 10); len(evs) != 1 || evs[0].ID != 5 {
		t.Fatalf("hooks reads %+v", evs)
	}
	// Ids continue after compaction.
	if err := d.Compact(ctx); err != nil {
		t.Fatal(err)
	}
	j := mustEnqueue(t, d, zpl("after", "p"))
	if j.History[0].EventID != 6 || j.ID != 6 {
		t.Fatalf("after compaction job %s event %d, want 6 and 6", j.ID, j.History[0].EventID)
	}
	// Events nobody acknowledges expire.
	clk.Advance(25 * time.Hour)
	if r, _ := d.Housekeep(ctx); r.EventsExpired != 3 {
		t.Fatalf("housekeep after event retention = %+v, want events 4, 5 and 6 expired", r)
	}
	if err := d.RemoveConsumer(ctx, "hooks"); err != nil {
		t.Fatal(err)
	}
	if cs, _ := d.Consumers(ctx); len(cs) != 1 || cs["mqtt"] != 3 {
		t.Fatalf("consumers = %v", cs)
	}
	// With no consumer left, nobody waits for events: housekeeping drops them.
	if err := d.RemoveConsumer(ctx, "mqtt"); err != nil {
		t.Fatal(err)
	}
	mustEnqueue(t, d, zpl("unheard", "p"))
	if r, _ := d.Housekeep(ctx); r.EventsDeleted != 1 {
		t.Fatalf("housekeep without consumers = %+v, want the 1 event deleted", r)
	}
	if err := d.AddConsumer(ctx, "late"); err != nil {
		t.Fatal(err)
	}
	heard := mustEnqueue(t, d, zpl("heard", "p"))
	if evs, err := d.Events(ctx, "late", 10); err != nil || len(evs) != 1 || evs[0].JobID != heard.ID {
		t.Fatalf("late consumer reads %+v, %v; want only the new event", evs, err)
	}
}

func TestUpdateIsAtomic(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "q.db")
	d := openT(t, path, &Options{Consumers: []string{"c"}})
	boom := errors.New("boom")
	err := d.Update(func(tx *Tx) error {
		if err := tx.PutRecord(KindShipments, "s1", []byte(`{"id":"s1"}`)); err != nil {
			return err
		}
		if _, err := tx.AppendEvent(Event{Type: "order.updated", Data: json.RawMessage(`{"order":"o1"}`)}); err != nil {
			return err
		}
		if _, _, err := tx.Enqueue(zpl("s1", "p")); err != nil {
			return err
		}
		if _, err := tx.NextCounter("sscc"); err != nil {
			return err
		}
		return boom
	})
	if !errors.Is(err, boom) {
		t.Fatalf("Update = %v", err)
	}
	if _, err := d.GetRecord(ctx, KindShipments, "s1"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("record after rollback: %v", err)
	}
	if evs, _ := d.Events(ctx, "c", 10); len(evs) != 0 {
		t.Fatalf("events after rollback: %+v", evs)
	}
	var enqueued Job
	err = d.Update(func(tx *Tx) error {
		if _, err := tx.JobByKey("s1"); !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("JobByKey before enqueue: %v", err)
		}
		if err := tx.PutRecord(KindShipments, "s1", []byte(`{"id":"s1"}`)); err != nil {
			return err
		}
		if _, err := tx.AppendEvent(Event{Type: "order.updated", Data: json.RawMessage(`{"order":"o1"}`)}); err != nil {
			return err
		}
		var err error
		enqueued, _, err = tx.Enqueue(zpl("s1", "p"))
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	d = openT(t, path, nil)
	evs, _ := d.Events(ctx, "c", 10)
	if len(evs) != 2 || evs[0].Type != "order.updated" || string(evs[0].Data) != `{"order":"o1"}` || evs[1].JobID != enqueued.ID {
		t.Fatalf("events = %+v", evs)
	}
	if n, _ := d.NextCounter(ctx, "sscc"); n != 1 {
		t.Fatalf("counter after rolled back increment = %d, want 1", n)
	}
	// An order cancelled together with its label.
	err = d.Update(func(tx *Tx) error {
		j, err := tx.JobByKey("s1")
		if err != nil {
			return err
		}
		if _, err := tx.Cancel(j.ID, "order cancelled"); err != nil {
			return err
		}
		return tx.PutRecord(KindOrders, "o1", []byte(`{"state":"cancelled"}`))
	})
	if err != nil {
		t.Fatal(err)
	}
	if j, _ := d.Job(ctx, enqueued.ID); j.State != StateCancelled {
		t.Fatalf("job after the cancelling Update = %s", j.State)
	}
	err = d.Update(func(tx *Tx) error {
		_, err := tx.AppendEvent(Event{Type: "job.fake"})
		return err
	})
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("reserved event type: %v", err)
	}
	err = d.View(func(tx *Tx) error { return tx.PutRecord(KindOrders, "o", nil) })
	if !errors.Is(err, ErrInvalid) {
		t.Fatalf("write in View: %v", err)
	}
}

func TestRecordsAndCounters(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "q.db")
	d := openT(t, path, nil)
	for _, k := range []string{"o-3", "o-1", "x-1", "o-2"} {
		if err := d.PutRecord(ctx, KindOrders, k, []byte("v"+k)); err != nil {
			t.Fatal(err)
		}
	}
	for i := 1; i <= 3; i++ {
		if n, err := d.NextCounter(ctx, "tracking/local"); err != nil || n != uint64(i) {
			t.Fatalf("NextCounter = %d, %v; want %d", n, err, i)
		}
	}
	d.Close()
	d = openT(t, path, nil)
	if v, err := d.GetRecord(ctx, KindOrders, "o-2"); err != nil || string(v) != "vo-2" {
		t.Fatalf("GetRecord = %q, %v", v, err)
	}
	page, _ := d.ListRecords(ctx, KindOrders, RecordPage{Prefix: "o-", Limit: 2})
	if len(page) != 2 || page[0].Key != "o-1" || page[1].Key != "o-2" {
		t.Fatalf("first page = %+v", page)
	}
	page, _ = d.ListRecords(ctx, KindOrders, RecordPage{Prefix: "o-", After: page[1].Key})
	if len(page) != 1 || page[0].Key != "o-3" {
		t.Fatalf("second page = %+v", page)
	}
	if err := d.DeleteRecord(ctx, KindOrders, "o-1"); err != nil {
		t.Fatal(err)
	}
	if all, _ := d.ListRecords(ctx, KindOrders, RecordPage{}); len(all) != 3 || all[0].Key != "o-2" {
		t.Fatalf("after delete = %+v", all)
	}
	if n, _ := d.NextCounter(ctx, "tracking/local"); n != 4 {
		t.Fatalf("counter after reopen = %d, want 4", n)
	}
	if err := d.PutRecord(ctx, "Orders!", "k", nil); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "record kind") {
		t.Fatalf("bad kind: %v", err)
	}
	if err := d.PutRecord(ctx, KindOrders, "", nil); !errors.Is(err, ErrInvalid) || !strings.Contains(err.Error(), "record key") {
		t.Fatalf("empty key: %v", err)
	}
}

func TestHousekeepCompactsAndKeepsLiveData(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "q.db")
	clk := newClock()
	o := &Options{Clock: clk, Retention: time.Hour, CompactMin: 1 << 20, Consumers: []string{"c"}}
	d := openT(t, path, o)
	payload := make([]byte, 2000)
	var keep Job
	err := d.Update(func(tx *Tx) error {
		for i := range 3000 {
			nj := zpl(fmt.Sprint(i), "p")
			nj.Payload = payload
			j, _, err := tx.Enqueue(nj)
			if err != nil {
				return err
			}
			if i == 2999 {
				keep = j
				continue // stays queued
			}
			if _, err := tx.claim("p"); err != nil {
				return err
			}
			if _, err := tx.SetState(j.ID, StatePrinted, ""); err != nil {
				return err
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if err := d.Update(func(tx *Tx) error { return tx.PutRecord(KindStock, "box-s", []byte("12")) }); err != nil {
		t.Fatal(err)
	}
	last, _ := d.LastEventID(ctx)
	if err := d.Ack(ctx, "c", last); err != nil {
		t.Fatal(err)
	}
	before, _ := d.Stats(ctx)
	clk.Advance(2 * time.Hour)
	r, err := d.Housekeep(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if r.JobsDeleted != 2999 || !r.Compacted || r.FileBytesAfter >= before.FileBytes/4 {
		t.Fatalf("housekeep = %+v (file was %d bytes)", r, before.FileBytes)
	}
	d.Close()
	d = openT(t, path, o)
	if j, err := d.Claim(ctx, "p"); err != nil || j.ID != keep.ID || len(j.Payload) != len(payload) {
		t.Fatalf("queued job after compaction = %v, %v", j.ID, err)
	}
	if v, err := d.GetRecord(ctx, KindStock, "box-s"); err != nil || string(v) != "12" {
		t.Fatalf("record after compaction = %q, %v", v, err)
	}
	j := mustEnqueue(t, d, zpl("new", "p"))
	if j.ID != keep.ID+1 {
		t.Fatalf("job ids restarted after compaction: %s after %s", j.ID, keep.ID)
	}
	if jobs, _ := d.List(ctx, ListOptions{}); len(jobs) != 2 {
		t.Fatalf("jobs after housekeeping = %d, want 2", len(jobs))
	}
}

func TestListFilters(t *testing.T) {
	ctx := context.Background()
	d := openT(t, filepath.Join(t.TempDir(), "q.db"), nil)
	a := mustEnqueue(t, d, zpl("a", "A"))
	mustEnqueue(t, d, zpl("b", "B"))
	c := mustEnqueue(t, d, zpl("c", "A"))
	if _, err := d.Claim(ctx, "A"); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		o    ListOptions
		want []JobID
	}{
		{ListOptions{}, []JobID{1, 2, 3}},
		{ListOptions{Printer: "A"}, []JobID{a.ID, c.ID}},
		{ListOptions{State: StateQueued}, []JobID{2, 3}},
		{ListOptions{State: StateQueued, Printer: "A"}, []JobID{c.ID}},
		{ListOptions{After: 1, Limit: 1}, []JobID{2}},
		{ListOptions{State: StatePrinted}, nil},
	} {
		got, err := d.List(ctx, tc.o)
		if err != nil {
			t.Fatal(err)
		}
		var ids []JobID
		for _, j := range got {
			ids = append(ids, j.ID)
			if j.Payload != nil {
				t.Fatalf("List returned a payload")
			}
		}
		if fmt.Sprint(ids) != fmt.Sprint(tc.want) {
			t.Errorf("List(%+v) = %v, want %v", tc.o, ids, tc.want)
		}
	}
	if _, err := d.List(ctx, ListOptions{State: "lost"}); !errors.Is(err, ErrInvalid) {
		t.Fatalf("bad state filter: %v", err)
	}
}

func TestClosed(t *testing.T) {
	d, err := Open(filepath.Join(t.TempDir(), "q.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	d.Close()
	if _, _, err := d.Enqueue(context.Background(), zpl("k", "p")); !errors.Is(err, ErrClosed) {
		t.Fatalf("Enqueue after Close: %v", err)
	}
	if err := d.Close(); !errors.Is(err, ErrClosed) {
		t.Fatalf("second Close: %v", err)
	}
	select {
	case <-d.Wait("p"):
	default:
		t.Fatal("Wait after Close returned an open channel")
	}
}

func TestCloseWakesWaiters(t *testing.T) {
	d, err := Open(filepath.Join(t.TempDir(), "q.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	w, ev := d.Wait("p"), d.WaitEvents()
	d.Close()
	for _, ch := range []<-chan struct{}{w, ev} {
		select {
		case <-ch:
		default:
			t.Fatal("Close left a waiter asleep")
		}
	}
	if _, err := d.Claim(context.Background(), "p"); !errors.Is(err, ErrClosed) {
		t.Fatalf("Claim after Close: %v", err)
	}
}

func TestRetentionSurvivesUnsetClock(t *testing.T) {
	ctx := context.Background()
	clk := clocktest.NewClock(time.Date(1970, 1, 1, 0, 5, 0, 0, time.UTC)) // a Pi booted without RTC
	d := openT(t, filepath.Join(t.TempDir(), "q.db"), &Options{Clock: clk, Retention: 24 * time.Hour, EventRetention: 24 * time.Hour, Consumers: []string{"c"}})
	j := mustEnqueue(t, d, zpl("cloud-1", "p"))
	if _, err := d.Claim(ctx, "p"); err != nil {
		t.Fatal(err)
	}
	if _, err := d.SetState(ctx, j.ID, StatePrinted, ""); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC).Sub(clk.Now())) // NTP sets the clock
	r, err := d.Housekeep(ctx)
	if err != nil || r.JobsDeleted != 0 || r.EventsExpired != 0 {
		t.Fatalf("housekeep right after the clock jump = %+v, %v; want nothing deleted", r, err)
	}
	if again, created, _ := d.Enqueue(ctx, zpl("cloud-1", "p")); created || again.ID != j.ID {
		t.Fatalf("redelivered job after the clock jump was created again (%s)", again.ID)
	}
	clk.Advance(25 * time.Hour)
	if r, err := d.Housekeep(ctx); err != nil || r.JobsDeleted != 1 {
		t.Fatalf("housekeep a retention later = %+v, %v; want the job deleted", r, err)
	}
}

func TestOpenMigratesAnEmptyFile(t *testing.T) {
	path := filepath.Join(t.TempDir(), "q.db")
	b, err := bolt.Open(path, 0o600, nil) // schema 0: a bare bbolt file
	if err != nil {
		t.Fatal(err)
	}
	b.Close()
	d := openT(t, path, nil)
	mustEnqueue(t, d, zpl("k", "p"))
	err = d.View(func(tx *Tx) error {
		if v := tx.bucket(bMeta).Get([]byte("schema")); string(v) != string(u64(SchemaVersion)) {
			return fmt.Errorf("schema = %x", v)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestOriginPersists: a job's origin (a raw 9100 sender's address) is
// stored with it, listed, and read back after a reopen.
func TestOriginPersists(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "packbench.db")
	d := openT(t, path, nil)
	nj := zpl("raw9100:1", "zebra")
	nj.Source, nj.Origin = SourceRaw9100, "192.0.2.7:50312"
	if j := mustEnqueue(t, d, nj); j.Origin != nj.Origin {
		t.Fatalf("enqueued origin %q, want %q", j.Origin, nj.Origin)
	}
	if err := d.Close(); err != nil {
		t.Fatal(err)
	}
	d = openT(t, path, nil)
	j, err := d.JobByKey(ctx, "raw9100:1")
	if err != nil || j.Origin != nj.Origin || j.Source != SourceRaw9100 {
		t.Fatalf("after reopen %+v %v: want origin %q", j, err, nj.Origin)
	}
	l, err := d.List(ctx, ListOptions{})
	if err != nil || len(l) != 1 || l[0].Origin != nj.Origin {
		t.Fatalf("listed %+v %v: want origin %q", l, err, nj.Origin)
	}
}
