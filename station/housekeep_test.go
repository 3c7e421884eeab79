package station

import (
	"context"
	"errors"
	"testing"
	"time"
)

func TestHousekeepDeletesOldLabels(t *testing.T) {
	clk := newClock()
	db := openDB(t, t.TempDir(), clk)
	st := newStation(t, db, clk, Config{})
	ctx := context.Background()
	o := mustCreate(t, st, Order{Packages: 3})
	ship := func() Package {
		p, err := st.Ship(ctx, ShipRequest{OrderID: o.ID, Weight: Weight{Milligrams: 100_000}})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}
	old1, old2 := ship(), ship()
	clk.Advance(DefaultLabelRetention + time.Hour)
	recent := ship()
	if n, err := st.Housekeep(ctx, 0); err != nil || n != 2 {
		t.Fatalf("Housekeep = %d, %v; want 2", n, err)
	}
	for _, p := range []Package{old1, old2} {
		if _, err := st.LabelZPL(ctx, p.Reference); !errors.Is(err, ErrNotFound) {
			t.Errorf("old label %s: %v, want ErrNotFound", p.Reference, err)
		}
		if _, _, err := st.Reprint(ctx, p.Reference, ""); !errors.Is(err, ErrConflict) {
			t.Errorf("reprint of %s: %v, want ErrConflict", p.Reference, err)
		}
		got, err := st.Package(ctx, p.Reference)
		if err != nil || !got.LabelDeleted || got.HasPreview || got.TrackingNumber != p.TrackingNumber {
			t.Errorf("package %+v, %v", got, err)
		}
	}
	if _, err := st.LabelPNG(ctx, recent.Reference); err != nil {
		t.Errorf("recent label: %v", err)
	}
	if n, err := st.Housekeep(ctx, 0); err != nil || n != 0 {
		t.Errorf("second Housekeep = %d, %v; want 0", n, err)
	}
	if n, err := st.Housekeep(ctx, time.Minute); err != nil || n != 0 {
		t.Errorf("Housekeep(1m) right after labelling = %d, %v; want 0", n, err)
	}
	clk.Advance(2 * time.Minute)
	if n, err := st.Housekeep(ctx, time.Minute); err != nil || n != 1 {
		t.Errorf("Housekeep(1m) later = %d, %v; want 1", n, err)
	}
}
