package station

import (
	"context"
	"fmt"
	"maps"
	"slices"
	"sync"

	"github.com/packbench/packbench/queue"
)

// Jobs for a printer that is not configured (it was renamed or removed
// from the config while jobs waited for it, or a job for it was retried)
// have no worker to take them. They are not failed: failed means the
// printer was tried, the queue has no queued → failed move, and a job kept
// queued prints by itself as soon as a printer of that name is configured
// again (no retry needed). Instead they are reported: a warning when the
// station starts, and Unprintable for the health report, until they print
// or an operator cancels them.

// unprintable follows the queued jobs whose printer is not configured.
type unprintable struct {
	mu   sync.Mutex
	jobs map[queue.JobID]string // job → its printer
}

// track notes a job's state change: queued for an unknown printer adds
// it, anything else removes it.
func (s *Station) track(id queue.JobID, printer string, to queue.State) {
	s.stranded.mu.Lock()
	defer s.stranded.mu.Unlock()
	if to == queue.StateQueued && s.knownPrinter(printer) != nil {
		if s.stranded.jobs == nil {
			s.stranded.jobs = map[queue.JobID]string{}
		}
		s.stranded.jobs[id] = printer
		return
	}
	delete(s.stranded.jobs, id)
}

// trackEvent follows the outbox (Run): every job event passes here.
func (s *Station) trackEvent(ev queue.Event) {
	if ev.JobID != 0 && (ev.Type == queue.EventJobState || ev.Type == queue.EventJobQueued) {
		s.track(ev.JobID, ev.Printer, ev.To)
	}
}

// scanUnprintable finds, when the station starts, the queued jobs whose
// printer is not configured, page by page.
func (s *Station) scanUnprintable(ctx context.Context) error {
	var after queue.JobID
	for {
		jobs, err := s.db.List(ctx, queue.ListOptions{State: queue.StateQueued, After: after, Limit: 500})
		if err != nil {
			return err
		}
		for _, j := range jobs {
			s.track(j.ID, j.Printer, j.State)
		}
		if len(jobs) < 500 {
			break
		}
		after = jobs[len(jobs)-1].ID
	}
	for _, u := range s.Unprintable() {
		s.log.Warn(u.String()+": they print when it is configured again, or cancel them",
			"printer", u.Printer, "jobs", u.Jobs, "configured", s.Printers())
	}
	return nil
}

// Unprintable is how many queued jobs wait for a printer that is not
// configured.
type Unprintable struct {
	Printer string
	Jobs    int
}

// String is the sentence the health report and the log show.
func (u Unprintable) String() string {
	return fmt.Sprintf("%d jobs cannot print: printer %q is not configured", u.Jobs, u.Printer)
}

// Unprintable lists the queued jobs that cannot print, by the printer
// they wait for, in printer order; nil when there are none.
func (s *Station) Unprintable() []Unprintable {
	s.stranded.mu.Lock()
	defer s.stranded.mu.Unlock()
	n := map[string]int{}
	for _, p := range s.stranded.jobs {
		n[p]++
	}
	var out []Unprintable
	for _, p := range slices.Sorted(maps.Keys(n)) {
		out = append(out, Unprintable{Printer: p, Jobs: n[p]})
	}
	return out
}
