package api_test

import (
	"testing"

	"github.com/packbench/packbench/api"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/station"
)

// A shipment or reprint naming a printer the bench does not have is
// refused naming the field, and no job is made: a job for "../../x" would
// wait forever for a worker that does not exist.
func TestJobsOnlyForPrintersThatExist(t *testing.T) {
	b := newBench(t, nil)
	b.ok("POST", "/api/v1/orders", validOrder("SO-PR1"), nil)
	ship := func(printer string) answer {
		return b.do("POST", "/api/v1/shipments", map[string]any{"order_id": "SO-PR1",
			"weight": map[string]any{"milligrams": 1200000}, "printer": printer})
	}
	for _, name := range []string{"nope", "../../x", "P1"} {
		ship(name).wantError(t, 400, api.CodeInvalidField, "printer")
	}
	counts, err := b.db.Counts(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if n := counts[queue.StateQueued]; n != 0 {
		t.Fatalf("refused shipments queued %d job(s)", n)
	}
	var p station.Package
	ship("p1").decode(t, &p)
	if p.Printer != "p1" || p.JobID == 0 {
		t.Fatalf("shipment to p1: %+v", p)
	}
	for _, name := range []string{"nope", "../../x"} {
		b.do("POST", "/api/v1/jobs/"+p.JobID.String()+"/reprint", map[string]string{"printer": name}).
			wantError(t, 400, api.CodeInvalidField, "printer")
	}
	var j queue.Job
	b.do("POST", "/api/v1/jobs/"+p.JobID.String()+"/reprint", map[string]string{"printer": "p1"}).decode(t, &j)
	if j.Printer != "p1" || j.ID == p.JobID {
		t.Fatalf("reprint to p1: %+v", j)
	}
	// A printer name in the path is an id: "../../x" is refused as one,
	// an unknown well-formed name is a missing resource.
	b.do("POST", "/api/v1/printers/..%2F..%2Fx/test", nil).wantError(t, 400, api.CodeInvalidField, "name")
	b.do("POST", "/api/v1/printers/nope/test", nil).wantError(t, 404, api.CodeNotFound, "")
	if counts, err = b.db.Counts(t.Context()); err != nil || counts[queue.StateQueued] != 2 {
		t.Fatalf("queued jobs %v (%v), want the shipment and the reprint only", counts, err)
	}
}
