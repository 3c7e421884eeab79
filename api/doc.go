// Package api serves the bench's local HTTP API: the seed contracts
// (Shipium Pack App, Fulfil /label, Packrooster, Shopify fulfillment service,
// Tracktor), packbench's own /api/v1, the OpenAPI document and the web page.
//
// This package serves packbench's own API (issue 6) and the bench page
// (issue 7); the seed contracts come with a later issue.
//
//	srv, err := api.New(api.Deps{Queue: db, Station: st, Scale: link, Sim: sim,
//		Printers: p, Config: view, Keys: []string{key}, Version: v, Logger: log},
//		&api.Options{Hosts: names})
//	lim := api.NewConnLimit(ln, maxConns, 0)
//	hs := &http.Server{Handler: srv, ConnState: lim.ConnState, ReadTimeout: ..., IdleTimeout: ...}
//	hs.RegisterOnShutdown(srv.Close) // ends event streams, else Shutdown waits on them
//	hs.Serve(lim)
//
// # Routes
//
// All under /api/v1 except /metrics and the seed contracts' own paths
// (Fulfil's POST /label, fulfil.go); the OpenAPI 3.0 document at
// /api/v1/openapi.json lists every one (it is built from the same table as
// the mux, with schemas reflected from the Go types the handlers encode):
// health, printers, config, scale (reading, zero, tare, sim, events), jobs
// (list, get, cancel, retry, mark-printed, reprint), flow (state, scan,
// arm, disarm), orders (create, list, get, void), shipments (create, list,
// get), packages (get, void), labels ({id}.zpl, {id}.png), webhooks
// (create with the signing secret shown once, list, get, delete, delivery
// log; webhooks.go) and Tracktor's webhooks.json under
// /apps/tracktor/api/admin/{device_id}/ (tracktor_webhooks.go). Deps.Webhooks
// is the subscription store the daemon shares with uplink's delivery worker.
//
// # The raw 9100 port
//
// Raw9100 (raw9100.go) is the bench's other front door: a TCP port that
// takes ZPL like a network Zebra printer, one durable job per format,
// checked by station.CheckZPL, with ~HS and ~HQES answered from the
// printer's status (docs/integrations/raw9100.md). It shares ConnLimit
// with the HTTP server's connection cap.
//
//	raw, err := api.NewRaw9100(db, st, printerStatus, &api.Raw9100Options{Logger: log})
//	err = raw.Serve(ctx, ln) // until ctx ends
//
// # The bench page
//
// GET / is the bench page and GET /web/... its CSS and script, embedded
// from web/ (no build step, no CDN: benches are often offline). They need
// no key and hold no data; the page asks for the key once, keeps it in the
// browser's localStorage and reads everything through this API (the event
// stream with ?key=). The packer's view (#bench, for an 800x480 touch
// screen) shows the live weight, the flow step in words, the order, the
// last label's preview, a scan field that keeps the focus, and problems
// with what to do; the admin's view (#admin) shows printers, jobs with
// their history, shipments with labels, webhook subscriptions with their
// last delivery attempt, the MQTT link, the version and the configuration. The page routes are not API routes: Routes and the
// OpenAPI document leave them out. POST /api/v1/printers/{name}/test
// queues a test label for the page's "Test print" button.
//
// # Auth
//
// Keys have at least MinKeyLen (32) characters. Every route but GET
// /api/v1/health needs an API key, as
// "Authorization: Bearer <key>" or "X-Api-Key: <key>", compared in constant
// time. The event stream alone also takes ?key=<key>, because a browser's
// EventSource cannot set headers; the request log records paths without
// queries, so the key does not reach the journal. /metrics needs the key
// too (Prometheus: authorization { credentials: <key> }): it reveals the
// bench's activity, and a key costs a scraper nothing. Health without a
// key holds status words and counts only (no order, reading, tracking
// number, printer reason or link error).
//
// Shopify (shopify.go) cannot send the key: its fulfillment service's
// callbacks are also served under /shopify/{token}/, authenticated by the
// callback token in the path (constant time; the request log records the
// route pattern instead of such a path), and POST /webhooks/shopify is
// authenticated by X-Shopify-Hmac-Sha256 alone, the key being no
// substitute for the signature.
//
// Every request, the page's included, must name the bench in Host:
// localhost, loopback, one of its interface addresses, or one of
// Options.Hosts; any other name gets 421 host_not_allowed, so a
// DNS-rebinding page in a packer's browser cannot read the API.
//
// # Limits
//
// A declared body over Options.MaxBody gets 413 before a byte is read and
// a chunked one is cut there; both close the connection. Every answer has
// Options.WriteTimeout from its first byte, an event stream per event, so
// a client that never reads loses its connection. At most
// Options.MaxStreams event streams are open (503 too_many_streams).
// ConnLimit caps connections at the listener, making room by closing the
// longest idle one (503 too_many_connections when none is idle). List
// pages end early, with next set, at station.PageBytes of items, and are
// encoded item by item into the connection.
//
// # Errors
//
// Every error, the mux's own 404 and 405 included, is
// {"error":{"code":"...","message":"...","field":"..."}}. Request bodies
// must be application/json, at most Options.MaxBody bytes (413), one JSON
// value with no unknown or repeated members and only valid UTF-8; errors
// name the member ("ship_to.zip"). Ids in bodies and paths follow the id
// rules of internal/textcheck (no control or bidi characters, no
// direction marks, no / \ ? # or ".."): a bad path id is a 400 naming the
// parameter ("id"), not a 404. Location headers are escaped.
// Job transitions the queue refuses are 409 conflict; carrier refusals 422
// with the upstream's own message; parts that are down 503. Panics in a
// handler become a logged 500.
//
// # Idempotent creates
//
// Every create (POST /orders, /shipments, /jobs/{id}/reprint,
// /printers/{name}/test; a route opts in with opDoc.idempotent, which
// wires the handler and documents the header) takes an Idempotency-Key
// header of 1 to 255 printable ASCII characters (else 400 naming
// Idempotency-Key). The first 2xx answer to a key is kept in the data
// file, scoped to the caller's API key, for Options.IdempotencyRetention
// (24 h; Server.Housekeep, run hourly by the daemon, deletes older ones):
// the same key with the same method, path and body (JSON whitespace aside)
// gets that answer again, byte for byte with its Location, plus
// Idempotent-Replayed: true, and nothing is created; the same key with
// another request is 409 idempotency_key_reused. A request whose key is
// being answered by another one in flight waits for it and gets its
// answer. Errors are not kept: a failed request may be retried with the
// same key. The answer is kept just after the create commits, so a crash
// between the two lets one retry run again; shipments sent with a package
// "reference" are safe even then (station.ShipRequest.Reference).
//
// # Events
//
// GET /api/v1/scale/events is a Server-Sent Events stream: "reading"
// (a scale reading, only when it changed, at most every
// Options.ReadingInterval), "flow" (the flow state after each change) and
// "job" (the queue's job.queued and job.state outbox events), with a
// comment every Options.Heartbeat. Job events are read from the outbox
// without a consumer, so an open stream never holds events back.
package api
