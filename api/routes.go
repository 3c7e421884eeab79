package api

import (
	"net/http"
	"slices"

	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/scale"
	"github.com/packbench/packbench/station"
)

// Paths with a meaning elsewhere (metrics, the EventSource key rule).
const (
	prefix     = "/api/v1"
	pathEvents = prefix + "/scale/events"
)

// Tags group operations in the OpenAPI document.
const (
	tagBench   = "bench"
	tagScale   = "scale"
	tagJobs    = "jobs"
	tagFlow    = "flow"
	tagOrders  = "orders"
	tagLabels  = "labels"
	tagMeta    = "meta"
	tagFulfil  = "fulfil"
	tagShipium = "shipium"
	pageLimit  = "page size, 1 to 500 (default 50); a page also ends, with next set, at 1 MiB of items"
	pageCursor = "the next value of the previous page"
)

var (
	limitParam = param{name: "limit", desc: pageLimit, typ: "integer"}
	afterParam = param{name: "after", desc: pageCursor, typ: "string"}
)

func stateNames() []string {
	var out []string
	for _, s := range queue.States() {
		out = append(out, string(s))
	}
	return out
}

// routeTable is every route the API serves: the mux and the OpenAPI
// document are both built from it.
func (s *Server) routeTable() []route {
	notFound := []int{http.StatusNotFound}
	conflict := []int{http.StatusNotFound, http.StatusConflict}
	unavailable := []int{http.StatusServiceUnavailable}
	return append([]route{
		{"GET", prefix + "/health", authNone, s.getHealth, opDoc{
			summary: "Health of the bench: queue, printers, scale, flow. Without a key: status words and counts only (no order, reading, tracking number, printer reason or link error); with a key: the whole report", tag: tagBench,
			resp: Health{}, errors: unavailable, respDesc: "ok or degraded (503 with the same body when down)"}},
		{"GET", prefix + "/printers", authKey, s.listPrinters, opDoc{kiosk: true,
			summary: "Configured printers and their last status", tag: tagBench,
			resp: struct {
				Printers []PrinterInfo `json:"printers"`
			}{}}},
		{"POST", prefix + "/printers/{name}/test", authKey, s.testPrint, opDoc{kiosk: true,
			summary: "Queue a test label for this printer (held while it needs paper, printed when it is back)", tag: tagBench,
			status: http.StatusCreated, resp: queue.Job{}, errors: []int{http.StatusNotFound, http.StatusServiceUnavailable}, idempotent: true}},
		{"GET", prefix + "/config", authKey, s.getConfig, opDoc{
			summary: "The daemon's configuration, secrets removed", tag: tagBench,
			resp: map[string]any{}}},
		{"GET", prefix + "/openapi.json", authKey, s.getOpenAPI, opDoc{
			summary: "This document", tag: tagMeta, resp: map[string]any{}}},
		{"GET", "/metrics", authKey, s.serveMetrics, opDoc{
			summary: "Prometheus metrics (text exposition format); scrape with the key as a bearer token", tag: tagMeta,
			respType: "text/plain"}},

		{"GET", prefix + "/scale", authKey, s.getScale, opDoc{kiosk: true,
			summary: "The scale's latest reading", tag: tagScale, resp: scale.Reading{}, errors: unavailable}},
		{"GET", pathEvents, authKeyQuery, s.streamEvents, opDoc{kiosk: true,
			summary: "Live Server-Sent Events: reading (a scale.Reading, on change), flow (the flow state), job (a queue event); " +
				"a heartbeat comment every 15 s; 503 too_many_streams over [api] max_streams. EventSource cannot set headers, so this route alone also takes ?key=", tag: tagScale,
			query:    []param{{name: "key", desc: "the API key, for EventSource clients", typ: "string"}},
			respType: "text/event-stream", errors: []int{http.StatusServiceUnavailable}}},
		{"POST", prefix + "/scale/zero", authKey, s.zeroScale, opDoc{kiosk: true,
			summary: "Zero the scale", tag: tagScale, resp: okBody{}, errors: []int{http.StatusConflict, http.StatusUnprocessableEntity, http.StatusServiceUnavailable}}},
		{"POST", prefix + "/scale/tare", authKey, s.tareScale, opDoc{kiosk: true,
			summary: "Tare the scale", tag: tagScale, resp: okBody{}, errors: []int{http.StatusConflict, http.StatusUnprocessableEntity, http.StatusServiceUnavailable}}},
		{"POST", prefix + "/scale/sim", authKey, s.simScale, opDoc{
			summary: "Drive the simulated scale: {\"grams\":1200,\"status\":\"stable\"}, {\"remove\":true} or {\"script\":\"place 1200g; bounce; settle\"} (202, runs in the background)",
			tag:     tagScale, body: simRequest{}, resp: simAnswer{}, errors: []int{http.StatusConflict}}},

		{"GET", prefix + "/jobs", authKey, s.listJobs, opDoc{
			summary: "Print jobs, oldest first", tag: tagJobs, resp: jobList{},
			query: []param{{name: "state", desc: "only jobs in this state", typ: "string", enum: stateNames()},
				{name: "printer", desc: "only jobs for this printer", typ: "string"},
				{name: "after", desc: "job id: the next value of the previous page", typ: "string"}, limitParam}}},
		{"POST", pathPrint, authPrint, s.print, opDoc{
			summary: "Print anything: a JSON body with one of zpl (text, through the [zpl] passthrough check), png or pdf (base64), label (a label spec) or url (http/https, fetched by the bench: " +
				"at most [api] print_url_max_bytes within print_url_timeout, a PDF, PNG or ZPL by its content, else 422 url_refused with nothing queued); " +
				"or the raw body as application/pdf, image/png or application/vnd.zebra.zpl with printer, copies, title and source in the query. " +
				"202 with the job and its status_url (also Location) once the job is committed. The API key or a print token (pbt_…)", tag: tagJobs,
			body: PrintRequest{}, status: http.StatusAccepted, resp: PrintAnswer{},
			errors: []int{http.StatusNotFound, http.StatusUnprocessableEntity, http.StatusServiceUnavailable}, idempotent: true}},
		{"GET", prefix + "/jobs/{id}", authPrint, s.getJob, opDoc{
			summary: "One job with its state history (a print token: only the jobs it printed)", tag: tagJobs, resp: queue.Job{}, errors: notFound}},
		{"GET", prefix + "/jobs/{id}/events", authPrintQuery, s.streamJob, opDoc{
			summary: "One job's state as Server-Sent Events: event \"state\" with the whole job now and after each change, until it is printed, sent, failed or cancelled; " +
				"a heartbeat comment every 15 s. The API key or a print token, also as ?key= (EventSource)", tag: tagJobs,
			query:    []param{{name: "key", desc: "the API key or a print token, for EventSource clients", typ: "string"}},
			respType: "text/event-stream", errors: []int{http.StatusNotFound, http.StatusServiceUnavailable}}},
		{"DELETE", prefix + "/jobs/{id}", authKey, s.deleteJob, opDoc{
			summary: "Cancel a job that has not printed (queued, failed or uncertain): the same as POST .../cancel", tag: tagJobs, resp: queue.Job{}, errors: conflict}},
		{"POST", prefix + "/print-tokens", authKey, s.createPrintToken, opDoc{
			summary: "Make a print token for a browser app: it can only POST /api/v1/print and read the jobs it printed. The token is in this answer only (the bench keeps its hash)", tag: tagJobs,
			body: printTokenBody{}, status: http.StatusCreated, resp: PrintToken{}, errors: []int{http.StatusServiceUnavailable}}},
		{"GET", prefix + "/print-tokens", authKey, s.listPrintTokens, opDoc{
			summary: "The print tokens (never the tokens themselves)", tag: tagJobs, resp: printTokenList{}}},
		{"DELETE", prefix + "/print-tokens/{id}", authKey, s.deletePrintToken, opDoc{
			summary: "Revoke a print token", tag: tagJobs, resp: PrintToken{}, errors: notFound}},
		{"POST", prefix + "/jobs/{id}/cancel", authKey, s.jobAction((*queue.DB).Cancel), opDoc{kiosk: true,
			summary: "Cancel a queued, failed or uncertain job", tag: tagJobs, body: reasonBody{}, bodyOpt: true, resp: queue.Job{}, errors: conflict}},
		{"POST", prefix + "/jobs/{id}/retry", authKey, s.jobAction((*queue.DB).Retry), opDoc{kiosk: true,
			summary: "Queue a failed, uncertain or sent job again", tag: tagJobs, body: reasonBody{}, bodyOpt: true, resp: queue.Job{}, errors: conflict}},
		{"POST", prefix + "/jobs/{id}/mark-printed", authKey, s.jobAction((*queue.DB).MarkPrinted), opDoc{kiosk: true,
			summary: "Record that a failed, uncertain or sent job did print", tag: tagJobs, body: reasonBody{}, bodyOpt: true, resp: queue.Job{}, errors: conflict}},

		{"POST", prefix + "/jobs/{id}/reprint", authKey, s.reprintJob, opDoc{kiosk: true,
			summary: "Print a job's label again: same tracking number, a new job marked as a reprint (the answer)", tag: tagJobs,
			body: reprintBody{}, bodyOpt: true, status: http.StatusCreated, resp: queue.Job{},
			errors: []int{http.StatusNotFound, http.StatusConflict, http.StatusServiceUnavailable}, idempotent: true}},

		{"GET", prefix + "/flow", authKey, s.getFlow, opDoc{kiosk: true,
			summary: "The hands-free flow's state", tag: tagFlow, resp: station.FlowState{}, errors: unavailable}},
		{"POST", prefix + "/flow/scan", authKey, s.scan, opDoc{kiosk: true,
			summary: "A scanned code (order id, partner order id, LPN): arms its order", tag: tagFlow,
			body: scanRequest{}, resp: station.FlowState{}, errors: []int{http.StatusNotFound, http.StatusConflict, http.StatusServiceUnavailable}}},
		{"POST", prefix + "/flow/arm", authKey, s.arm, opDoc{kiosk: true,
			summary: "Arm an order by id: the next stable weight labels its next package", tag: tagFlow,
			body: armRequest{}, resp: station.FlowState{}, errors: []int{http.StatusNotFound, http.StatusConflict, http.StatusServiceUnavailable}}},
		{"POST", prefix + "/flow/disarm", authKey, s.disarm, opDoc{kiosk: true,
			summary: "Disarm the flow (409 busy while a label is being made)", tag: tagFlow,
			resp: station.FlowState{}, errors: []int{http.StatusConflict, http.StatusServiceUnavailable}}},

		{"GET", prefix + "/commands", authKey, s.listCommands, opDoc{
			summary: "The command barcodes a bench without a screen is driven with ([commands]): scanned like an order code, they reprint, cancel, tare, zero or test print", tag: tagFlow,
			resp: commandList{}, errors: unavailable}},
		{"GET", prefix + "/commands/{name}/barcode", authKey, s.commandBarcode, opDoc{
			summary: "A command's Code 128 barcode as a PNG, for the printable sheet", tag: tagFlow,
			respType: "image/png", errors: []int{http.StatusNotFound, http.StatusServiceUnavailable}}},
		{"POST", prefix + "/commands/sheet/print", authKey, s.printCommandSheet, opDoc{
			summary: "Print the command barcodes as a label (the flow's printer unless named)", tag: tagFlow,
			body: sheetBody{}, bodyOpt: true, status: http.StatusCreated, resp: queue.Job{},
			errors: unavailable, idempotent: true}},

		{"POST", prefix + "/orders", authKey, s.createOrder, opDoc{
			summary: "Create an order", tag: tagOrders, body: station.Order{}, status: http.StatusCreated, resp: station.Order{},
			errors: []int{http.StatusConflict, http.StatusServiceUnavailable}, idempotent: true}},
		{"GET", prefix + "/orders", authKey, s.listOrders, opDoc{
			summary: "Orders in creation order", tag: tagOrders, resp: station.OrderPage{},
			query: []param{{name: "status", desc: "only orders in this status", typ: "string", enum: []string{"open", "partial", "shipped", "cancelled"}},
				{name: "identifier", desc: "only the orders this code finds (id, partner order id, LPN; an LPN may be shared by several orders)", typ: "string"},
				afterParam, limitParam}, errors: unavailable}},
		{"GET", prefix + "/orders/{id}", authKey, s.getOrder, opDoc{
			summary: "One order, by id, partner order id or associated identifier", tag: tagOrders, resp: station.Order{},
			errors: []int{http.StatusNotFound, http.StatusServiceUnavailable}}},
		{"POST", prefix + "/orders/{id}/void", authKey, s.voidOrder, opDoc{
			summary: "Cancel an order: its labelled packages are voided and their jobs cancelled where possible", tag: tagOrders,
			body: reasonBody{}, bodyOpt: true, resp: station.Order{}, errors: []int{http.StatusNotFound, http.StatusConflict, http.StatusServiceUnavailable}}},

		{"POST", prefix + "/shipments", authKey, s.ship, opDoc{
			summary: "Label the next package of an order without the scale (weight given)", tag: tagOrders,
			body: station.ShipRequest{}, status: http.StatusCreated, resp: station.Package{},
			errors: []int{http.StatusNotFound, http.StatusConflict, http.StatusUnprocessableEntity, http.StatusServiceUnavailable}, idempotent: true}},
		{"GET", prefix + "/shipments", authKey, s.listShipments, opDoc{
			summary: "Shipments (orders with packages) in creation order", tag: tagOrders, resp: station.ShipmentPage{},
			query: []param{afterParam, limitParam}, errors: unavailable}},
		{"GET", prefix + "/shipments/{id}", authKey, s.getShipment, opDoc{
			summary: "An order's shipment: the order and its packages", tag: tagOrders, resp: station.Shipment{},
			errors: []int{http.StatusNotFound, http.StatusServiceUnavailable}}},
		{"GET", prefix + "/packages/{id}", authKey, s.getPackage, opDoc{
			summary: "One package, by reference, tracking number or job id", tag: tagOrders, resp: station.Package{},
			errors: []int{http.StatusNotFound, http.StatusServiceUnavailable}}},
		{"POST", prefix + "/packages/{id}/void", authKey, s.voidPackage, opDoc{
			summary: "Void a package: its waiting jobs are cancelled and it no longer counts for its order", tag: tagOrders,
			body: reasonBody{}, bodyOpt: true, resp: station.Package{}, errors: []int{http.StatusNotFound, http.StatusConflict, http.StatusServiceUnavailable}}},
		// Fulfil (seed 002): the /label endpoint of a Fulfil shipping carrier.
		{"POST", "/label", authKey, s.fulfilLabel, opDoc{
			summary: "Fulfil /label (seed 002): a label per package, idempotent per packages[].reference; PNG base64 or raw ZPL per options.label_type; " +
				"each label is printed unless [fulfil] no_print. packages[].amount may be given twice (the seed's example does): the last value wins",
			tag: tagFulfil, body: station.FulfilLabelRequest{}, resp: station.FulfilLabelResponse{},
			errors: []int{http.StatusConflict, http.StatusUnprocessableEntity, http.StatusServiceUnavailable}}},
		{"GET", prefix + "/labels/{file}", authKey, s.getLabel, opDoc{kiosk: true,
			summary: "A stored label: {id}.zpl (printer-ready ZPL) or {id}.png (preview); id is a package reference, tracking number or job id",
			tag:     tagLabels, respType: "application/octet-stream", respDesc: "application/zpl or image/png",
			errors: []int{http.StatusNotFound, http.StatusServiceUnavailable}}},

		// Shipium Pack App (seed 001): api/shipium.go.
		{"POST", pathShipiumOrder, authKey, s.createShipiumOrder, opDoc{
			summary: "Shipium Pack App: create an order (a bench order: a scan of one of its associatedIdentifiers arms the flow)", tag: tagShipium,
			body: ShipiumOrderRequest{}, resp: ShipiumOrder{}, errors: []int{http.StatusConflict, http.StatusServiceUnavailable}}},
		{"GET", pathShipiumOrder + "/search", authKey, s.searchShipiumOrders, opDoc{
			summary: "Shipium Pack App: search orders, oldest first; a bare array with X-Page-Next, X-Page-Previous (absent at either end) and X-Total-Count",
			tag:     tagShipium, resp: []ShipiumOrder{}, query: shipiumSearchParams, errors: unavailable}},
		{"GET", pathShipiumOrder + "/{id}", authKey, s.getShipiumOrder, opDoc{
			summary: "Shipium Pack App: one order by shipiumOrderId or partnerOrderId", tag: tagShipium,
			resp: ShipiumOrder{}, errors: []int{http.StatusNotFound, http.StatusServiceUnavailable}}},
	}, slices.Concat(s.tracktorRoutes(), s.webhookRoutes(), s.shopifyRoutes(), s.packroosterRoutes(), s.firmwareRoutes(), s.kioskRoutes())...)
}
