package uplink

import (
	"context"
	"encoding/json"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/scale"
	"github.com/packbench/packbench/station"
)

type cmdBench struct {
	db   *queue.DB
	st   *station.Station
	sim  *scale.Simulator
	cmds *BenchCommands
}

type testConfigView struct{}

func (testConfigView) ConfigView() any { return map[string]string{"bench": "b1"} }

// newCmdBench is the daemon's command set on real parts: a queue file, a
// station and a scale link to the simulated scale.
func newCmdBench(t testing.TB) *cmdBench {
	t.Helper()
	db, err := queue.Open(filepath.Join(t.TempDir(), "q.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st, err := station.New(db, &station.Options{Printers: []string{"p1", "p2"}})
	if err != nil {
		t.Fatal(err)
	}
	sim := scale.NewSimulator(nil)
	link := scale.NewLink(sim.Open, &scale.LinkOptions{Source: "sim"})
	first, unsub := link.Subscribe(1)
	defer unsub()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); link.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	select { // connected: tare and zero reach the scale
	case <-first:
	case <-time.After(10 * time.Second):
		t.Fatal("no first reading from the simulated scale")
	}
	cmds, err := NewBenchCommands(CommandDeps{Station: st, Jobs: db, Scale: link, Config: testConfigView{}},
		&CommandOptions{Printers: []string{"p1", "p2"}, About: "b1, version test"})
	if err != nil {
		t.Fatal(err)
	}
	return &cmdBench{db: db, st: st, sim: sim, cmds: cmds}
}

// TestBenchCommands runs every verb of the daemon's command set, and the
// argument errors that name the argument.
func TestBenchCommands(t *testing.T) {
	ctx := context.Background()
	b := newCmdBench(t)
	do := func(verb, args string) (any, error) {
		var raw json.RawMessage
		if args != "" {
			raw = json.RawMessage(args)
		}
		return b.cmds.Do(ctx, verb, raw)
	}

	res, err := do(VerbTestPrint, `{"printer":"p2"}`)
	job, ok := res.(queue.Job)
	if err != nil || !ok || job.Printer != "p2" || job.Source != queue.SourceMQTT {
		t.Fatalf("test-print: %#v %v", res, err)
	}
	if _, err := do(VerbTestPrint, `{"printer":"nope"}`); err == nil || !strings.HasPrefix(err.Error(), "args.printer: ") {
		t.Errorf("test-print on an unknown printer: %v", err)
	}
	if res, err = do(VerbCancel, `{"job":"`+job.ID.String()+`","reason":"not needed"}`); err != nil || res.(queue.Job).State != queue.StateCancelled {
		t.Fatalf("cancel: %#v %v", res, err)
	}
	if _, err = do(VerbRetry, `{"job":"`+job.ID.String()+`"}`); !errors.Is(err, queue.ErrInvalidTransition) {
		t.Fatalf("retry of a cancelled job: %v", err)
	}
	// A job that failed at the printer is retried.
	if _, err := do(VerbTestPrint, `{"printer":"p2"}`); err != nil {
		t.Fatal(err)
	}
	claimed, err := b.db.Claim(ctx, "p2")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := b.db.SetState(ctx, claimed.ID, queue.StateFailed, "paper jam"); err != nil {
		t.Fatal(err)
	}
	if res, err = do(VerbRetry, `{"job":"`+claimed.ID.String()+`"}`); err != nil || res.(queue.Job).State != queue.StateQueued {
		t.Fatalf("retry: %#v %v", res, err)
	}
	if j, err := b.db.Job(ctx, claimed.ID); err != nil || j.State != queue.StateQueued || j.ID == job.ID {
		t.Fatalf("job after retry: %+v %v", j, err)
	}
	for _, verb := range []string{VerbTare, VerbZero} {
		if res, err := do(verb, ""); err != nil || !strings.Contains(mustJSON(t, res), `"ok":true`) {
			t.Errorf("%s: %#v %v", verb, res, err)
		}
	}
	if res, err := do(VerbConfigGet, "null"); err != nil || mustJSON(t, res) != `{"bench":"b1"}` {
		t.Errorf("config-get: %#v %v", res, err)
	}
	if _, err := do(VerbReprint, `{"id":"PKG-404"}`); !errors.Is(err, station.ErrNotFound) {
		t.Errorf("reprint of nothing: %v, want station.ErrNotFound", err)
	}

	for _, tc := range []struct{ verb, args, want string }{
		{VerbReprint, `{}`, "args.id: required"},
		{VerbReprint, `{"id":"x","printer":"p9"}`, `args.printer: "p9": no such printer`},
		{VerbCancel, `{"job":"nope"}`, `args.job: "nope"`},
		{VerbCancel, `{"job":"j1","colour":"red"}`, "args.colour: unknown field"},
		{VerbRetry, `{"job":42}`, "args.job: want a string, got number"},
		{VerbTare, `{"x":1}`, "args.x: unknown field"},
		{VerbConfigGet, `{} {}`, "args: unexpected data after the JSON value"},
	} {
		if _, err := do(tc.verb, tc.args); err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s %s: %v, want %q", tc.verb, tc.args, err, tc.want)
		}
	}
	if _, err := do("firmware-update", ""); !errors.Is(err, ErrUnknownVerb) {
		t.Errorf("unknown verb: %v", err)
	}
	if got := b.cmds.Verbs(); !slices.Equal(got, benchVerbs) {
		t.Errorf("Verbs %v", got)
	}
}
