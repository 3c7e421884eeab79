package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/packbench/packbench/internal/datadir"
	"github.com/packbench/packbench/queue"
)

func runJobsT(t *testing.T, args ...string) (string, error) {
	t.Helper()
	out, _, err := runJobsErr(t, args...)
	return out, err
}

func runJobsErr(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	std := &stdio{in: strings.NewReader(""), out: &out, err: &errb, log: slog.New(slog.NewTextHandler(io.Discard, nil))}
	err = runJobs(context.Background(), std, args)
	return out.String(), errb.String(), err
}

// seedJobs makes a data dir with three jobs: queued, failed and printed.
func seedJobs(t *testing.T) (dir string, queued, failed, printed queue.JobID) {
	t.Helper()
	dir = t.TempDir()
	ctx := context.Background()
	db, err := queue.Open(filepath.Join(dir, datadir.DataFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	ids := make([]queue.JobID, 3)
	for i, key := range []string{"pkg-a", "pkg-b\tx", "pkg-c"} {
		j, _, err := db.Enqueue(ctx, queue.NewJob{Key: strings.ReplaceAll(key, "\t", "-"), Source: queue.SourceFlow, Printer: "zebra", ContentType: queue.ContentZPL, Payload: []byte("^XA^XZ")})
		if err != nil {
			t.Fatal(err)
		}
		ids[i] = j.ID
	}
	for _, to := range []queue.State{queue.StateFailed, queue.StatePrinted} {
		j, err := db.Claim(ctx, "zebra")
		if err != nil {
			t.Fatal(err)
		}
		if _, err := db.SetState(ctx, j.ID, to, "head\topen\x1b[31m"); err != nil {
			t.Fatal(err)
		}
	}
	return dir, ids[2], ids[0], ids[1]
}

func TestJobsListAndShow(t *testing.T) {
	dir, queued, failed, printed := seedJobs(t)
	out, err := runJobsT(t, "--data-dir", dir, "list")
	if err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if len(lines) != 4 || !strings.HasPrefix(lines[0], "ID ") || !strings.Contains(lines[1], failed.String()) || !strings.Contains(lines[1], "failed") {
		t.Fatalf("list output:\n%s", out)
	}
	if strings.ContainsAny(out, "\t\x1b") {
		t.Fatalf("control characters from stored text reached the table: %q", out)
	}
	// Columns line up: STATE starts at the same offset on every line.
	col := strings.Index(lines[0], "STATE")
	for _, l := range lines[1:] {
		if !strings.HasPrefix(l[col:], "failed") && !strings.HasPrefix(l[col:], "printed") && !strings.HasPrefix(l[col:], "queued") {
			t.Fatalf("misaligned row %q", l)
		}
	}

	out, err = runJobsT(t, "list", "--data-dir", dir, "--state", "queued", "--json")
	if err != nil {
		t.Fatal(err)
	}
	var jobs []queue.Job
	if err := json.Unmarshal([]byte(out), &jobs); err != nil || len(jobs) != 1 || jobs[0].ID != queued {
		t.Fatalf("list --json = %s (%v)", out, err)
	}
	if out, _ := runJobsT(t, "list", "--data-dir", dir, "--printer", "other", "--json"); strings.TrimSpace(out) != "[]" {
		t.Fatalf("empty list as JSON = %q, want []", out)
	}
	if _, err := runJobsT(t, "list", "--data-dir", dir, "--state", "lost"); err == nil || !strings.Contains(err.Error(), "--state") {
		t.Fatalf("bad --state: %v", err)
	}

	out, err = runJobsT(t, "--data-dir", dir, "show", printed.String())
	if err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{"state:", "printed", "history:", "queued", "sending", "application/zpl, 6 bytes"} {
		if !strings.Contains(out, want) {
			t.Fatalf("show output lacks %q:\n%s", want, out)
		}
	}
	// Internal columns (the outbox event ids) stay out (issue 19).
	if strings.Contains(out, "EVENT") {
		t.Fatalf("show output has the internal event column:\n%s", out)
	}
	out, err = runJobsT(t, "show", "j2", "--json", "--data-dir", dir)
	if err != nil {
		t.Fatal(err)
	}
	var j queue.Job
	if err := json.Unmarshal([]byte(out), &j); err != nil || j.ID != 2 || len(j.History) != 3 || j.History[2].To != queue.StatePrinted {
		t.Fatalf("show --json = %s (%v)", out, err)
	}
	if out, err := runJobsT(t, "show", "--payload", "--data-dir", dir, queued.String()); err != nil || out != "^XA^XZ" {
		t.Fatalf("show --payload = %q, %v", out, err)
	}
	if _, err := runJobsT(t, "show", "--data-dir", dir, "j99"); !errors.Is(err, queue.ErrNotFound) {
		t.Fatalf("show missing job: %v", err)
	}
	if _, err := runJobsT(t, "show", "--data-dir", dir, "nonsense"); err == nil || !strings.Contains(err.Error(), "job id") {
		t.Fatalf("show bad id: %v", err)
	}
}

func TestJobsRetryCancelMarkPrinted(t *testing.T) {
	dir, queued, failed, printed := seedJobs(t)
	out, err := runJobsT(t, "--data-dir", dir, "retry", failed.String())
	if err != nil || !strings.Contains(out, "failed → queued") {
		t.Fatalf("retry = %q, %v", out, err)
	}
	if out, err := runJobsT(t, "--data-dir", dir, "cancel", queued.String(), "--reason", "customer changed address"); err != nil || !strings.Contains(out, "queued → cancelled") {
		t.Fatalf("cancel = %q, %v", out, err)
	}
	_, err = runJobsT(t, "--data-dir", dir, "mark-printed", printed.String())
	if !errors.Is(err, queue.ErrInvalidTransition) || !strings.Contains(err.Error(), "from printed to printed") {
		t.Fatalf("mark-printed on a printed job: %v", err)
	}
	// The changes are in the file.
	db, err := queue.Open(filepath.Join(dir, datadir.DataFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	j, _ := db.Job(context.Background(), queued)
	if j.State != queue.StateCancelled || j.History[len(j.History)-1].Reason != "customer changed address" {
		t.Fatalf("cancelled job = %+v", j)
	}
	if j, _ := db.Job(context.Background(), failed); j.State != queue.StateQueued || j.Attempts != 0 {
		t.Fatalf("retried job = %+v", j)
	}
}

func TestJobsLockedAndMissing(t *testing.T) {
	dir, _, _, _ := seedJobs(t)
	db, err := queue.Open(filepath.Join(dir, datadir.DataFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	_, err = runJobsT(t, "--data-dir", dir, "list")
	db.Close()
	if !errors.Is(err, queue.ErrLocked) || !strings.Contains(err.Error(), "packbenchd") || !strings.Contains(err.Error(), dir) {
		t.Fatalf("list while the daemon holds the file: %v", err)
	}
	empty := t.TempDir()
	_, err = runJobsT(t, "--data-dir", empty, "list")
	if err == nil || !strings.Contains(err.Error(), "no data file") {
		t.Fatalf("list on an empty dir: %v", err)
	}
	if ents, _ := os.ReadDir(empty); len(ents) != 0 {
		t.Fatalf("listing created files: %v", ents)
	}
	if _, err := runJobsT(t, "--data-dir", dir, "frobnicate"); err == nil || !strings.Contains(err.Error(), "frobnicate") {
		t.Fatalf("unknown command: %v", err)
	}
	if _, err := runJobsT(t, "--data-dir", dir, "retry"); err == nil || !strings.Contains(err.Error(), "want one job ID") {
		t.Fatalf("retry without id: %v", err)
	}
}

func TestJobsDefaultDataDir(t *testing.T) {
	t.Setenv("PACKBENCH_DATA_DIR", "")
	dir, queued, _, _ := seedJobs(t)
	t.Setenv("PACKBENCH_DATA_DIR", dir)
	out, err := runJobsT(t, "list", "--state", "queued")
	if err != nil || !strings.Contains(out, queued.String()) {
		t.Fatalf("list with PACKBENCH_DATA_DIR = %q, %v", out, err)
	}
}

func TestDataDirPrecedence(t *testing.T) {
	home := func() (string, error) { return "/home/pat", nil }
	noHome := func() (string, error) { return "", errors.New("$HOME is not defined") }
	for _, tc := range []struct {
		name string
		env  map[string]string
		home func() (string, error)
		want string
		err  string
	}{
		{"packbench wins", map[string]string{"PACKBENCH_DATA_DIR": "/data", "STATE_DIRECTORY": "/var/lib/x", "XDG_STATE_HOME": "/x"}, home, "/data", ""},
		{"systemd", map[string]string{"STATE_DIRECTORY": "/var/lib/packbench:/var/lib/other", "XDG_STATE_HOME": "/x"}, home, "/var/lib/packbench", ""},
		{"xdg", map[string]string{"XDG_STATE_HOME": "/home/pat/.state"}, home, "/home/pat/.state/packbench", ""},
		{"relative xdg ignored", map[string]string{"XDG_STATE_HOME": "rel"}, home, "/home/pat/.local/state/packbench", ""},
		{"home", nil, home, "/home/pat/.local/state/packbench", ""},
		{"nothing", nil, noHome, "", "--data-dir"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := dataDirFrom(func(k string) string { return tc.env[k] }, tc.home)
			if tc.err != "" {
				if err == nil || !strings.Contains(err.Error(), tc.err) {
					t.Fatalf("err = %v, want one naming %s", err, tc.err)
				}
				return
			}
			if err != nil || got != tc.want {
				t.Fatalf("got %q, %v; want %q", got, err, tc.want)
			}
		})
	}
}

func TestJobsReportsRecovery(t *testing.T) {
	dir, queued, _, _ := seedJobs(t)
	db, err := queue.Open(filepath.Join(dir, datadir.DataFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.Claim(context.Background(), "zebra"); err != nil {
		t.Fatal(err)
	}
	db.Close() // the daemon stopped while sending
	out, stderr, err := runJobsErr(t, "--data-dir", dir, "list", "--state", "uncertain")
	if err != nil || !strings.Contains(out, queued.String()) || !strings.Contains(stderr, "now uncertain") || !strings.Contains(stderr, queued.String()) {
		t.Fatalf("list after a crash: out %q, stderr %q, %v", out, stderr, err)
	}
}

// TestJobsReportsNeverSent: a job claimed for sending but never marked
// transmitting is back in its queue after the crash, and the CLI says so.
func TestJobsReportsNeverSent(t *testing.T) {
	dir, queued, _, _ := seedJobs(t)
	db, err := queue.Open(filepath.Join(dir, datadir.DataFile), nil)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := db.ClaimUnsent(context.Background(), "zebra"); err != nil {
		t.Fatal(err)
	}
	db.Close() // the daemon stopped before the first byte
	out, stderr, err := runJobsErr(t, "--data-dir", dir, "list", "--state", "queued")
	if err != nil || !strings.Contains(out, queued.String()) || !strings.Contains(stderr, "never sent") || !strings.Contains(stderr, queued.String()) {
		t.Fatalf("list after a crash: out %q, stderr %q, %v", out, stderr, err)
	}
}
