package api_test

import (
	"bytes"
	"context"
	"encoding/json"
	"strings"
	"testing"

	"github.com/packbench/packbench/api"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/station"
)

// TestScanWeighPrint drives the whole bench through the API: create an
// order, scan its LPN, place a parcel on the simulated scale, and find the
// job, the shipment and the label; then reprint and void.
func TestScanWeighPrint(t *testing.T) {
	b := newBench(t, nil)
	s := b.openStream("", "X-Api-Key", testKey)
	s.next("initial flow", named(api.EventFlow), nil)

	a := b.do("POST", "/api/v1/orders", validOrder("SO100"))
	if a.status != 201 || a.header.Get("Location") != "/api/v1/orders/SO100" {
		t.Fatalf("create: %d %s %s", a.status, a.header.Get("Location"), a.body)
	}
	b.do("POST", "/api/v1/orders", validOrder("SO100")).wantError(t, 409, api.CodeConflict, "")
	var o station.Order
	b.ok("GET", "/api/v1/orders/LPN-SO100", nil, &o) // found by its LPN too
	if o.ID != "SO100" || o.Status != station.OrderOpen || o.Source != "api" {
		t.Fatalf("order %+v", o)
	}

	b.do("POST", "/api/v1/flow/scan", map[string]string{"code": "LPN-NOPE"}).wantError(t, 404, api.CodeNoOrder, "")
	b.do("POST", "/api/v1/flow/scan", map[string]string{"code": ""}).wantError(t, 400, api.CodeInvalidField, "code")
	b.do("POST", "/api/v1/flow/arm", map[string]string{}).wantError(t, 400, api.CodeInvalidField, "order_id")
	b.do("POST", "/api/v1/flow/arm", map[string]string{"order_id": "SO404"}).wantError(t, 404, api.CodeNotFound, "")

	var fs station.FlowState
	b.ok("POST", "/api/v1/flow/scan", map[string]string{"code": "LPN-SO100"}, &fs)
	if fs.State != station.FlowArmed || fs.Order == nil || fs.Order.ID != "SO100" {
		t.Fatalf("after scan: %+v", fs)
	}
	s.next("armed", func(ev sseEvent) bool {
		return ev.name == api.EventFlow && strings.Contains(ev.data, `"state":"armed"`)
	}, nil)

	// A parcel lands, bounces and settles: one label job.
	b.ok("POST", "/api/v1/scale/sim", map[string]string{"script": "place 1200g; bounce; settle"}, nil)
	ev := s.next("printing", func(ev sseEvent) bool {
		return ev.name == api.EventFlow && (strings.Contains(ev.data, `"state":"printing"`) || strings.Contains(ev.data, `"problem"`))
	}, nil)
	if err := json.Unmarshal([]byte(ev.data), &fs); err != nil || fs.State != station.FlowPrinting || fs.JobID == 0 || fs.TrackingNumber == "" {
		t.Fatalf("flow after placing: %s (%v)", ev.data, err)
	}
	var jobs struct {
		Jobs []queue.Job `json:"jobs"`
	}
	b.ok("GET", "/api/v1/jobs", nil, &jobs)
	if len(jobs.Jobs) != 1 || jobs.Jobs[0].ID != fs.JobID || jobs.Jobs[0].Key != "SO100-1" || jobs.Jobs[0].Printer != "p1" {
		t.Fatalf("jobs after one parcel: %+v", jobs.Jobs)
	}

	var sh station.Shipment
	b.ok("GET", "/api/v1/shipments/SO100", nil, &sh)
	if len(sh.Packages) != 1 || sh.Packages[0].TrackingNumber != fs.TrackingNumber || sh.Packages[0].Weight.Milligrams != 1200000 {
		t.Fatalf("shipment %+v", sh)
	}
	var page station.ShipmentPage
	b.ok("GET", "/api/v1/shipments?limit=10", nil, &page)
	if len(page.Shipments) != 1 || page.Total != 1 {
		t.Fatalf("shipments %+v", page)
	}
	var pkg station.Package
	b.ok("GET", "/api/v1/packages/"+fs.TrackingNumber, nil, &pkg)
	if pkg.Reference != "SO100-1" {
		t.Fatalf("package by tracking number: %+v", pkg)
	}

	// The label, as ZPL and as a PNG preview.
	a = b.do("GET", "/api/v1/labels/SO100-1.zpl", nil)
	if a.status != 200 || a.header.Get("Content-Type") != "application/zpl" || !bytes.HasPrefix(a.body, []byte("^XA")) {
		t.Fatalf("zpl: %d %s %.40q", a.status, a.header.Get("Content-Type"), a.body)
	}
	job, err := b.db.Job(context.Background(), fs.JobID)
	if err != nil || !bytes.Equal(job.Payload, a.body) {
		t.Fatalf("the label served is not the job's payload (%v)", err)
	}
	a = b.do("GET", "/api/v1/labels/"+fs.TrackingNumber+".png", nil)
	if a.status != 200 || a.header.Get("Content-Type") != "image/png" || !bytes.HasPrefix(a.body, []byte("\x89PNG\r\n\x1a\n")) {
		t.Fatalf("png: %d %s", a.status, a.header.Get("Content-Type"))
	}

	// Reprint: a new job with the same label.
	var rj queue.Job
	a = b.do("POST", "/api/v1/jobs/"+fs.JobID.String()+"/reprint", nil)
	if a.status != 201 {
		t.Fatalf("reprint: %d %s", a.status, a.body)
	}
	a.decode(t, &rj)
	if rj.ID == fs.JobID || rj.Key != "SO100-1-reprint-1" || rj.State != queue.StateQueued {
		t.Fatalf("reprint job %+v", rj)
	}
	b.do("POST", "/api/v1/jobs/j999/reprint", nil).wantError(t, 404, api.CodeNotFound, "")

	// Void the order: its waiting jobs are cancelled.
	b.ok("POST", "/api/v1/orders/SO100/void", map[string]string{"reason": "customer cancelled"}, &o)
	if o.Status != station.OrderCancelled {
		t.Fatalf("after void: %+v", o)
	}
	b.ok("GET", "/api/v1/jobs?state=cancelled", nil, &jobs)
	if len(jobs.Jobs) != 2 {
		t.Fatalf("cancelled jobs after void: %+v", jobs.Jobs)
	}
	b.do("POST", "/api/v1/flow/arm", map[string]string{"order_id": "SO100"}).wantError(t, 409, api.CodeConflict, "")

	var orders station.OrderPage
	b.ok("GET", "/api/v1/orders?status=cancelled", nil, &orders)
	if orders.Total != 1 || orders.Orders[0].ID != "SO100" {
		t.Fatalf("orders %+v", orders)
	}
	b.do("GET", "/api/v1/orders?status=lost", nil).wantError(t, 400, api.CodeInvalidField, "status")

	b.ok("POST", "/api/v1/flow/disarm", nil, &fs)
	if fs.State != station.FlowIdle {
		t.Fatalf("after disarm: %+v", fs)
	}
}

// refusing is a carrier that says no the way an upstream does.
type refusing struct{ err *station.CarrierError }

func (c refusing) Label(context.Context, station.LabelRequest) (station.LabelResult, error) {
	return station.LabelResult{}, c.err
}

func TestCarrierErrors(t *testing.T) {
	for _, c := range []struct {
		name   string
		err    *station.CarrierError
		status int
	}{
		{"refused", &station.CarrierError{Carrier: "http", Status: 400, Message: "Invalid postal code N1 9GU for GB"}, 422},
		{"down", &station.CarrierError{Carrier: "http", Status: 503, Message: "upstream unavailable", Temporary: true, Attempts: 4}, 503},
	} {
		t.Run(c.name, func(t *testing.T) {
			b := newBench(t, &benchOptions{carrier: refusing{c.err}})
			b.ok("POST", "/api/v1/orders", validOrder("SO7"), nil)
			a := b.do("POST", "/api/v1/shipments", map[string]any{"order_id": "SO7", "weight": map[string]any{"milligrams": 1000000}})
			if msg := a.wantError(t, c.status, api.CodeCarrier, ""); msg != c.err.Message {
				t.Fatalf("message %q, want the upstream's %q", msg, c.err.Message)
			}
			var jobs struct {
				Jobs []queue.Job `json:"jobs"`
			}
			b.ok("GET", "/api/v1/jobs", nil, &jobs)
			if len(jobs.Jobs) != 0 {
				t.Fatalf("a refused label queued a job: %+v", jobs.Jobs)
			}
		})
	}
}
