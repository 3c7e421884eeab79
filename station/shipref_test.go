package station

import (
	"context"
	"errors"
	"sync"
	"testing"
)

// A Ship retried with the same package reference and content returns the
// package made for it: no second label, tracking number or job, also after
// a restart and when the two calls race. Other content is a conflict.
func TestShipReferenceRetries(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	ctx := context.Background()
	db := openDB(t, dir, clk)
	st := newStation(t, db, clk, Config{})
	o := mustCreate(t, st, Order{Packages: 3})
	req := ShipRequest{OrderID: o.ID, Weight: Weight{Milligrams: 640_000}, Reference: "WMS-PKG-1"}
	first, err := st.Ship(ctx, req)
	if err != nil || first.ClientReference != "WMS-PKG-1" || first.TrackingNumber == "" {
		t.Fatalf("first ship: %+v %v", first, err)
	}
	same := func(what string, p Package, err error) {
		t.Helper()
		if err != nil || p.Reference != first.Reference || p.TrackingNumber != first.TrackingNumber || p.JobID != first.JobID {
			t.Fatalf("%s: %+v %v, want package %s (%s, %s)", what, p, err, first.Reference, first.TrackingNumber, first.JobID)
		}
	}
	p, err := st.Ship(ctx, req)
	same("retry", p, err)

	for name, other := range map[string]ShipRequest{
		"other weight":  {OrderID: o.ID, Weight: Weight{Milligrams: 650_000}, Reference: "WMS-PKG-1"},
		"other printer": {OrderID: o.ID, Weight: Weight{Milligrams: 640_000}, Printer: testPrinter, Reference: "WMS-PKG-1"},
		"other order":   {OrderID: mustCreate(t, st, Order{}).ID, Weight: Weight{Milligrams: 640_000}, Reference: "WMS-PKG-1"},
	} {
		if _, err := st.Ship(ctx, other); !errors.Is(err, ErrConflict) {
			t.Fatalf("%s with the same reference: %v, want ErrConflict", name, err)
		}
	}

	// Two at once with a new reference: one package.
	req2 := ShipRequest{OrderID: o.ID, Weight: Weight{Milligrams: 700_000}, Reference: "WMS-PKG-2"}
	var wg sync.WaitGroup
	got := make([]Package, 2)
	errs := make([]error, 2)
	for i := range got {
		wg.Go(func() { got[i], errs[i] = st.Ship(ctx, req2) })
	}
	wg.Wait()
	if errs[0] != nil || errs[1] != nil || got[0].Reference != got[1].Reference || got[0].TrackingNumber != got[1].TrackingNumber {
		t.Fatalf("concurrent ships of one reference: %+v %v / %+v %v", got[0], errs[0], got[1], errs[1])
	}
	db.Close()

	db = openDB(t, dir, clk)
	st = newStation(t, db, clk, Config{})
	p, err = st.Ship(ctx, req)
	same("retry after a restart", p, err)
	sh, err := st.Shipment(ctx, o.ID)
	if err != nil || len(sh.Packages) != 2 || sh.Order.Labelled != 2 {
		t.Fatalf("shipment: %d packages, %d labelled (%v); want 2 and 2", len(sh.Packages), sh.Order.Labelled, err)
	}
	if n := len(jobs(t, db)); n != 2 {
		t.Fatalf("%d jobs, want 2", n)
	}
	// A voided package's reference does not label another.
	if _, err := st.VoidPackage(ctx, first.Reference, "test"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.Ship(ctx, req); !errors.Is(err, ErrConflict) {
		t.Fatalf("retry of a voided package: %v, want ErrConflict", err)
	}
	var fe *FieldError
	if _, err := st.Ship(ctx, ShipRequest{OrderID: o.ID, Weight: req.Weight, Reference: " x"}); !errors.As(err, &fe) || fe.Field != "reference" {
		t.Fatalf("bad reference: %v", err)
	}
}
