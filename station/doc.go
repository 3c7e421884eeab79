// Package station is the bench's business: orders, shipments, carriers,
// tracking, and the hands-free scan → weigh → print flow. It is the only
// package that knows the whole bench.
//
// Everything it keeps lives in the queue's bbolt file, written in queue
// transactions together with an outbox event: orders (kind "orders") with
// an index of the codes that find them (partner order id, associated
// identifiers such as LPN barcodes), packages, and the label artefacts
// served by GET /labels/{id}.zpl|.png.
//
// Labelling one package (Ship, or a stable weight while an order is armed):
//
//  1. the package's reference ("SO000001-1") is the order's pending
//     package or its next index: a failure records it as "requested", so
//     a retry resumes with the same reference, and a crash before step 4
//     leaves the order as it was, so the next attempt asks the same one.
//     For an existing order it is recorded in step 4's commit (one commit
//     per label); a new order, or a caller's own reference, is recorded
//     in a commit of its own before the carrier is asked;
//  2. the carrier gives the tracking number, the cost and maybe a finished
//     label. "local" numbers parcels offline (SSCC-18 or prefix + durable
//     sequence + check digit) and prices them from a rate table; "http"
//     POSTs the Fulfil /label payload and retries timeouts and 5xx with the
//     same reference (the upstream is idempotent per reference);
//  3. the label is rendered printer-ready (labelrender: native ZPL, a ^GF
//     raster, a carrier PNG as a Z64 graphic, or a carrier's ZPL checked);
//  4. ONE print job keyed by the package reference is committed with the
//     package, the label and a package.labelled event (and what
//     ShipRequest.onCommit adds: the flow's last label for the page), so a
//     retried call never queues a second label.
//
// A caller that gives its own package reference (ShipRequest.Reference)
// can retry Ship safely: the same reference and content return the package
// made for it, other content is ErrConflict (kind "ship-refs").
//
// Jobs name only printers the bench has (KnownPrinter, the rule the MQTT
// intake shares). Queued jobs for a printer the config no longer has are
// reported (Unprintable; a warning at New) and left queued: they print
// once the printer is configured again.
// FulfilLabel serves Fulfil's /label (seed 002) with the same steps: each
// package reference of the request becomes a bench order of one package
// ("FL000001"), found again by the reference in its own records, so a
// retry answers the stored label. The Fulfil types (fulfil.go) are also
// what the http carrier sends upstream.
//
// The flow (DESIGN.md "The hands-free flow"): Scan or Arm arms an order;
// Feed takes the stable-weight filter's decisions: Placed labels the next
// package, Removed re-arms (the same order for "2 of 3", else the next
// open order with auto_arm_next, else idle). Run follows the jobs through
// the outbox so the state moves from printing to printed, or shows a
// printer problem. State and Subscribe show it to the packer's page.
package station
