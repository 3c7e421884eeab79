package station

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"image/png"
	"strings"
	"sync"
	"testing"

	"github.com/packbench/packbench/labelrender"
	"github.com/packbench/packbench/queue"
)

func TestShopifyNumericID(t *testing.T) {
	cases := []struct {
		in, id, typ string
		ok          bool
	}{
		{"123", "123", "", true},
		{"00123", "123", "", true},
		{"gid://shopify/Order/4567", "4567", "Order", true},
		{"gid://shopify/FulfillmentOrder/89", "89", "FulfillmentOrder", true},
		{"SO000001", "", "", false},
		{"0", "", "", false},
		{"gid://shopify/Order/", "", "", false},
		{"gid://shopify/Order/12/3", "", "", false},
		{"gid://shopify/Or-der/12", "", "", false},
		{"gid://other/Order/12", "", "", false},
		{"123456789012345678901", "", "", false},
	}
	for _, c := range cases {
		id, typ, ok := ShopifyNumericID(c.in)
		if id != c.id || typ != c.typ || ok != c.ok {
			t.Errorf("ShopifyNumericID(%q) = %q %q %v, want %q %q %v", c.in, id, typ, ok, c.id, c.typ, c.ok)
		}
	}
	var r struct {
		A AnyID `json:"a"`
	}
	for in, want := range map[string]AnyID{`{"a":123}`: "123", `{"a":"123"}`: "123", `{"a":"gid://shopify/Order/1"}`: "gid://shopify/Order/1"} {
		if err := json.Unmarshal([]byte(in), &r); err != nil || r.A != want {
			t.Errorf("%s: %q %v, want %q", in, r.A, err, want)
		}
	}
	for _, in := range []string{`{"a":1.5}`, `{"a":-1}`, `{"a":1e3}`, `{"a":true}`} {
		if err := json.Unmarshal([]byte(in), &r); err == nil {
			t.Errorf("%s accepted", in)
		}
	}
}

func prStation(t *testing.T, cfg Config) (*Station, *queue.DB, string) {
	t.Helper()
	clk := newClock()
	dir := t.TempDir()
	db := openDB(t, dir, clk)
	return newStation(t, db, clk, cfg), db, dir
}

func grams(g int64) *Weight { return &Weight{Milligrams: g * 1000, Display: "", Unit: "g"} }

func TestPackroosterLabelOnceForEveryIDForm(t *testing.T) {
	st, db, _ := prStation(t, Config{})
	ctx := context.Background()
	mustCreate(t, st, Order{ID: "SO1", AssociatedIdentifiers: []string{"4501"}})
	forms := []AnyID{"4501", "gid://shopify/Order/4501", "SO1"}
	var first PackroosterResult
	for i, id := range forms {
		res, err := st.Packrooster(ctx, PackroosterLabel, PackroosterRequest{OrderID: id, FulfillmentOrderID: "gid://shopify/FulfillmentOrder/77"}, grams(900))
		if err != nil {
			t.Fatalf("%s: %v", id, err)
		}
		if i == 0 {
			first = res
			if res.Status != PackroosterLabelled || res.TrackingCode == "" || res.ShippingLabelToken == "" || res.OrderID != "SO1" || res.FulfillmentOrderID != "77" {
				t.Fatalf("first answer %+v", res)
			}
			continue
		}
		if res != first {
			t.Errorf("%s: answer %+v, want the first %+v", id, res, first)
		}
	}
	if n := len(jobs(t, db)); n != 1 {
		t.Fatalf("%d print jobs, want 1", n)
	}
	// label-fulfill of the same fulfillment order: same label, now fulfilled.
	res, err := st.Packrooster(ctx, PackroosterLabelFulfill, PackroosterRequest{OrderID: "4501", FulfillmentOrderID: "77"}, grams(1200))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != PackroosterFulfilled || res.TrackingCode != first.TrackingCode || res.ShippingLabelToken != first.ShippingLabelToken {
		t.Fatalf("label-fulfill after label: %+v", res)
	}
	if n := len(jobs(t, db)); n != 1 {
		t.Fatalf("%d print jobs after label-fulfill, want 1", n)
	}
	got, err := st.PackroosterGet(ctx, "gid://shopify/FulfillmentOrder/77")
	if err != nil || got != res {
		t.Fatalf("get: %+v %v, want %+v", got, err, res)
	}
	// One fulfillment.fulfilled event, though label-fulfill could be repeated.
	if _, err := st.Packrooster(ctx, PackroosterFulfill, PackroosterRequest{OrderID: "SO1", FulfillmentOrderID: "77"}, nil); err != nil {
		t.Fatal(err)
	}
	if n := countEvents(t, db, EventFulfillmentFulfilled); n != 1 {
		t.Fatalf("%d %s events, want 1", n, EventFulfillmentFulfilled)
	}
}

// countEvents counts the outbox events of type typ.
func countEvents(t *testing.T, db *queue.DB, typ string) int {
	t.Helper()
	evs, err := db.EventsAfter(context.Background(), 0, 10000)
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for _, ev := range evs {
		if ev.Type == typ {
			n++
		}
	}
	return n
}

func TestPackroosterConcurrentCallsLabelOnce(t *testing.T) {
	st, db, _ := prStation(t, Config{})
	ctx := context.Background()
	mustCreate(t, st, Order{ID: "SO2"})
	var wg sync.WaitGroup
	res := make([]PackroosterResult, 8)
	errs := make([]error, 8)
	for i := range res {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res[i], errs[i] = st.Packrooster(ctx, PackroosterLabelFulfill, PackroosterRequest{OrderID: "SO2"}, grams(500))
		}()
	}
	wg.Wait()
	for i := range res {
		if errs[i] != nil || res[i] != res[0] {
			t.Fatalf("call %d: %+v %v, want %+v", i, res[i], errs[i], res[0])
		}
	}
	if n := len(jobs(t, db)); n != 1 {
		t.Fatalf("%d print jobs, want 1", n)
	}
}

func TestPackroosterSurvivesReopen(t *testing.T) {
	clk := newClock()
	dir := t.TempDir()
	db := openDB(t, dir, clk)
	st := newStation(t, db, clk, Config{})
	ctx := context.Background()
	mustCreate(t, st, Order{ID: "SO3"})
	res, err := st.Packrooster(ctx, PackroosterLabel, PackroosterRequest{OrderID: "SO3", FulfillmentOrderID: "9"}, grams(500))
	if err != nil {
		t.Fatal(err)
	}
	db.Close()
	db = openDB(t, dir, clk)
	st = newStation(t, db, clk, Config{})
	again, err := st.Packrooster(ctx, PackroosterLabel, PackroosterRequest{OrderID: "SO3", FulfillmentOrderID: "9"}, grams(700))
	if err != nil || again != res {
		t.Fatalf("after reopen: %+v %v, want %+v", again, err, res)
	}
	if n := len(jobs(t, db)); n != 1 {
		t.Fatalf("%d print jobs, want 1", n)
	}
	b, err := st.LabelByToken(ctx, res.ShippingLabelToken, "zpl")
	if err != nil || !bytes.HasPrefix(b, []byte("^XA")) {
		t.Fatalf("label by token after reopen: %v %.20q", err, b)
	}
}

func TestPackroosterWeightOrder(t *testing.T) {
	ctx := context.Background()
	st, _, _ := prStation(t, Config{})
	mustCreate(t, st, Order{ID: "SOW"})
	_, err := st.Packrooster(ctx, PackroosterLabel, PackroosterRequest{OrderID: "SOW"}, nil)
	var fe *FieldError
	if !errors.As(err, &fe) || fe.Field != "weight" {
		t.Fatalf("no weight anywhere: %v, want a field error naming weight", err)
	}
	// The order's own weight wins over the scale's.
	mustCreate(t, st, Order{ID: "SOO", Weight: &Weight{Milligrams: 2_000_000, Display: "2000 g", Unit: "g"}})
	if _, err := st.Packrooster(ctx, PackroosterLabel, PackroosterRequest{OrderID: "SOO"}, grams(5)); err != nil {
		t.Fatal(err)
	}
	if sh, _ := st.Shipment(ctx, "SOO"); sh.Packages[0].Weight.Milligrams != 2_000_000 {
		t.Fatalf("order weight not used: %+v", sh.Packages[0].Weight)
	}
	if _, err := st.Packrooster(ctx, PackroosterLabel, PackroosterRequest{OrderID: "SOW"}, grams(750)); err != nil {
		t.Fatal(err)
	}
	if sh, _ := st.Shipment(ctx, "SOW"); sh.Packages[0].Weight.Milligrams != 750_000 {
		t.Fatalf("scale weight not used: %+v", sh.Packages[0].Weight)
	}
	// The configured default, when neither is there.
	st2, _, _ := prStation(t, Config{Packrooster: PackroosterConfig{DefaultWeight: "1.5kg"}})
	mustCreate(t, st2, Order{ID: "SOD"})
	if _, err := st2.Packrooster(ctx, PackroosterLabel, PackroosterRequest{OrderID: "SOD"}, nil); err != nil {
		t.Fatal(err)
	}
	if sh, _ := st2.Shipment(ctx, "SOD"); sh.Packages[0].Weight.Milligrams != 1_500_000 {
		t.Fatalf("default weight not used: %+v", sh.Packages[0].Weight)
	}
}

func TestPackroosterFulfillMakesNoLabel(t *testing.T) {
	st, db, _ := prStation(t, Config{})
	ctx := context.Background()
	mustCreate(t, st, Order{ID: "SOF"})
	res, err := st.Packrooster(ctx, PackroosterFulfill, PackroosterRequest{OrderID: "SOF"}, grams(500))
	if err != nil {
		t.Fatal(err)
	}
	if res.Status != PackroosterFulfilled || res.TrackingCode != "" || res.ShippingLabelToken != "" {
		t.Fatalf("fulfill: %+v", res)
	}
	if n := len(jobs(t, db)); n != 0 {
		t.Fatalf("%d print jobs, want none", n)
	}
}

func TestPackroosterReturnLabelSwapsAddresses(t *testing.T) {
	st, db, _ := prStation(t, Config{})
	ctx := context.Background()
	o := mustCreate(t, st, Order{ID: "SOR"})
	no := false
	res, err := st.Packrooster(ctx, PackroosterLabel, PackroosterRequest{OrderID: "SOR", ReturnLabel: true, ShippingLabel: &no}, grams(400))
	if err != nil {
		t.Fatal(err)
	}
	if res.ReturnLabelToken == "" || res.ShippingLabelToken != "" || res.ReturnTrackingCode == "" {
		t.Fatalf("return only: %+v", res)
	}
	if n := len(jobs(t, db)); n != 0 {
		t.Fatalf("a return label printed: %d jobs", n)
	}
	sh, err := st.Shipment(ctx, "SOR"+returnSuffix)
	if err != nil {
		t.Fatal(err)
	}
	if sh.Order.ShipTo != st.cfg.ShipFrom || sh.Order.ShipFrom == nil || *sh.Order.ShipFrom != o.ShipTo {
		t.Fatalf("addresses not swapped: to %+v from %+v", sh.Order.ShipTo, sh.Order.ShipFrom)
	}
	var spec labelSpec
	err = db.View(func(tx *queue.Tx) error { return getJSON(tx, kindLabels, sh.Packages[0].LabelID+".json", &spec) })
	if err != nil || !spec.Label.Return || spec.Label.To.Name != st.cfg.ShipFrom.Name || spec.Label.From.Name != o.ShipTo.Name {
		t.Fatalf("return label layout: %+v %v", spec.Label, err)
	}
	// Now the shipping label too: the return label stays the same.
	both, err := st.Packrooster(ctx, PackroosterLabel, PackroosterRequest{OrderID: "SOR", ReturnLabel: true}, grams(400))
	if err != nil {
		t.Fatal(err)
	}
	if both.ReturnLabelToken != res.ReturnLabelToken || both.ShippingLabelToken == "" || both.ShippingLabelToken == both.ReturnLabelToken {
		t.Fatalf("both: %+v after %+v", both, res)
	}
	if n := len(jobs(t, db)); n != 1 {
		t.Fatalf("%d jobs, want the shipping label's only", n)
	}
}

// A return order waiting for its label (between its creation and its
// Ship) is never the flow's next order: a parcel on the scale must not
// label it.
func TestReturnOrderIsNotArmedByTheFlow(t *testing.T) {
	st, _, _ := prStation(t, Config{})
	mustCreate(t, st, Order{ID: "SOZ" + returnSuffix, ShipFrom: &tonyDouglas, Source: sourceReturn})
	if next, ok, err := st.nextOpenOrder(); err != nil || ok {
		t.Fatalf("next open order %+v %v %v, want none", next, ok, err)
	}
}

func TestPackroosterAdoptsThePackersLabel(t *testing.T) {
	st, db, _ := prStation(t, Config{})
	ctx := context.Background()
	mustCreate(t, st, Order{ID: "SOP"})
	p, err := st.Ship(ctx, ShipRequest{OrderID: "SOP", Weight: *grams(300)})
	if err != nil {
		t.Fatal(err)
	}
	res, err := st.Packrooster(ctx, PackroosterLabelFulfill, PackroosterRequest{OrderID: "SOP"}, grams(300))
	if err != nil {
		t.Fatal(err)
	}
	if res.TrackingCode != p.TrackingNumber || res.Status != PackroosterFulfilled {
		t.Fatalf("%+v, want the packer's label %s", res, p.TrackingNumber)
	}
	if n := len(jobs(t, db)); n != 1 {
		t.Fatalf("%d jobs, want 1", n)
	}
	got, err := st.PackroosterGet(ctx, "SOP")
	if err != nil || got.TrackingCode != p.TrackingNumber {
		t.Fatalf("get: %+v %v", got, err)
	}
}

func TestPackroosterNotFoundAndBadInput(t *testing.T) {
	st, _, _ := prStation(t, Config{})
	ctx := context.Background()
	mustCreate(t, st, Order{ID: "SO5"})
	for _, req := range []PackroosterRequest{{OrderID: "999"}, {OrderID: "gid://shopify/Order/999"}, {OrderID: "SO404"}} {
		if _, err := st.Packrooster(ctx, PackroosterLabel, req, grams(1)); !errors.Is(err, ErrNotFound) {
			t.Errorf("%+v: %v, want ErrNotFound", req, err)
		}
	}
	if _, err := st.PackroosterGet(ctx, "31337"); !errors.Is(err, ErrNotFound) {
		t.Errorf("get unknown: %v", err)
	}
	for _, c := range []struct {
		action string
		req    PackroosterRequest
		field  string
	}{
		{PackroosterLabel, PackroosterRequest{}, "order_id"},
		{PackroosterLabel, PackroosterRequest{OrderID: "a/b"}, "order_id"},
		{PackroosterLabel, PackroosterRequest{OrderID: "SO5", FulfillmentOrderID: "gid://shopify/FulfillmentOrder/x"}, "fulfillment_order_id"},
		{PackroosterFulfill, PackroosterRequest{OrderID: "SO5", ReturnLabel: true}, "return_label"},
	} {
		_, err := st.Packrooster(ctx, c.action, c.req, grams(1))
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("%s %+v: %v, want a field error naming %s", c.action, c.req, err, c.field)
		}
	}
	for _, c := range []struct{ typ, id, field string }{{"", "SO5", "type"}, {"shipment", "SO5", "type"}, {"order", "", "id"}} {
		_, err := st.PackroosterDelete(ctx, c.typ, c.id)
		var fe *FieldError
		if !errors.As(err, &fe) || fe.Field != c.field {
			t.Errorf("delete %q %q: %v, want a field error naming %s", c.typ, c.id, err, c.field)
		}
	}
	if _, err := st.PackroosterDelete(ctx, PackroosterTypeOrder, "404"); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete unknown order: %v", err)
	}
	if _, err := st.PackroosterDelete(ctx, PackroosterTypeFulfillmentOrder, "404"); !errors.Is(err, ErrNotFound) {
		t.Errorf("delete unknown fulfillment order: %v", err)
	}
}

func TestPackroosterCancelFulfillmentRevokesURLs(t *testing.T) {
	st, db, _ := prStation(t, Config{})
	ctx := context.Background()
	mustCreate(t, st, Order{ID: "SOC", AssociatedIdentifiers: []string{"6001"}})
	res, err := st.Packrooster(ctx, PackroosterLabelFulfill, PackroosterRequest{OrderID: "6001", FulfillmentOrderID: "61", ReturnLabel: true}, grams(500))
	if err != nil {
		t.Fatal(err)
	}
	png1, err := st.LabelByToken(ctx, res.ShippingLabelToken, "png")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := png.Decode(bytes.NewReader(png1)); err != nil {
		t.Fatalf("label URL PNG: %v", err)
	}
	status, err := st.PackroosterDelete(ctx, PackroosterTypeFulfillmentOrder, "gid://shopify/FulfillmentOrder/61")
	if err != nil || status != PackroosterCancelled {
		t.Fatalf("delete: %q %v", status, err)
	}
	if n := countEvents(t, db, EventFulfillmentCancelled); n != 1 {
		t.Fatalf("%d %s events, want 1", n, EventFulfillmentCancelled)
	}
	for _, tok := range []string{res.ShippingLabelToken, res.ReturnLabelToken} {
		if _, err := st.LabelByToken(ctx, tok, "zpl"); !errors.Is(err, ErrNotFound) {
			t.Errorf("voided label's URL still works: %v", err)
		}
	}
	js := jobs(t, db)
	if len(js) != 1 || js[0].State != queue.StateCancelled {
		t.Fatalf("jobs after cancel: %+v", js)
	}
	got, err := st.PackroosterGet(ctx, "61")
	if err != nil || got.Status != PackroosterCancelled || got.TrackingCode != "" {
		t.Fatalf("get after cancel: %+v %v", got, err)
	}
	// A new label call after the cancel labels anew.
	again, err := st.Packrooster(ctx, PackroosterLabel, PackroosterRequest{OrderID: "6001", FulfillmentOrderID: "61"}, grams(500))
	if err != nil || again.TrackingCode == "" || again.TrackingCode == res.TrackingCode || again.Status != PackroosterLabelled {
		t.Fatalf("label after cancel: %+v %v", again, err)
	}
}

func TestPackroosterDeleteOrderRemovesEverything(t *testing.T) {
	st, db, _ := prStation(t, Config{})
	ctx := context.Background()
	mustCreate(t, st, Order{ID: "SOX", AssociatedIdentifiers: []string{"7001"}})
	mustCreate(t, st, Order{ID: "SOKEEP"})
	res, err := st.Packrooster(ctx, PackroosterLabel, PackroosterRequest{OrderID: "gid://shopify/Order/7001", FulfillmentOrderID: "71", ReturnLabel: true}, grams(500))
	if err != nil {
		t.Fatal(err)
	}
	keep, err := st.Packrooster(ctx, PackroosterLabel, PackroosterRequest{OrderID: "SOKEEP"}, grams(500))
	if err != nil {
		t.Fatal(err)
	}
	status, err := st.PackroosterDelete(ctx, PackroosterTypeOrder, "7001")
	if err != nil || status != PackroosterDeleted {
		t.Fatalf("delete: %q %v", status, err)
	}
	for _, id := range []string{"SOX", "SOX" + returnSuffix} {
		if _, err := st.Order(ctx, id); !errors.Is(err, ErrNotFound) {
			t.Errorf("order %s still there: %v", id, err)
		}
	}
	if _, err := st.LabelByToken(ctx, res.ShippingLabelToken, "zpl"); !errors.Is(err, ErrNotFound) {
		t.Errorf("deleted order's label URL: %v", err)
	}
	if _, err := st.PackroosterGet(ctx, "71"); !errors.Is(err, ErrNotFound) {
		t.Errorf("get after delete: %v", err)
	}
	// Nothing of it is left in the file; the other order is untouched.
	err = db.View(func(tx *queue.Tx) error {
		// Where each kind names the order: its key, or its value (tokens
		// are random text, so no substring test on them).
		for kind, ofValue := range map[string]bool{kindPRRecords: true, kindPROrders: false, kindLabelURLs: true,
			kindLabelURLRefs: false, kindPackages: false, kindOrders: false} {
			recs, err := tx.ListRecords(kind, queue.RecordPage{})
			if err != nil {
				return err
			}
			for _, r := range recs {
				named := r.Key
				if ofValue {
					named = string(r.Value)
				}
				if kind == kindPRRecords {
					var rec prRecord
					if err := json.Unmarshal(r.Value, &rec); err != nil {
						return err
					}
					named = rec.OrderID
				}
				if strings.HasPrefix(named, "SOX") {
					t.Errorf("%s %q → %q left", kind, r.Key, r.Value)
				}
			}
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if b, err := st.LabelByToken(ctx, keep.ShippingLabelToken, "zpl"); err != nil || len(b) == 0 {
		t.Fatalf("other order's label: %v", err)
	}
}

func TestPackroosterRetentionDropsRecords(t *testing.T) {
	clk := newClock()
	db := openDB(t, t.TempDir(), clk)
	st := newStation(t, db, clk, Config{})
	ctx := context.Background()
	mustCreate(t, st, Order{ID: "SOT"})
	res, err := st.Packrooster(ctx, PackroosterLabelFulfill, PackroosterRequest{OrderID: "SOT", FulfillmentOrderID: "81"}, grams(500))
	if err != nil {
		t.Fatal(err)
	}
	printAll(t, db, queue.StatePrinted)
	// Past the label retention: the label is gone, so is its URL; the
	// shipment data stays.
	clk.Advance(DefaultLabelRetention + 1)
	if n, err := st.Housekeep(ctx, 0); err != nil || n != 1 {
		t.Fatalf("housekeep labels: %d %v", n, err)
	}
	if _, err := st.LabelByToken(ctx, res.ShippingLabelToken, "png"); !errors.Is(err, ErrNotFound) {
		t.Errorf("label URL past the label retention: %v", err)
	}
	if got, err := st.PackroosterGet(ctx, "81"); err != nil || got.TrackingCode != res.TrackingCode {
		t.Errorf("get past the label retention: %+v %v", got, err)
	}
	clk.Advance(DefaultOrderRetention + 1)
	if n, err := st.HousekeepOrders(ctx, 0); err != nil || n != 1 {
		t.Fatalf("housekeep orders: %d %v", n, err)
	}
	if _, err := st.LabelByToken(ctx, res.ShippingLabelToken, "zpl"); !errors.Is(err, ErrNotFound) {
		t.Errorf("label URL after retention: %v", err)
	}
	err = db.View(func(tx *queue.Tx) error {
		for _, kind := range []string{kindPRRecords, kindPROrders, kindLabelURLs, kindLabelURLRefs} {
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

func TestLabelByTokenRefusesOtherTokens(t *testing.T) {
	st, _, _ := prStation(t, Config{})
	ctx := context.Background()
	mustCreate(t, st, Order{ID: "SOK"})
	res, err := st.Packrooster(ctx, PackroosterLabel, PackroosterRequest{OrderID: "SOK"}, grams(500))
	if err != nil {
		t.Fatal(err)
	}
	tok := res.ShippingLabelToken
	if len(tok) != LabelTokenLen || LabelTokenLen*6 < 128 {
		t.Fatalf("token %q: %d characters", tok, len(tok))
	}
	flip := []byte(tok)
	flip[5] ^= 1
	for _, bad := range []string{"", tok[:len(tok)-1], tok + "A", string(flip), strings.Repeat("A", LabelTokenLen), "SOK-1", "../" + tok[3:]} {
		if _, err := st.LabelByToken(ctx, bad, "zpl"); !errors.Is(err, ErrNotFound) {
			t.Errorf("token %q: %v", bad, err)
		}
	}
	b, err := st.LabelByToken(ctx, tok, "zpl")
	if err != nil {
		t.Fatal(err)
	}
	if err := labelrender.CheckZPL(b, nil); err != nil {
		t.Fatalf("the label URL's ZPL does not pass the printer tokenizer's check: %v", err)
	}
	// Voiding through the bench's own API revokes the URL too.
	if _, err := st.VoidPackage(ctx, "SOK-1", "wrong box"); err != nil {
		t.Fatal(err)
	}
	if _, err := st.LabelByToken(ctx, tok, "png"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("voided label's URL: %v", err)
	}
}
