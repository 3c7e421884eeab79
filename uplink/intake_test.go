package uplink

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/station"
)

// TestStationIntake drives the bench's intake with a real queue file and
// station: each push type becomes what it should, a repeated id is the
// same job, and wrong content is a PushError naming the field.
func TestStationIntake(t *testing.T) {
	ctx := context.Background()
	db, err := queue.Open(filepath.Join(t.TempDir(), "q.db"), nil)
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	st, err := station.New(db, &station.Options{Printers: []string{"zebra", "spare"}})
	if err != nil {
		t.Fatal(err)
	}
	var committed []string
	in, err := NewStationIntake(st, db, &IntakeOptions{Printers: []string{"zebra", "spare"},
		AfterCommit: func(j PushJob, created bool) { committed = append(committed, j.ID) }})
	if err != nil {
		t.Fatal(err)
	}

	res, err := in.Push(ctx, PushJob{ID: "z1", Type: PushZPL, ZPL: zplFor("z1"), Printer: "spare"})
	if err != nil || !res.Created {
		t.Fatalf("zpl push: %+v %v", res, err)
	}
	again, err := in.Push(ctx, PushJob{ID: "z1", Type: PushZPL, ZPL: zplFor("z1"), Printer: "spare"})
	if err != nil || again.Created || again.Job != res.Job {
		t.Fatalf("repeated id: %+v %v, want job %s again", again, err, res.Job)
	}
	j, err := db.JobByKey(ctx, "mqtt:z1")
	if err != nil || j.Printer != "spare" || j.Source != queue.SourceMQTT || string(j.Payload) != zplFor("z1") {
		t.Fatalf("zpl job %+v %v", j, err)
	}

	spec, err := os.ReadFile("../docs/examples/label.json")
	if err != nil {
		t.Fatal(err)
	}
	res, err = in.Push(ctx, PushJob{ID: "l1", Type: PushLabel, Label: spec})
	if err != nil || !res.Created {
		t.Fatalf("label push: %+v %v", res, err)
	}
	if j, err = db.JobByKey(ctx, "mqtt:l1"); err != nil || j.Printer != "zebra" || j.ContentType != queue.ContentZPL {
		t.Fatalf("label job %+v %v (want the station's printer)", j, err)
	}
	if png, err := st.LabelPNG(ctx, j.ID.String()); err != nil || len(png) < 8 || string(png[1:4]) != "PNG" {
		t.Fatalf("label preview: %d bytes, %v", len(png), err)
	}

	order := json.RawMessage(`{"ship_to":{"name":"Ada Lovelace","street1":"12 St James Sq","city":"London","zip":"SW1Y 4JH","country":"GB"}}`)
	res, err = in.Push(ctx, PushJob{ID: "o1", Type: PushOrder, Order: order})
	if err != nil || !res.Created || res.Job != "o1" {
		t.Fatalf("order push: %+v %v", res, err)
	}
	if res, err = in.Push(ctx, PushJob{ID: "o1", Type: PushOrder, Order: order}); err != nil || res.Created {
		t.Fatalf("repeated order push: %+v %v, want the same order, not an error", res, err)
	}

	for _, tc := range []struct {
		job   PushJob
		field string
	}{
		{PushJob{ID: "b1", Type: PushZPL, ZPL: "^XA~JR^XZ"}, "zpl"},
		{PushJob{ID: "b1dle", Type: PushZPL, ZPL: "^XA^FO10,10^FDhi\x10JR^FS^XZ"}, "zpl"}, // DLE is ~ to a printer
		{PushJob{ID: "b1pq", Type: PushZPL, ZPL: "^XA^FO10,10^FDhi^FS^PQ1001^XZ"}, "zpl"}, // more than a job's copies
		{PushJob{ID: "b2", Type: PushZPL, ZPL: zplFor("b2"), Printer: "nope"}, "printer"},
		{PushJob{ID: "b3", Type: PushLabel, Label: json.RawMessage(`{"to":{}}`)}, "label.to.name"},
		{PushJob{ID: "b4", Type: PushPNG, PNG: []byte("not a png")}, "png"},
		{PushJob{ID: "b5", Type: PushOrder, Order: json.RawMessage(`{"ship_to":{"name":"A"}}`)}, "order.ship_to.street1"},
		{PushJob{ID: "b6", Type: PushOrder, Order: order, Copies: 2}, "copies"},
	} {
		_, err := in.Push(ctx, tc.job)
		var pe *PushError
		if !errors.As(err, &pe) || !errors.Is(err, ErrInvalidPush) || pe.Field != tc.field {
			t.Errorf("%s: %v, want a PushError for %s", tc.job.ID, err, tc.field)
		}
		if _, err := db.JobByKey(ctx, tc.job.Key()); !errors.Is(err, queue.ErrNotFound) {
			t.Errorf("%s: rejected push left a job (%v)", tc.job.ID, err)
		}
	}
	// ^PQ up to a job's copies limit is a label's own business.
	if _, err := in.Push(ctx, PushJob{ID: "pq", Type: PushZPL, ZPL: "^XA^FO10,10^FDhi^FS^PQ1000^XZ"}); err != nil {
		t.Fatalf("^PQ1000: %v", err)
	}
	if want := []string{"z1", "z1", "l1", "o1", "o1", "pq"}; !slices.Equal(committed, want) {
		t.Fatalf("AfterCommit ran for %v, want %v", committed, want)
	}
}

// TestStationIntakeOrderConflict: an order push repeated with the same
// content is the same order (a redelivery); the same id with different
// content is rejected naming the field, and the stored order is left as
// it was (checked on the reopened queue file).
func TestStationIntakeOrderConflict(t *testing.T) {
	ctx := context.Background()
	path := filepath.Join(t.TempDir(), "q.db")
	db, err := queue.Open(path, nil)
	if err != nil {
		t.Fatal(err)
	}
	defer func() { db.Close() }()
	st, err := station.New(db, &station.Options{Printers: []string{"zebra"}})
	if err != nil {
		t.Fatal(err)
	}
	var committed []string
	in, err := NewStationIntake(st, db, &IntakeOptions{AfterCommit: func(j PushJob, created bool) {
		committed = append(committed, fmt.Sprint(j.ID, " ", created))
	}})
	if err != nil {
		t.Fatal(err)
	}
	order := `{"ship_to":{"name":"Ada Lovelace","street1":"12 St James Sq","city":"London","zip":"SW1Y 4JH","country":"GB"},"lines":[{"sku":"A-1","quantity":2}]}`
	push := func(body string) (PushResult, error) {
		return in.Push(ctx, PushJob{ID: "o1", Type: PushOrder, Order: json.RawMessage(body)})
	}
	if res, err := push(order); err != nil || !res.Created {
		t.Fatalf("first push: %+v %v", res, err)
	}
	// The same order again, as stored: the country's case and the spacing
	// are not content.
	same := strings.Replace(strings.Replace(order, `"GB"`, `"gb"`, 1), `,"lines"`, `, "lines"`, 1)
	for _, body := range []string{order, same} {
		if res, err := push(body); err != nil || res.Created || res.Job != "o1" {
			t.Fatalf("repeated push %s: %+v %v, want the same order", body, res, err)
		}
	}
	for _, tc := range []struct{ body, field string }{
		{strings.Replace(order, "Ada Lovelace", "Charles Babbage", 1), "order.ship_to"},
		{strings.Replace(order, `"quantity":2`, `"quantity":3`, 1), "order.lines"},
		{strings.Replace(order, `}]}`, `}],"packages":2}`, 1), "order.packages"},
	} {
		_, err := push(tc.body)
		var pe *PushError
		if !errors.As(err, &pe) || pe.Field != tc.field || !strings.Contains(pe.Rule, `order "o1" was already pushed with a different`) {
			t.Errorf("push of o1 with another %s: %v, want a rejection naming %s", tc.field, err, tc.field)
		}
	}
	if want := []string{"o1 true", "o1 false", "o1 false"}; !slices.Equal(committed, want) {
		t.Errorf("AfterCommit ran for %v, want %v", committed, want)
	}

	// Reopened: one order, as first pushed.
	if err := db.Close(); err != nil {
		t.Fatal(err)
	}
	if db, err = queue.Open(path, nil); err != nil {
		t.Fatal(err)
	}
	st, err = station.New(db, &station.Options{Printers: []string{"zebra"}})
	if err != nil {
		t.Fatal(err)
	}
	o, err := st.Order(ctx, "o1")
	if err != nil || o.ShipTo.Name != "Ada Lovelace" || o.Packages != 1 || len(o.Lines) != 1 || o.Lines[0].Quantity != 2 {
		t.Fatalf("stored order after the conflicting pushes: %+v %v", o, err)
	}
}
