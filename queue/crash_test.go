package queue

import (
	"bufio"
	"bytes"
	"context"
	"encoding/binary"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// The crash test re-executes this test binary as a child (TestMain switches
// on crashChildEnv). The child works on the file and prints each operation
// after it returned success; the parent SIGKILLs it at a random moment,
// reopens the file and checks that everything acknowledged is there.
const (
	crashChildEnv = "PACKBENCH_QUEUE_CRASH_CHILD"
	crashKills    = 200
)

// holdChildEnv makes the test binary a child that holds the file open
// until its stdin closes.
const holdChildEnv = "PACKBENCH_QUEUE_HOLD_CHILD"

func TestMain(m *testing.M) {
	if os.Getenv(crashChildEnv) != "" {
		os.Exit(crashChild())
	}
	if path := os.Getenv(holdChildEnv); path != "" {
		d, err := Open(path, nil)
		if err != nil {
			fmt.Println("ERR", err)
			os.Exit(3)
		}
		fmt.Println("ready")
		io.Copy(io.Discard, os.Stdin)
		d.Close()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// TestSecondProcessGetsErrLocked opens the file from a child process and
// checks that this process gets ErrLocked in time, then the file once the
// child let go.
func TestSecondProcessGetsErrLocked(t *testing.T) {
	path := filepath.Join(t.TempDir(), "packbench.db")
	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), holdChildEnv+"="+path)
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || line != "ready\n" {
		t.Fatalf("child said %q, %v", line, err)
	}
	_, err = Open(path, &Options{Timeout: 200 * time.Millisecond})
	if !errors.Is(err, ErrLocked) || !strings.Contains(err.Error(), path) || !strings.Contains(err.Error(), "packbenchd") {
		t.Fatalf("Open while another process holds the file: %v", err)
	}
	stdin.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("child: %v", err)
	}
	d, err := Open(path, nil)
	if err != nil {
		t.Fatalf("Open after the child closed: %v", err)
	}
	d.Close()
}

// crashChild enqueues from several goroutines, claims and finishes jobs,
// retries uncertain ones, reads and acknowledges events and sometimes
// compacts, until killed (or out of work).
func crashChild() int {
	path := os.Getenv(crashChildEnv)
	round, _ := strconv.Atoi(os.Getenv(crashChildEnv + "_ROUND"))
	seed, _ := strconv.ParseUint(os.Getenv(crashChildEnv+"_SEED"), 10, 64)
	var again []string
	if s := os.Getenv(crashChildEnv + "_AGAIN"); s != "" {
		again = strings.Split(s, ",")
	}
	out := func(format string, args ...any) {
		// One write per line: a pipe write this small is atomic.
		os.Stdout.WriteString(fmt.Sprintf(format, args...) + "\n")
	}
	fail := func(op string, err error) {
		out("ERR %s: %v", op, err)
		os.Exit(3)
	}
	ctx := context.Background()
	d, err := Open(path, &Options{Timeout: 10 * time.Second, Consumers: []string{"c"}})
	if err != nil {
		fail("open", err)
	}
	// Every eighth round compacts before "ready" too, so compactions are
	// acknowledged however rarely one inside the work below completes
	// before its kill (rounds killed from the start can land in it).
	if rand.New(rand.NewPCG(seed, 99)).IntN(8) == 0 {
		if err := d.Compact(ctx); err != nil {
			fail("compact", err)
		}
		out("K")
	}
	out("ready")
	var wg sync.WaitGroup
	printers := []string{"p1", "p2"}
	for g := range 3 {
		wg.Go(func() {
			for i := range 30 {
				nj := zpl(fmt.Sprintf("r%d-g%d-%d", round, g, i), printers[(g+i)%2])
				j, created, err := d.Enqueue(ctx, nj)
				if err != nil {
					fail("enqueue", err)
				}
				if !created {
					fail("enqueue", fmt.Errorf("new key %s answered with existing job %s", nj.Key, j.ID))
				}
				out("E %s %d", nj.Key, j.ID)
			}
		})
	}
	wg.Go(func() {
		for _, key := range again {
			j, created, err := d.Enqueue(ctx, zpl(key, "p1"))
			if err != nil {
				fail("enqueue again", err)
			}
			out("D %s %d %v", key, j.ID, created)
		}
	})
	for _, p := range printers {
		wg.Go(func() {
			rng := rand.New(rand.NewPCG(seed, uint64(len(p))))
			for range 60 {
				if rng.IntN(20) == 0 {
					if err := d.Compact(ctx); err != nil {
						fail("compact", err)
					}
					out("K")
				}
				if rng.IntN(10) == 0 {
					// Deletes the events the consumer acknowledged.
					if _, err := d.Housekeep(ctx); err != nil {
						fail("housekeep", err)
					}
				}
				if rng.IntN(4) == 0 {
					u, err := d.List(ctx, ListOptions{State: StateUncertain, Printer: p, Limit: 1})
					if err != nil {
						fail("list", err)
					}
					for _, j := range u {
						if _, err := d.Retry(ctx, j.ID, "crash test retry"); err != nil {
							fail("retry", err)
						}
						out("S %d queued", j.ID)
					}
				}
				// p2's worker marks Transmitting before it "writes", as
				// the printer worker does; p1's uses the plain Claim.
				claim := d.Claim
				if p == "p2" {
					claim = d.ClaimUnsent
				}
				ch := d.Wait(p)
				j, err := claim(ctx, p)
				if errors.Is(err, ErrEmpty) {
					select {
					case <-ch:
					case <-time.After(50 * time.Millisecond): // nothing more to do on this printer
					}
					continue
				}
				if err != nil {
					fail("claim", err)
				}
				out("C %d", j.ID)
				transmit := func() {
					if p != "p2" {
						return
					}
					if _, err := d.Transmitting(ctx, j.ID); err != nil {
						fail("transmitting", err)
					}
					out("T %d", j.ID)
				}
				switch n := rng.IntN(10); {
				case n < 6:
					transmit()
					if _, err := d.SetState(ctx, j.ID, StatePrinted, "ok"); err != nil {
						fail("printed", err)
					}
					out("S %d printed", j.ID)
				case n < 7:
					if _, err := d.SetState(ctx, j.ID, StateFailed, "head open"); err != nil {
						fail("failed", err)
					}
					out("S %d failed", j.ID)
				case n < 8:
					if _, err := d.Requeue(ctx, j.ID, "paper out"); err != nil {
						fail("requeue", err)
					}
					out("S %d queued", j.ID)
				case p == "p2" && rng.IntN(2) == 0:
					// Leave it in sending, never transmitted: a kill now
					// must put it back in its queue.
					out("U %d", j.ID)
				default:
					// Leave it in sending: a kill now must recover it as uncertain.
					transmit()
				}
			}
		})
	}
	wg.Go(func() {
		for range 200 {
			ch := d.WaitEvents()
			evs, err := d.Events(ctx, "c", 7)
			if err != nil {
				fail("events", err)
			}
			if len(evs) == 0 {
				select {
				case <-ch:
				case <-time.After(50 * time.Millisecond):
				}
				continue
			}
			last := evs[len(evs)-1].ID
			if err := d.Ack(ctx, "c", last); err != nil {
				fail("ack", err)
			}
			out("A %d", last)
		}
	})
	wg.Wait()
	if err := d.Close(); err != nil {
		fail("close", err)
	}
	out("done")
	return 0
}

// crashLog is what the children acknowledged, over all rounds.
type crashLog struct {
	enqueued map[string]JobID   // key → id
	states   map[JobID][]State  // states the child saw committed, in order
	claims   map[JobID]int      // successful claims per job
	acked    uint64             // highest acknowledged event id
	compacts int                // compactions acknowledged
	deleted  uint64             // highest event id housekeeping deleted
	again    map[string][]JobID // keys re-enqueued and the ids answered
	// Since the last reopen: jobs whose last acknowledged step was
	// Transmitting (true) or leaving the claim unsent (false).
	transmit map[JobID]bool
	// how many of each the checks saw, so the test shows it tried both
	recoveredT, recoveredU int
}

func (l *crashLog) apply(t *testing.T, line string) {
	f := strings.Fields(line)
	id := func(i int) JobID {
		v, err := strconv.ParseUint(f[i], 10, 64)
		if err != nil {
			t.Fatalf("child line %q: %v", line, err)
		}
		return JobID(v)
	}
	switch f[0] {
	case "ready", "done":
	case "K":
		l.compacts++
	case "E":
		if prev, ok := l.enqueued[f[1]]; ok {
			t.Fatalf("key %s acknowledged twice as new (jobs %s and %s)", f[1], prev, id(2))
		}
		l.enqueued[f[1]] = id(2)
	case "D":
		if f[3] != "false" {
			t.Fatalf("re-enqueue of committed key %s created a new job %s", f[1], id(2))
		}
		l.again[f[1]] = append(l.again[f[1]], id(2))
	case "C":
		l.claims[id(1)]++
		delete(l.transmit, id(1))
	case "T":
		l.transmit[id(1)] = true
	case "U":
		l.transmit[id(1)] = false
	case "S":
		l.states[id(1)] = append(l.states[id(1)], State(f[2]))
		delete(l.transmit, id(1))
	case "A":
		if v := uint64(id(1)); v > l.acked {
			l.acked = v
		}
	case "ERR":
		t.Fatalf("child failed: %s", line)
	default:
		t.Fatalf("unexpected child line %q", line)
	}
}

func TestCrashKill(t *testing.T) {
	if os.Getenv(crashChildEnv) != "" {
		t.Skip("child")
	}
	path := filepath.Join(t.TempDir(), "packbench.db")
	rng := rand.New(rand.NewPCG(20261122, 3))
	log := &crashLog{enqueued: map[string]JobID{}, states: map[JobID][]State{}, claims: map[JobID]int{}, again: map[string][]JobID{}, transmit: map[JobID]bool{}}
	kills, rounds := 0, 0
	for ; kills < crashKills; rounds++ {
		if rounds > crashKills*2 {
			t.Fatalf("only %d of %d rounds ended in a kill", kills, rounds)
		}
		var again []string
		for k := range log.enqueued {
			if len(again) == 3 {
				break
			}
			again = append(again, k)
		}
		cmd := exec.Command(os.Args[0], "-test.run=^$")
		cmd.Env = append(os.Environ(),
			crashChildEnv+"="+path,
			crashChildEnv+"_ROUND="+strconv.Itoa(rounds),
			crashChildEnv+"_SEED="+strconv.FormatUint(rng.Uint64(), 10),
			crashChildEnv+"_AGAIN="+strings.Join(again, ","),
		)
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		stdout, err := cmd.StdoutPipe()
		if err != nil {
			t.Fatal(err)
		}
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		lines := make(chan string, 1024)
		go func() {
			defer close(lines)
			r := bufio.NewReader(stdout)
			for {
				s, err := r.ReadString('\n')
				if err != nil {
					return // a fragment without '\n' was cut by the kill: not acknowledged
				}
				lines <- strings.TrimSuffix(s, "\n")
			}
		}()
		// Most rounds kill during work, after a random number of
		// acknowledged lines (a count of work done, not a time, so a slow
		// machine still gets work done in every round; the child keeps
		// working while the kill is sent, so it lands anywhere); some kill
		// a random time from the start, hitting file creation, Open and
		// recovery.
		fromStart := rng.IntN(8) == 0
		delay := time.Duration(rng.IntN(30000)) * time.Microsecond
		killAfter := -1 // lines after "ready"; -1 until ready
		var killAt <-chan time.Time
		if fromStart {
			killAt = time.After(delay)
		}
		kill := func() {
			cmd.Process.Signal(syscall.SIGKILL)
			killAt, killAfter = nil, -1
		}
		deadline := time.After(60 * time.Second) // against a hung child only
	read:
		for {
			select {
			case s, ok := <-lines:
				if !ok {
					break read
				}
				log.apply(t, s)
				switch {
				case s == "ready" && !fromStart:
					killAfter = rng.IntN(30)
				case killAfter > 0:
					killAfter--
				}
				if killAfter == 0 {
					kill()
				}
			case <-killAt:
				kill() // the fault injection, not synchronisation
			case <-deadline:
				cmd.Process.Kill()
				t.Fatalf("round %d: child did not finish; stderr: %s", rounds, stderr.String())
			}
		}
		err = cmd.Wait()
		var ee *exec.ExitError
		switch {
		case err == nil:
		case errors.As(err, &ee) && ee.Sys().(syscall.WaitStatus).Signal() == syscall.SIGKILL:
			kills++
		default:
			t.Fatalf("round %d: child: %v; stderr: %s", rounds, err, stderr.String())
		}
		checkCrashInvariants(t, path, log, rounds)
	}
	t.Logf("%d rounds, %d kills, %d jobs and %d compactions acknowledged, events acked up to %d, deleted up to %d; recovered %d transmitting jobs as uncertain and %d never transmitted as queued",
		rounds, kills, len(log.enqueued), log.compacts, log.acked, log.deleted, log.recoveredT, log.recoveredU)
	if len(log.enqueued) < crashKills || log.acked == 0 || log.deleted == 0 || log.compacts == 0 || log.recoveredT == 0 || log.recoveredU == 0 {
		t.Fatalf("the children did too little work for the kills to mean anything")
	}
}

// checkCrashInvariants reopens the file (running recovery) and checks it
// against everything the children acknowledged.
func checkCrashInvariants(t *testing.T, path string, log *crashLog, round int) {
	t.Helper()
	ctx := context.Background()
	d, err := Open(path, &Options{Timeout: 10 * time.Second})
	if err != nil {
		t.Fatalf("round %d: reopen: %v", round, err)
	}
	defer d.Close()
	jobs, err := d.List(ctx, ListOptions{})
	if err != nil {
		t.Fatalf("round %d: list: %v", round, err)
	}
	byKey := map[string]Job{}
	byID := map[JobID]Job{}
	for _, j := range jobs {
		if prev, dup := byKey[j.Key]; dup {
			t.Fatalf("round %d: key %s stored twice: %s and %s", round, j.Key, prev.ID, j.ID)
		}
		byKey[j.Key] = j
		byID[j.ID] = j
		if j.State == StateSending {
			t.Fatalf("round %d: job %s left in sending after reopen", round, j.ID)
		}
	}
	for key, id := range log.enqueued {
		j, ok := byKey[key]
		if !ok || j.ID != id {
			t.Fatalf("round %d: acknowledged enqueue %s (job %s) lost: found %+v", round, key, id, j)
		}
	}
	for key, ids := range log.again {
		for _, id := range ids {
			if id != log.enqueued[key] {
				t.Fatalf("round %d: re-enqueue of %s answered %s, original %s", round, key, id, log.enqueued[key])
			}
		}
	}
	for id, states := range log.states {
		j := byID[id]
		h := j.History
		for _, s := range states { // the acknowledged states appear in the history in order
			for len(h) > 0 && h[0].To != s {
				h = h[1:]
			}
			if len(h) == 0 {
				t.Fatalf("round %d: job %s: acknowledged state %s missing from history %+v", round, id, s, j.History)
			}
			h = h[1:]
		}
	}
	// Transmitting is write-ahead: a job marked is never put back as never
	// sent (that could print it twice); one left unsent always is.
	for id, transmitted := range log.transmit {
		j := byID[id]
		last := j.History[len(j.History)-1]
		neverSent := j.State == StateQueued && last.Reason == unsentReason
		if transmitted && (j.State == StateQueued || last.Reason == unsentReason) {
			t.Fatalf("round %d: job %s was transmitting, recovered %s (%q)", round, id, j.State, last.Reason)
		}
		if !transmitted && !neverSent {
			t.Fatalf("round %d: job %s was claimed and never transmitted, recovered %s (%q), want queued: never sent", round, id, j.State, last.Reason)
		}
		if j.State == StateUncertain && transmitted {
			log.recoveredT++
		}
		if neverSent {
			log.recoveredU++
		}
	}
	clear(log.transmit)
	for id, n := range log.claims {
		sending := 0
		for _, tr := range byID[id].History {
			if tr.To == StateSending {
				sending++
			}
		}
		if sending < n {
			t.Fatalf("round %d: job %s claimed %d times, history shows %d", round, id, n, sending)
		}
	}
	// The outbox: one event per history entry, in order, ids contiguous;
	// only events the consumer acknowledged may have been deleted.
	err = d.View(func(tx *Tx) error {
		cur := binary.BigEndian.Uint64(tx.bucket(bConsumers).Get([]byte("c")))
		last := tx.bucket(bEvents).Sequence()
		if cur < log.acked || cur > last {
			return fmt.Errorf("consumer cursor %d, acknowledged %d, last event %d", cur, log.acked, last)
		}
		events := map[uint64]Event{}
		first := last + 1 // oldest retained event
		if err := tx.bucket(bEvents).ForEach(func(k, v []byte) error {
			var ev Event
			if err := json.Unmarshal(v, &ev); err != nil {
				return err
			}
			if first > last {
				first = ev.ID
			}
			if ev.ID != binary.BigEndian.Uint64(k) || ev.ID != first+uint64(len(events)) {
				return fmt.Errorf("event key %d holds id %d, expected %d: gap or reorder", binary.BigEndian.Uint64(k), ev.ID, first+uint64(len(events)))
			}
			events[ev.ID] = ev
			return nil
		}); err != nil {
			return err
		}
		if first-1 > cur {
			return fmt.Errorf("events up to %d deleted, consumer acknowledged only %d", first-1, cur)
		}
		log.deleted = max(log.deleted, first-1)
		if first <= last && uint64(len(events)) != last-first+1 {
			return fmt.Errorf("outbox holds %d events for ids %d..%d", len(events), first, last)
		}
		seen := 0
		for _, j := range jobs {
			for i, tr := range j.History {
				if tr.EventID == 0 || tr.EventID > last {
					return fmt.Errorf("job %s history %d has event %d, outbox ends at %d", j.ID, i, tr.EventID, last)
				}
				if i > 0 && tr.EventID <= j.History[i-1].EventID {
					return fmt.Errorf("job %s events out of order: %+v", j.ID, j.History)
				}
				if tr.EventID < first {
					continue // delivered and deleted (checked above: ≤ cursor)
				}
				ev := events[tr.EventID]
				if ev.JobID != j.ID || ev.From != tr.From || ev.To != tr.To || ev.Reason != tr.Reason || ev.Key != j.Key {
					return fmt.Errorf("job %s history %+v does not match event %+v", j.ID, tr, ev)
				}
				seen++
			}
		}
		if seen != len(events) {
			return fmt.Errorf("%d events retained but %d history entries point at them", len(events), seen)
		}
		// The indexes agree with the records.
		for _, j := range jobs {
			if tx.bucket(bByState).Bucket([]byte(j.State)).Get(j.ID.key()) == nil {
				return fmt.Errorf("job %s missing from state index %s", j.ID, j.State)
			}
			inFIFO := false
			if b := tx.bucket(bFIFO).Bucket([]byte(j.Printer)); b != nil {
				inFIFO = b.Get(j.ID.key()) != nil
			}
			if inFIFO != (j.State == StateQueued) {
				return fmt.Errorf("job %s in state %s: in FIFO = %v", j.ID, j.State, inFIFO)
			}
		}
		n := 0
		for _, s := range States() {
			if b := tx.bucket(bByState).Bucket([]byte(s)); b != nil {
				n += b.Stats().KeyN
			}
		}
		if n != len(jobs) {
			return fmt.Errorf("state index holds %d entries for %d jobs", n, len(jobs))
		}
		return nil
	})
	if err != nil {
		t.Fatalf("round %d: %v", round, err)
	}
	ents, _ := os.ReadDir(filepath.Dir(path))
	for _, e := range ents {
		if e.Name() == filepath.Base(path)+".compact" {
			t.Fatalf("round %d: Open left the compaction temporary behind", round)
		}
	}
}
