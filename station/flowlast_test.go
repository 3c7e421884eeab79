package station

import (
	"context"
	"testing"

	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/scale"
)

// TestFlowLastLabelSurvivesARestart: after a restart the flow is idle but
// still names its last label and job (the packer's page shows it, with
// Reprint), with the job's state as it is now.
func TestFlowLastLabelSurvivesARestart(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	db := openDB(t, dir, clk)
	st := newStation(t, db, clk, Config{})
	if s := st.State(); s.LabelID != "" || s.JobID != 0 {
		t.Fatalf("a new bench names a last label: %+v", s)
	}
	ctx := context.Background()
	mustCreate(t, st, Order{Packages: 2, AssociatedIdentifiers: []string{"LPN-R"}})
	if _, err := st.Scan(ctx, "LPN-R"); err != nil {
		t.Fatal(err)
	}
	sc := newFeeder(t, st, clk)
	sc.hold(0, scale.StatusZero, 3)
	sc.place(1200)
	before := st.State()
	if before.LabelID == "" || before.JobID == 0 || before.TrackingNumber == "" {
		t.Fatalf("no label: %+v", before)
	}
	if _, err := db.Cancel(ctx, before.JobID, "test"); err != nil {
		t.Fatal(err)
	}
	db.Close()

	db = openDB(t, dir, clk)
	after := newStation(t, db, clk, Config{}).State()
	if after.State != FlowIdle || after.LabelID != before.LabelID || after.JobID != before.JobID ||
		after.TrackingNumber != before.TrackingNumber || after.Weight != "1200 g" || after.JobState != queue.StateCancelled {
		t.Fatalf("after a restart: %+v, before %+v", after, before)
	}
}
