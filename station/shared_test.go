package station

import (
	"context"
	"strings"
	"testing"
)

// Associated identifiers are not unique across orders (Shipium): the bench
// accepts shared ones, and a scan that finds several open orders arms the
// oldest one that still has packages to label and says so.
func TestSharedIdentifiers(t *testing.T) {
	dir := t.TempDir()
	clk := newClock()
	db := openDB(t, dir, clk)
	st := newStation(t, db, clk, Config{})
	ctx := context.Background()

	a := mustCreate(t, st, Order{AssociatedIdentifiers: []string{"TOTE-9"}})
	b := mustCreate(t, st, Order{AssociatedIdentifiers: []string{"TOTE-9", "LPN-B"}, Packages: 2})
	c := mustCreate(t, st, Order{AssociatedIdentifiers: []string{"TOTE-9"}})

	s, err := st.Scan(ctx, "TOTE-9")
	if err != nil || s.Order == nil || s.Order.ID != a.ID || !strings.Contains(s.Note, "3 open orders") || !strings.Contains(s.Note, a.ID) {
		t.Fatalf("scan of a code three orders share: %+v, %v; want %s armed with a note", s, err, a.ID)
	}
	// A label for a: the oldest with packages to label is now b.
	if _, err := st.Ship(ctx, ShipRequest{OrderID: a.ID, Weight: Weight{Milligrams: 1e6}}); err != nil {
		t.Fatal(err)
	}
	s, err = st.Scan(ctx, "TOTE-9")
	if err != nil || s.Order == nil || s.Order.ID != b.ID || !strings.Contains(s.Note, "2 open orders") {
		t.Fatalf("second scan: %+v, %v; want %s", s, err, b.ID)
	}
	// A code only b has: no note.
	if s, err = st.Scan(ctx, "LPN-B"); err != nil || s.Order.ID != b.ID || s.Note != "" {
		t.Fatalf("unshared code: %+v, %v", s, err)
	}
	page, err := st.ListOrders(ctx, ListOptions{Identifier: "TOTE-9", Limit: 2})
	if err != nil || page.Total != 3 || len(page.Orders) != 2 || page.Orders[0].ID != a.ID || page.Orders[1].ID != b.ID || page.Next == "" {
		t.Fatalf("list by shared code: %+v, %v", page, err)
	}
	if page, err = st.ListOrders(ctx, ListOptions{Identifier: "TOTE-9", After: page.Next}); err != nil || len(page.Orders) != 1 || page.Orders[0].ID != c.ID {
		t.Fatalf("list by shared code, page 2: %+v, %v", page, err)
	}
	if sh, err := st.ListShipments(ctx, ListOptions{Identifier: "TOTE-9"}); err != nil || sh.Total != 1 || sh.Shipments[0].OrderID != a.ID {
		t.Fatalf("shipments by shared code: %+v, %v", sh, err)
	}

	// The index survives a reopen; with every sharer done, a scan finds the newest.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	db = openDB(t, dir, clk)
	st = newStation(t, db, clk, Config{})
	for _, id := range []string{b.ID, c.ID} {
		if _, err := st.CancelOrder(ctx, id, "test"); err != nil {
			t.Fatal(err)
		}
	}
	if o, err := st.FindOrder(ctx, "TOTE-9"); err != nil || o.ID != c.ID {
		t.Fatalf("every sharer done: FindOrder = %s, %v; want the newest, %s", o.ID, err, c.ID)
	}
}
