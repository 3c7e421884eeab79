package station

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"
)

// trackingEvents are the tracking.updated events in the outbox (a test
// consumer of its own: every event since the file was made).
func trackingEvents(t *testing.T, st *Station) []TrackingEvent {
	t.Helper()
	if err := st.db.AddConsumer(context.Background(), "tracking-test"); err != nil {
		t.Fatal(err)
	}
	evs, err := st.db.Events(context.Background(), "tracking-test", 10000)
	if err != nil {
		t.Fatal(err)
	}
	var out []TrackingEvent
	for _, ev := range evs {
		if ev.Type != EventTrackingUpdated {
			continue
		}
		te, err := ParseTrackingEvent(ev)
		if err != nil {
			t.Fatal(err)
		}
		if ev.Key != te.Reference {
			t.Errorf("event key %q, reference %q", ev.Key, te.Reference)
		}
		out = append(out, te)
	}
	return out
}

func shipOne(t *testing.T, st *Station, orderID string) Package {
	t.Helper()
	p, err := st.Ship(context.Background(), ShipRequest{OrderID: orderID, Weight: Weight{Milligrams: 500_000}})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestTrackingLifecycle(t *testing.T) {
	ctx := context.Background()
	dir, clk := t.TempDir(), newClock()
	db := openDB(t, dir, clk)
	cfg := Config{Tracking: TrackingConfig{CustomStatuses: []string{"held_at_depot"}}}
	st := newStation(t, db, clk, cfg)
	o := mustCreate(t, st, Order{Packages: 2})

	// Before any label: nothing to track.
	if _, err := st.UpdateTracking(ctx, o.ID, TrackingUpdate{Status: StatusInTransit}); !errors.Is(err, ErrConflict) {
		t.Fatalf("update before a label: %v, want ErrConflict", err)
	}
	p1 := shipOne(t, st, o.ID)
	if err := st.db.AddConsumer(ctx, "tracking-test"); err != nil {
		t.Fatal(err)
	}
	if p1.Tracking == nil || p1.Tracking.Status != StatusOrderReady || len(p1.Tracking.History) != 1 ||
		p1.Tracking.History[0].Source != TrackingSourceLabel {
		t.Fatalf("labelled package tracking %+v, want order_ready from the label", p1.Tracking)
	}
	all, err := st.db.Events(ctx, "tracking-test", 100)
	if err != nil {
		t.Fatal(err)
	}
	if n := len(all); n < 2 || all[n-2].Type != EventPackageLabelled || all[n-1].Type != EventTrackingUpdated || all[n-1].ID != all[n-2].ID+1 {
		t.Errorf("the label's events: %+v", all)
	}
	evs := trackingEvents(t, st)
	if len(evs) != 1 {
		t.Fatalf("%d tracking events after one label, want 1: %+v", len(evs), evs)
	}
	if e := evs[0]; e.Status != StatusOrderReady || e.PreviousStatus != "" || e.Source != TrackingSourceLabel ||
		e.OrderID != o.ID || e.Package != 1 || e.Reference != p1.Reference || e.TrackingNumber != p1.TrackingNumber ||
		e.OrderStatus != StatusOrderReady || e.PreviousOrder != "" {
		t.Errorf("label event %+v", e)
	}
	p2 := shipOne(t, st, o.ID)

	// One package in transit: the order rolls up to the least advanced.
	clk.Advance(time.Hour)
	ot, err := st.UpdateTracking(ctx, o.ID, TrackingUpdate{Status: StatusInTransit, Source: TrackingSourceCarrier, Package: p1.Reference})
	if err != nil {
		t.Fatal(err)
	}
	if ot.Status != StatusOrderReady || ot.Packages[0].Tracking.Status != StatusInTransit || ot.Packages[1].Tracking.Status != StatusOrderReady {
		t.Errorf("after p1 in transit: order %q, packages %q %q", ot.Status, ot.Packages[0].Tracking.Status, ot.Packages[1].Tracking.Status)
	}
	// Both delivered, 3 days and some hours after the order.
	clk.Advance(3*24*time.Hour + 5*time.Hour)
	ot, err = st.UpdateTracking(ctx, o.ID, TrackingUpdate{Status: StatusDelivered, Note: "left at the door"})
	if err != nil {
		t.Fatal(err)
	}
	if ot.Status != StatusDelivered || ot.DeliveredAt.IsZero() {
		t.Fatalf("after delivery: %+v", ot)
	}
	if d := ot.DeliveredAt.Sub(ot.Order.CreatedAt); d != 3*24*time.Hour+6*time.Hour {
		t.Errorf("delivered %v after ordered", d)
	}
	if days, ok := ot.DaysSinceOrdered(); !ok || days != 3 {
		t.Errorf("days since ordered %d, %v; want 3", days, ok)
	}
	evs = trackingEvents(t, st)
	var got []string
	for _, e := range evs {
		got = append(got, fmt.Sprintf("%d:%s>%s order %s>%s %s", e.Package, e.PreviousStatus, e.Status, e.PreviousOrder, e.OrderStatus, e.Source))
	}
	want := []string{
		"1:>order_ready order >order_ready label",
		"2:>order_ready order order_ready>order_ready label",
		"1:order_ready>in_transit order order_ready>order_ready carrier",
		"1:in_transit>delivered order order_ready>order_ready manual",
		"2:order_ready>delivered order order_ready>delivered manual",
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("events\n got %q\nwant %q", got, want)
	}
	// The same update again changes nothing and writes no event.
	if _, err := st.UpdateTracking(ctx, o.ID, TrackingUpdate{Status: StatusDelivered}); err != nil {
		t.Fatal(err)
	}
	if n := len(trackingEvents(t, st)); n != len(want) {
		t.Errorf("a repeated update wrote events: %d, want %d", n, len(want))
	}
	// An exception, a custom status, and refusals that change nothing.
	if _, err := st.UpdateTracking(ctx, p2.TrackingNumber, TrackingUpdate{Status: "held_at_depot", Exception: ExceptionUndelivered, Package: p2.TrackingNumber}); err != nil {
		t.Fatal(err)
	}
	for _, u := range []struct {
		upd   TrackingUpdate
		field string
	}{
		{TrackingUpdate{Status: "lost_in_space"}, "status"},
		{TrackingUpdate{}, "status"},
		{TrackingUpdate{Status: "pre_transit"}, "status"},
		{TrackingUpdate{Status: StatusInTransit, Exception: "on_fire"}, "exception"},
		{TrackingUpdate{Status: StatusInTransit, Source: "label"}, "source"},
		{TrackingUpdate{Status: StatusInTransit, Note: "a\x00b"}, "note"},
		{TrackingUpdate{Status: StatusInTransit, Package: "SO999999-1"}, "package"},
	} {
		_, err := st.UpdateTracking(ctx, o.ID, u.upd)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != u.field {
			t.Errorf("update %+v: %v, want a FieldError on %s", u.upd, err, u.field)
		}
	}
	before := len(trackingEvents(t, st))

	// Reopen the file: the history is there.
	db.Close()
	db = openDB(t, dir, clk)
	st = newStation(t, db, clk, cfg)
	if n := len(trackingEvents(t, st)); n != before || n != len(want)+1 {
		t.Errorf("%d events after the refusals and reopening, want %d", n, len(want)+1)
	}
	ot, err = st.OrderTracking(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	h := ot.Packages[1].Tracking
	if ot.Status != StatusInTransit || fmt.Sprint(ot.Exceptions) != "[undelivered]" || !ot.DeliveredAt.IsZero() ||
		h.Status != "held_at_depot" || !h.Custom || len(h.History) != 3 {
		t.Errorf("reopened: order %q exceptions %v delivered %v; p2 %+v", ot.Status, ot.Exceptions, ot.DeliveredAt, h)
	}
	if h1 := ot.Packages[0].Tracking.History; len(h1) != 3 || h1[2].Note != "left at the door" || h1[1].Source != TrackingSourceCarrier {
		t.Errorf("p1 history %+v", h1)
	}
	// Lookups: seq and fulfillment number.
	if ot2, err := st.OrderTracking(ctx, fmt.Sprint(o.Seq)); err != nil || ot2.Order.ID != o.ID {
		t.Errorf("by seq: %v, %v", ot2.Order.ID, err)
	}
	if ot2, i, err := st.PackageTracking(ctx, fmt.Sprint(FulfillmentNumber(o, 2))); err != nil || ot2.Packages[i].Reference != p2.Reference {
		t.Errorf("by fulfillment number: %v", err)
	}
	if _, _, err := st.PackageTracking(ctx, fmt.Sprint(FulfillmentNumber(o, 3))); !errors.Is(err, ErrNotFound) {
		t.Errorf("package 3: %v, want ErrNotFound", err)
	}

	// A voided package no longer counts for the order.
	if _, err := st.VoidPackage(ctx, p2.Reference, "damaged"); err != nil {
		t.Fatal(err)
	}
	ot, err = st.OrderTracking(ctx, o.ID)
	if err != nil || ot.Status != StatusDelivered || len(ot.Packages) != 1 || len(ot.Exceptions) != 0 {
		t.Errorf("after void: %q %v %d, %v", ot.Status, ot.Exceptions, len(ot.Packages), err)
	}
}

func TestTrackingHistoryBounded(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	st := newStation(t, openDB(t, t.TempDir(), clk), clk, Config{})
	o := mustCreate(t, st, Order{})
	shipOne(t, st, o.ID)
	statuses := []string{StatusInTransit, StatusOutForDelivery}
	for i := range MaxTrackingHistory + 20 {
		if _, err := st.UpdateTracking(ctx, o.ID, TrackingUpdate{Status: statuses[i%2]}); err != nil {
			t.Fatal(err)
		}
	}
	ot, err := st.OrderTracking(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	tr := ot.Packages[0].Tracking
	if len(tr.History) != MaxTrackingHistory || tr.Dropped != 21 || tr.History[0].Status != StatusInTransit ||
		tr.History[MaxTrackingHistory-1].Status != StatusOutForDelivery {
		t.Errorf("history %d entries, dropped %d, first %s", len(tr.History), tr.Dropped, tr.History[0].Status)
	}
}

func TestTrackingConfig(t *testing.T) {
	for _, tt := range []struct {
		custom []string
		shop   string
		bad    string
	}{
		{custom: []string{"held", "returned_2"}},
		{custom: []string{"Held"}, bad: "custom_statuses[0]"},
		{custom: []string{"delivered"}, bad: "custom_statuses[0]"},
		{custom: []string{"pre_transit"}, bad: "custom_statuses[0]"},
		{custom: []string{"expired"}, bad: "custom_statuses[0]"},
		{custom: []string{"a", "a"}, bad: "custom_statuses[1]"},
		{custom: []string{""}, bad: "custom_statuses[0]"},
		{shop: "ftp://x", bad: "shop_url"},
		{shop: "https://shop.example.com"},
	} {
		err := Config{Tracking: TrackingConfig{CustomStatuses: tt.custom, ShopURL: tt.shop}}.WithDefaults().Validate()
		if tt.bad == "" && err != nil {
			t.Errorf("%v %q: %v", tt.custom, tt.shop, err)
		}
		if tt.bad != "" && (!errors.Is(err, ErrConfig) || !strings.Contains(err.Error(), "tracking."+tt.bad)) {
			t.Errorf("%v %q: %v, want an error naming tracking.%s", tt.custom, tt.shop, err, tt.bad)
		}
	}
}

// Updates of an order's packages racing each other and a label of the
// same order: every change is kept, in its package's order, with one
// event each.
func TestTrackingConcurrentUpdates(t *testing.T) {
	ctx := context.Background()
	clk := newClock()
	st := newStation(t, openDB(t, t.TempDir(), clk), clk, Config{})
	o := mustCreate(t, st, Order{Packages: 4})
	var refs []string
	for range 3 {
		refs = append(refs, shipOne(t, st, o.ID).Reference)
	}
	const rounds = 10
	statuses := []string{StatusInTransit, StatusOutForDelivery}
	errs := make(chan error, len(refs)+1)
	start := make(chan struct{})
	for _, ref := range refs {
		go func() {
			<-start
			for i := range rounds {
				_, err := st.UpdateTracking(ctx, o.ID, TrackingUpdate{Status: statuses[i%2], Package: ref, Note: fmt.Sprint(i)})
				if err != nil {
					errs <- err
					return
				}
			}
			errs <- nil
		}()
	}
	go func() {
		<-start
		_, err := st.Ship(ctx, ShipRequest{OrderID: o.ID, Weight: Weight{Milligrams: 500_000}})
		errs <- err
	}()
	close(start)
	for range len(refs) + 1 {
		if err := <-errs; err != nil {
			t.Fatal(err)
		}
	}
	ot, err := st.OrderTracking(ctx, o.ID)
	if err != nil {
		t.Fatal(err)
	}
	evs := trackingEvents(t, st)
	if len(evs) != 4+3*rounds {
		t.Errorf("%d events, want %d", len(evs), 4+3*rounds)
	}
	for _, p := range ot.Packages {
		h := p.Tracking.History
		want := 1
		if p.Index <= 3 {
			want += rounds
		}
		if len(h) != want {
			t.Errorf("%s: %d history entries, want %d", p.Reference, len(h), want)
			continue
		}
		var fromEvents []string
		for _, e := range evs {
			if e.Reference == p.Reference {
				fromEvents = append(fromEvents, e.Status+"/"+e.Note)
			}
		}
		var fromHistory []string
		for i, e := range h {
			fromHistory = append(fromHistory, e.Status+"/"+e.Note)
			if i > 0 && e.Note != fmt.Sprint(i-1) {
				t.Errorf("%s: entry %d is update %s", p.Reference, i, e.Note)
			}
		}
		if fmt.Sprint(fromEvents) != fmt.Sprint(fromHistory) {
			t.Errorf("%s: events %v, history %v", p.Reference, fromEvents, fromHistory)
		}
	}
}
