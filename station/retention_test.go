package station

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/packbench/packbench/queue"
)

// TestHousekeepOrdersDeletesFinishedOrders: finished orders past the
// retention go with their packages, labels, numbers and index entries;
// open orders, recent ones and orders with a job still to print stay,
// and an identifier a later order took over keeps finding that order.
// The deletion is checked on the reopened file.
func TestHousekeepOrdersDeletesFinishedOrders(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	dir := t.TempDir()
	qopts := &queue.Options{Clock: clk, Retention: 24 * time.Hour}
	db, err := queue.Open(filepath.Join(dir, "packbench.db"), qopts)
	if err != nil {
		t.Fatal(err)
	}
	st := newStation(t, db, clk, Config{})
	ship := func(id string) Package {
		t.Helper()
		p, err := st.Ship(ctx, ShipRequest{OrderID: id, Weight: Weight{Milligrams: 200_000}})
		if err != nil {
			t.Fatal(err)
		}
		return p
	}

	// Shipped, printed, reprinted: goes.
	shipped := mustCreate(t, st, Order{ID: "SHIP-1", PartnerOrderID: "P-1", AssociatedIdentifiers: []string{"lpn:1"}, Packages: 2})
	gone := []Package{ship(shipped.ID), ship(shipped.ID)}
	if _, _, err := st.Reprint(ctx, gone[0].Reference, ""); err != nil {
		t.Fatal(err)
	}
	printAll(t, db, queue.StatePrinted)
	// Cancelled after labelling: goes.
	cancelled := mustCreate(t, st, Order{ID: "CANCEL-1", PartnerOrderID: "P-2"})
	gone = append(gone, ship(cancelled.ID))
	printAll(t, db, queue.StatePrinted)
	if _, err := st.CancelOrder(ctx, cancelled.ID, "customer"); err != nil {
		t.Fatal(err)
	}
	// Shipped; its LPN is reused by a later order: goes, the LPN stays the later order's.
	reused := mustCreate(t, st, Order{ID: "SHIP-5", AssociatedIdentifiers: []string{"lpn:5"}})
	gone = append(gone, ship(reused.ID))
	printAll(t, db, queue.StatePrinted)
	taker := mustCreate(t, st, Order{ID: "OPEN-6", AssociatedIdentifiers: []string{"lpn:5"}})
	// Shipped but its job was never printed: stays.
	unprinted := mustCreate(t, st, Order{ID: "SHIP-3", PartnerOrderID: "P-3"})
	waiting := ship(unprinted.ID)
	// Open and old: stays.
	open := mustCreate(t, st, Order{ID: "OPEN-4", PartnerOrderID: "P-4"})

	clk.Advance(49 * time.Hour)
	recent := mustCreate(t, st, Order{ID: "SHIP-7", PartnerOrderID: "P-7"})
	kept := ship(recent.ID)
	printAll(t, db, queue.StatePrinted) // also prints SHIP-3's job, but it finished only now
	// The queue forgets the old jobs first (as the daemon's hourly pass does).
	if rep, err := db.Housekeep(ctx); err != nil || rep.JobsDeleted == 0 {
		t.Fatalf("queue housekeep: %+v, %v", rep, err)
	}

	n, err := st.HousekeepOrders(ctx, 48*time.Hour)
	if err != nil || n != 3 {
		t.Fatalf("HousekeepOrders = %d, %v; want 3 (SHIP-1, CANCEL-1, SHIP-5)", n, err)
	}
	if n, err := st.HousekeepOrders(ctx, 48*time.Hour); err != nil || n != 0 {
		t.Fatalf("second HousekeepOrders = %d, %v; want 0", n, err)
	}
	db.Close()

	db, err = queue.Open(filepath.Join(dir, "packbench.db"), qopts)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	st = newStation(t, db, clk, Config{})

	for _, id := range []string{"SHIP-1", "CANCEL-1", "SHIP-5"} {
		if _, err := st.Order(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("order %s after reopen: %v, want ErrNotFound", id, err)
		}
	}
	for _, code := range []string{"P-1", "lpn:1", "P-2"} {
		if o, err := st.FindOrder(ctx, code); !errors.Is(err, ErrNoOrder) {
			t.Errorf("FindOrder(%s) = %s, %v; want ErrNoOrder", code, o.ID, err)
		}
	}
	for _, p := range gone {
		for _, id := range []string{p.Reference, p.TrackingNumber, p.JobID.String()} {
			if _, err := st.Package(ctx, id); !errors.Is(err, ErrNotFound) {
				t.Errorf("package %s by %q: %v, want ErrNotFound", p.Reference, id, err)
			}
		}
		if _, err := st.LabelZPL(ctx, p.Reference); !errors.Is(err, ErrNotFound) {
			t.Errorf("label of %s: %v, want ErrNotFound", p.Reference, err)
		}
	}
	if o, err := st.FindOrder(ctx, "lpn:5"); err != nil || o.ID != taker.ID {
		t.Errorf("FindOrder(lpn:5) = %s, %v; want %s (took the LPN over)", o.ID, err, taker.ID)
	}
	for _, p := range []Package{waiting, kept} {
		got, err := st.Package(ctx, p.TrackingNumber)
		if err != nil || got.Reference != p.Reference {
			t.Errorf("kept package %s: %+v, %v", p.Reference, got, err)
		}
		if _, err := st.LabelZPL(ctx, p.Reference); err != nil {
			t.Errorf("kept label %s: %v", p.Reference, err)
		}
	}
	if o, err := st.FindOrder(ctx, "P-4"); err != nil || o.ID != open.ID {
		t.Errorf("open order: %s, %v", o.ID, err)
	}
	page, err := st.ListOrders(ctx, ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var ids []string
	for _, o := range page.Orders {
		ids = append(ids, o.ID)
	}
	if page.Total != 4 || strings.Join(ids, ",") != "OPEN-6,SHIP-3,OPEN-4,SHIP-7" {
		t.Errorf("orders after housekeeping: %v (total %d)", ids, page.Total)
	}
	sp, err := st.ListShipments(ctx, ListOptions{})
	if err != nil || sp.Total != 2 {
		t.Errorf("shipments after housekeeping: total %d, %v; want 2", sp.Total, err)
	}
	checkIndexes(t, db)

	// The id is free again: a new order of that id gets a new label that
	// the label retention dates from now.
	again := mustCreate(t, st, Order{ID: "SHIP-1"})
	p := ship(again.ID)
	if p.Reference != "SHIP-1-1" || slices.ContainsFunc(gone, func(g Package) bool { return g.TrackingNumber == p.TrackingNumber }) {
		t.Errorf("new SHIP-1 package %s tracking %s: want a new number", p.Reference, p.TrackingNumber)
	}
	// Labels older than an hour: SHIP-3's only; no stale entry of the
	// old SHIP-1-1 takes the new label with it.
	if n, err := st.Housekeep(ctx, time.Hour); err != nil || n != 1 {
		t.Errorf("label housekeeping right after: %d, %v; want 1 (SHIP-3-1)", n, err)
	}
	if _, err := st.LabelZPL(ctx, p.Reference); err != nil {
		t.Errorf("label of the new %s: %v", p.Reference, err)
	}
	printAll(t, db, queue.StatePrinted)
	checkIndexes(t, db)

	// SHIP-3's job printed 49 h after it was labelled: it goes once its
	// own retention passed.
	clk.Advance(49 * time.Hour)
	if n, err := st.HousekeepOrders(ctx, 48*time.Hour); err != nil || n != 3 {
		t.Errorf("later HousekeepOrders = %d, %v; want 3 (SHIP-3, SHIP-7, new SHIP-1)", n, err)
	}
	checkIndexes(t, db)
}

// checkIndexes reads every station record and checks each index entry
// points at something that exists, and each order and package is indexed.
func checkIndexes(t *testing.T, db *queue.DB) {
	t.Helper()
	err := db.View(func(tx *queue.Tx) error {
		list := func(kind string) []queue.Record {
			recs, err := tx.ListRecords(kind, queue.RecordPage{})
			if err != nil {
				t.Fatal(err)
			}
			return recs
		}
		orders := map[string]Order{}
		for _, r := range list(kindOrders) {
			var o Order
			if err := getJSON(tx, kindOrders, r.Key, &o); err != nil {
				return err
			}
			orders[o.ID] = o
		}
		pkgs := map[string]Package{} // by key
		refs := map[string]bool{}
		for _, r := range list(kindPackages) {
			var p Package
			if err := getJSON(tx, kindPackages, r.Key, &p); err != nil {
				return err
			}
			if _, ok := orders[p.OrderID]; !ok {
				t.Errorf("package %s of a missing order", p.Reference)
			}
			pkgs[r.Key] = p
			refs[p.Reference] = true
		}
		seqs := map[string]bool{}
		for _, r := range list(kindOrderSeq) {
			o, ok := orders[string(r.Value)]
			if !ok || seqKey(o.Seq) != r.Key {
				t.Errorf("order-seq %s → %s: no such order", r.Key, r.Value)
			}
			seqs[string(r.Value)] = true
		}
		for id := range orders {
			if !seqs[id] {
				t.Errorf("order %s is not in order-seq", id)
			}
		}
		for _, kind := range []string{kindOrderOpen, kindShipSeq, kindOrderCodes} {
			for _, r := range list(kind) {
				if _, ok := orders[string(r.Value)]; !ok {
					t.Errorf("%s %s → %s: no such order", kind, r.Key, r.Value)
				}
			}
		}
		for _, r := range list(kindPackageRef) {
			if _, ok := pkgs[string(r.Value)]; !ok {
				t.Errorf("package-refs %s → %q: no such package", r.Key, r.Value)
			}
		}
		for key, p := range pkgs {
			if v, err := tx.GetRecord(kindPackageRef, refByReference+p.Reference); err != nil || string(v) != key {
				t.Errorf("package %s: reference index %q, %v", p.Reference, v, err)
			}
		}
		for _, r := range list(kindLabels) {
			id := r.Key[:strings.LastIndex(r.Key, ".")]
			if !refs[id] && !strings.HasPrefix(id, "job/") {
				t.Errorf("label %s of no package", r.Key)
			}
		}
		for _, r := range list(kindLabelTime) {
			if !refs[string(r.Value)] && !strings.HasPrefix(string(r.Value), "job/") {
				t.Errorf("label-time %s → %s: no such package", r.Key, r.Value)
			}
		}
		for _, r := range list(kindLocalNumbers) {
			if !refs[r.Key] {
				t.Errorf("carrier-local %s: no such package", r.Key)
			}
		}
		for _, kind := range []string{kindOrderLPNs, kindFulfilRefs} {
			for _, r := range list(kind) {
				if _, ok := orders[string(r.Value)]; !ok {
					t.Errorf("%s %q → %s: no such order", kind, r.Key, r.Value)
				}
			}
		}
		for _, r := range list(kindShipRefs) {
			var sr shipRef
			if err := getJSON(tx, kindShipRefs, r.Key, &sr); err != nil {
				return err
			}
			if _, ok := pkgs[sr.Key]; !ok {
				t.Errorf("ship-refs %s → %s: no such package", r.Key, sr.Key)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestHousekeepOrdersPages: more finished orders than one batch looks at
// are all deleted, with open ones between them kept.
func TestHousekeepOrdersPages(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	db := openDB(t, t.TempDir(), clk)
	st := newStation(t, db, clk, Config{})
	const n = 2*ordersBatch + 5
	for i := range n {
		o := mustCreate(t, st, Order{})
		if i%50 == 7 {
			continue // stays open
		}
		if _, err := st.CancelOrder(ctx, o.ID, "test"); err != nil {
			t.Fatal(err)
		}
	}
	clk.Advance(DefaultOrderRetention + time.Hour)
	got, err := st.HousekeepOrders(ctx, 0)
	if want := n - (n+42)/50; err != nil || got != want {
		t.Fatalf("HousekeepOrders = %d, %v; want %d", got, err, want)
	}
	page, err := st.ListOrders(ctx, ListOptions{})
	if err != nil || page.Total != (n+42)/50 {
		t.Fatalf("orders left: %d, %v", page.Total, err)
	}
	for _, o := range page.Orders {
		if o.Status != OrderOpen {
			t.Errorf("order %s left: %s", o.ID, o.Status)
		}
	}
	checkIndexes(t, db)
}

// TestHousekeepOrdersLegacyLabels: a package labelled before packages
// recorded LabelledAt still has its label retention entry found and
// deleted with the order.
func TestHousekeepOrdersLegacyLabels(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	db := openDB(t, t.TempDir(), clk)
	st := newStation(t, db, clk, Config{})
	o := mustCreate(t, st, Order{ID: "OLD-1"})
	p, err := st.Ship(ctx, ShipRequest{OrderID: o.ID, Weight: Weight{Milligrams: 1000}})
	if err != nil {
		t.Fatal(err)
	}
	printAll(t, db, queue.StatePrinted)
	err = db.Update(func(tx *queue.Tx) error { // as an older packbench stored it
		var stored Package
		key := pkgKey(o.ID, p.Index)
		if err := getJSON(tx, kindPackages, key, &stored); err != nil {
			return err
		}
		stored.LabelledAt = time.Time{}
		return putJSON(tx, kindPackages, key, stored)
	})
	if err != nil {
		t.Fatal(err)
	}
	clk.Advance(48 * time.Hour)
	if n, err := st.HousekeepOrders(ctx, 24*time.Hour); err != nil || n != 1 {
		t.Fatalf("HousekeepOrders = %d, %v; want 1", n, err)
	}
	checkIndexes(t, db) // no label-time entry of OLD-1-1 left
}

// TestHousekeepOrdersForgetsReferences: a finished order takes its shared
// identifiers, the caller's package references and its Fulfil reference
// with it; nothing is left pointing at a deleted order.
func TestHousekeepOrdersForgetsReferences(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	db := openDB(t, t.TempDir(), clk)
	st := newStation(t, db, clk, fulfilConfig())
	a := mustCreate(t, st, Order{ID: "A", AssociatedIdentifiers: []string{"tote-1"}})
	mustCreate(t, st, Order{ID: "B", AssociatedIdentifiers: []string{"tote-1"}})
	if _, err := st.Ship(ctx, ShipRequest{OrderID: a.ID, Weight: Weight{Milligrams: 200_000}, Reference: "client-1"}); err != nil {
		t.Fatal(err)
	}
	if _, err := st.FulfilLabel(ctx, seedLabelRequest(t)); err != nil {
		t.Fatal(err)
	}
	printAll(t, db, queue.StatePrinted)
	clk.Advance(49 * time.Hour)
	if _, err := db.Housekeep(ctx); err != nil {
		t.Fatal(err)
	}
	// A and the two Fulfil orders are finished; B is open and keeps tote-1.
	if n, err := st.HousekeepOrders(ctx, 48*time.Hour); err != nil || n != 3 {
		t.Fatalf("HousekeepOrders = %d, %v; want 3", n, err)
	}
	checkIndexes(t, db)
	if o, err := st.FindOrder(ctx, "tote-1"); err != nil || o.ID != "B" {
		t.Errorf("FindOrder(tote-1) = %s, %v; want B", o.ID, err)
	}
	err := db.View(func(tx *queue.Tx) error {
		for _, kind := range []string{kindShipRefs, kindFulfilRefs} {
			if recs, err := tx.ListRecords(kind, queue.RecordPage{}); err != nil || len(recs) != 0 {
				t.Errorf("%s left: %d records, %v", kind, len(recs), err)
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}
