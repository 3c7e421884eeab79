package main

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/packbench/packbench/queue"
)

// TestCrashLoopWhilePaperOut: the printer is out of paper and the daemon
// is SIGKILLed five times in a row, each time while its worker has the
// head of the queue claimed and waits for the ~HS that a Zebra without
// paper never answers (the status timeout is a minute, so the kill lands
// in that wait). No byte of the job left, so each restart puts it back at
// the front of the queue ("never sent"): nothing becomes uncertain, the
// job behind it is never claimed, and once the paper is back both print,
// once each.
func TestCrashLoopWhilePaperOut(t *testing.T) {
	emu, addr := emulator(t, nil)
	emu.SetPaperOut(true)
	dir := t.TempDir()
	cfg := filepath.Join(dir, "bench.toml")
	if err := os.WriteFile(cfg, fmt.Appendf(nil, `
[[printer]]
name = "zebra"
transport = "tcp"
address = %q
status_timeout = "1m"
[scale]
driver = "sim"
`, addr), 0o644); err != nil {
		t.Fatal(err)
	}
	const key = "unsent-test-key-0123456789abcdef"
	env := []string{"PACKBENCH_API_KEY=" + key}
	start := func() *daemon {
		d := startDaemon(t, dir, env, "--config", cfg)
		d.key = key
		return d
	}
	job := func(d *daemon, id queue.JobID) queue.Job {
		var j queue.Job
		d.must("GET", "/api/v1/jobs/"+id.String(), nil, &j)
		return j
	}
	d := start()
	var a, b queue.Job
	d.must("POST", "/api/v1/printers/zebra/test", nil, &a)
	d.must("POST", "/api/v1/printers/zebra/test", nil, &b)

	const crashes = 5
	for round := 1; round <= crashes; round++ {
		poll(t, fmt.Sprintf("round %d: job %s claimed", round, a.ID), 20*time.Second, func() (bool, error) {
			var j queue.Job
			_, err := d.call("GET", "/api/v1/jobs/"+a.ID.String(), nil, &j)
			return err == nil && j.State == queue.StateSending, err
		})
		d.kill()
		if round == crashes {
			emu.SetPaperOut(false)
		}
		d = start()
		ja := job(d, a.ID)
		never := 0
		for _, tr := range ja.History {
			if tr.To == queue.StateUncertain {
				t.Fatalf("round %d: job %s went uncertain: %+v", round, a.ID, ja.History)
			}
			if tr.From == queue.StateSending && tr.To == queue.StateQueued && strings.HasPrefix(tr.Reason, "never sent") {
				never++
			}
		}
		if never != round {
			t.Fatalf("round %d: job %s history shows %d recoveries as never sent, want %d: %+v", round, a.ID, never, round, ja.History)
		}
		// Open logged it (before READY=1) and made nothing uncertain.
		if _, err := d.waitLog(regexp.MustCompile(`never sent.*`+a.ID.String()), 10*time.Second); err != nil || strings.Contains(d.log(), "uncertain") {
			t.Fatalf("round %d: restart did not report %s as never sent (%v), or made a job uncertain:\n%s", round, a.ID, err, d.log())
		}
		if round < crashes {
			if jb := job(d, b.ID); jb.State != queue.StateQueued || len(jb.History) != 1 {
				t.Fatalf("round %d: job %s behind the head is %s (%+v), want queued and never claimed", round, b.ID, jb.State, jb.History)
			}
		}
	}

	// Paper is back: both print, in order, once each.
	for _, id := range []queue.JobID{a.ID, b.ID} {
		poll(t, "job "+id.String()+" printed", 20*time.Second, func() (bool, error) {
			var j queue.Job
			_, err := d.call("GET", "/api/v1/jobs/"+id.String(), nil, &j)
			return err == nil && j.State == queue.StatePrinted, err
		})
	}
	if n := len(emu.Labels()); n != 2 {
		t.Fatalf("%d labels at the emulator, want 2", n)
	}
	if js := jobs(t, d, "&state=uncertain"); len(js) != 0 {
		t.Fatalf("uncertain jobs after the crash loop: %+v", js)
	}
	if ja := job(d, a.ID); ja.Attempts != 1 {
		t.Fatalf("job %s: %d attempts, want 1 (a claim never sent does not count)", a.ID, ja.Attempts)
	}
	d.stop()
}
