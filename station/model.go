package station

import (
	"encoding/json"
	"time"

	"github.com/packbench/packbench/queue"
)

// Address uses the field names of the Fulfil /label payload. Name, Street1,
// City, Zip and Country (ISO 3166 alpha-2) are required.
type Address struct {
	Name    string `toml:"name" json:"name"`
	Company string `toml:"company" json:"company,omitempty"`
	Street1 string `toml:"street1" json:"street1"`
	Street2 string `toml:"street2" json:"street2,omitempty"`
	City    string `toml:"city" json:"city"`
	State   string `toml:"state" json:"state,omitempty"`
	Zip     string `toml:"zip" json:"zip"`
	Country string `toml:"country" json:"country"`
	Phone   string `toml:"phone" json:"phone,omitempty"`
	Email   string `toml:"email" json:"email,omitempty"`
}

// OrderStatus is where an order is in its life.
type OrderStatus string

// Order statuses.
const (
	OrderOpen      OrderStatus = "open"      // waiting for its parcels
	OrderPartial   OrderStatus = "partial"   // some of its packages are labelled
	OrderShipped   OrderStatus = "shipped"   // every expected package is labelled
	OrderCancelled OrderStatus = "cancelled" // will not ship
)

// Order is what the bench ships: who to, how, and the codes that find it.
// The fields follow the Shipium Pack App order (orderId, partnerOrderId,
// associatedIdentifiers, destinationAddress) with Fulfil address names.
type Order struct {
	// ID is the order id; empty on create means the station assigns one ("SO000001").
	ID string `json:"id"`
	// PartnerOrderID is the integrator's own id (Shipium partnerOrderId).
	PartnerOrderID string `json:"partner_order_id,omitempty"`
	// AssociatedIdentifiers are codes that find the order when scanned,
	// such as LPN barcodes ("lpn-barcode:12345").
	AssociatedIdentifiers []string `json:"associated_identifiers,omitempty"`
	ShipTo                Address  `json:"ship_to"`
	// ShipFrom overrides the bench's return address.
	ShipFrom *Address `json:"ship_from,omitempty"`
	// Service overrides the configured carrier service code.
	Service string `json:"service,omitempty"`
	// Packages is the number of parcels expected (default 1).
	Packages int    `json:"packages"`
	Lines    []Line `json:"lines,omitempty"`
	// Weight is the parcel's weight when the order knows it (a shop's
	// line weights); labels asked for without the scale use it.
	Weight *Weight `json:"weight,omitempty"`
	// Source says where the order came from ("api", "shipium", "shopify").
	Source string `json:"source,omitempty"`
	// Seed keeps the original request of a seed API verbatim (e.g. the
	// whole Shipium order), so its own fields round-trip.
	Seed json.RawMessage `json:"seed,omitempty"`

	// Set by the station.
	Status   OrderStatus `json:"status"`
	Labelled int         `json:"labelled"` // packages labelled (not voided)
	// LastIndex is the highest package index given out; Pending is the
	// index of a package asked of the carrier but not labelled yet (0: none).
	LastIndex int       `json:"last_index"`
	Pending   int       `json:"pending,omitempty"`
	Seq       uint64    `json:"seq"` // creation order
	CreatedAt time.Time `json:"created_at"`
	UpdatedAt time.Time `json:"updated_at"`
}

// Line is one order line.
type Line struct {
	SKU         string `json:"sku,omitempty"`
	Description string `json:"description,omitempty"`
	Quantity    int    `json:"quantity"`
	// Ref is the integrator's line reference (Shipium orderItemReferenceIdentifier).
	Ref string `json:"ref,omitempty"`
}

// Weight is a parcel weight: exact integer milligrams plus the reading as
// the scale displayed it.
type Weight struct {
	Milligrams int64  `json:"milligrams"`
	Display    string `json:"display,omitempty"` // "7.8 oz"
	Unit       string `json:"unit,omitempty"`    // "oz"
}

// Dimensions of a parcel; decimals as text ("10.5"), unit "in" or "cm".
type Dimensions struct {
	Length string `json:"length"`
	Width  string `json:"width"`
	Height string `json:"height"`
	Unit   string `json:"unit"`
}

// PackageStatus is where a package is in its life.
type PackageStatus string

// Package statuses. The print job's own state is in Package.JobState.
const (
	PackageRequested PackageStatus = "requested" // the carrier was asked; no answer kept yet
	PackageLabelled  PackageStatus = "labelled"  // tracking number and label stored, job queued
	PackageVoided    PackageStatus = "voided"
)

// Package is one parcel of an order's shipment.
type Package struct {
	// Reference is the package reference, the order id and the package
	// index ("SO000001-1"): the carrier's idempotency key and the print
	// job's key.
	Reference string `json:"reference"`
	OrderID   string `json:"order_id"`
	// ClientReference is the caller's reference for the package
	// (ShipRequest.Reference), if it gave one.
	ClientReference string        `json:"client_reference,omitempty"`
	Index           int           `json:"index"` // 1-based
	Count           int           `json:"count"` // packages expected when labelled
	Status          PackageStatus `json:"status"`

	Weight     Weight      `json:"weight"`
	Dimensions *Dimensions `json:"dimensions,omitempty"`

	Carrier        string `json:"carrier"`
	Service        string `json:"service"`
	TrackingNumber string `json:"tracking_number,omitempty"`
	TrackingURL    string `json:"tracking_url,omitempty"`
	Amount         string `json:"amount,omitempty"` // decimal text, "4.50"
	Currency       string `json:"currency,omitempty"`

	// LabelID names the stored label (GET /labels/{id}.zpl|.png); it is
	// the package reference.
	LabelID    string `json:"label_id,omitempty"`
	LabelForm  string `json:"label_form,omitempty"` // native, raster, carrier-png, carrier-zpl
	HasPreview bool   `json:"has_preview"`
	// LabelDeleted: Housekeep removed the label artefacts (past retention).
	LabelDeleted bool `json:"label_deleted,omitempty"`
	// LabelledAt is when the label was committed: the label retention's
	// index key, so deleting the order finds it.
	LabelledAt time.Time `json:"labelled_at,omitzero"`

	Printer  string      `json:"printer,omitempty"`
	JobID    queue.JobID `json:"job_id,omitzero"`
	JobState queue.State `json:"job_state,omitempty"` // last known state of JobID
	Reprints []Reprint   `json:"reprints,omitempty"`
	// Tracking is where the parcel is after the label: its status and
	// history (station/tracking.go); set when the label is committed.
	Tracking *Tracking `json:"tracking,omitempty"`

	Error      string    `json:"error,omitempty"` // the last carrier error while requested
	VoidReason string    `json:"void_reason,omitempty"`
	CreatedAt  time.Time `json:"created_at"`
	UpdatedAt  time.Time `json:"updated_at"`
}

// Reprint is one extra print of a package's label (same tracking number).
type Reprint struct {
	N        int         `json:"n"`
	JobID    queue.JobID `json:"job_id"`
	Key      string      `json:"key"` // reference + "-reprint-N"
	JobState queue.State `json:"job_state,omitempty"`
	At       time.Time   `json:"at"`
}

// Shipment is an order's parcels.
type Shipment struct {
	OrderID  string    `json:"order_id"`
	Order    Order     `json:"order"`
	Packages []Package `json:"packages"`
}

// ListOptions pages through orders or shipments in creation order. After
// is the Next of the previous page.
type ListOptions struct {
	// Status filters orders (empty: all).
	Status OrderStatus
	// Identifier returns only the orders this code finds: the order with
	// that id, or every order with that partner order id or associated
	// identifier (identifiers may be shared), oldest first.
	Identifier string
	After      string
	Limit      int // 0 means 50; at most 500
}

// OrderPage is one page of orders.
type OrderPage struct {
	Orders []Order `json:"orders"`
	Next   string  `json:"next,omitempty"` // empty on the last page
	Total  int     `json:"total"`          // orders matching, all pages
}

// ShipmentPage is one page of shipments.
type ShipmentPage struct {
	Shipments []Shipment `json:"shipments"`
	Next      string     `json:"next,omitempty"`
	Total     int        `json:"total"`
}

// ShipRequest labels one package of an order without the scale (the API's
// POST /shipments; the flow uses it too).
type ShipRequest struct {
	OrderID    string      `json:"order_id"`
	Weight     Weight      `json:"weight"`
	Dimensions *Dimensions `json:"dimensions,omitempty"`
	// Printer overrides the flow printer.
	Printer string `json:"printer,omitempty"`
	// Reference is the caller's own reference for this package (1 to 128
	// characters, unique on the bench). A retry with the same reference and
	// the same content returns the package made for it, with no new label
	// and no new tracking number; the same reference with other content is
	// a conflict. Empty: every Ship labels the order's next package.
	Reference string `json:"reference,omitempty"`
	// noPrint issues the label without a print job (Fulfil /label with
	// [fulfil] no_print): the package keeps no printer.
	noPrint bool
	// create, when set, is a new order (prepared) that ship stores in the
	// commit that reserves its first package (Fulfil /label: one commit
	// less per label); OrderID is then the order's once created.
	create *newOrder
	// onCommit, when set, writes more in the transaction that commits the
	// label (the flow's last label for the page), so the printer worker's
	// claim does not wait behind a commit of its own.
	onCommit func(tx *queue.Tx, p Package) error
}

// newOrder is an order ship creates (ShipRequest.create).
type newOrder struct {
	order  Order
	assign func(tx *queue.Tx) (string, error) // numbers it; see createOrder
}

// Flow states (DESIGN.md "The hands-free flow").
const (
	FlowIdle      = "idle"      // nothing armed: scan an order
	FlowArmed     = "armed"     // an order waits for a parcel on the scale
	FlowLabelling = "labelling" // asking the carrier and rendering
	FlowPrinting  = "printing"  // the job is queued or being sent
	FlowPrinted   = "printed"   // the printer confirmed (or the job finished otherwise): lift the parcel
)

// Problem codes in FlowState.Problem.
const (
	ProblemNoOrder   = "no_order"        // a scan matched no order
	ProblemNotArmed  = "not_armed"       // a parcel was placed with no order armed
	ProblemCarrier   = "carrier_error"   // the carrier refused or was unreachable
	ProblemPrinter   = "printer_problem" // the job failed or is uncertain
	ProblemLabel     = "label_error"     // the label could not be rendered
	ProblemOrder     = "order_problem"   // the order cannot ship (cancelled, all packages done)
	ProblemInternal  = "internal"        // storage failed; see the log
	ProblemBadWeight = "bad_weight"      // the reading had no usable weight
	// ProblemAlreadyLabelled: the scanned order has every package labelled;
	// Offer is OfferReprint with the last package's job.
	ProblemAlreadyLabelled = "already_labelled"
	// ProblemTooLight: a weight settled below the filter's minimum.
	ProblemTooLight = "too_light"
	// ProblemUncertain: a flow job was being sent when the bench stopped;
	// Offer is OfferConfirmPrinted with that job.
	ProblemUncertain = "uncertain"
)

// Offers: the button a Problem asks the page to show, acting on JobID.
const (
	// OfferReprint: print the label of JobID again (POST /jobs/{id}/reprint).
	OfferReprint = "reprint"
	// OfferConfirmPrinted: "Printed? Yes / Print again": Yes marks JobID
	// printed (POST /jobs/{id}/mark-printed), Print again retries it
	// (POST /jobs/{id}/retry).
	OfferConfirmPrinted = "confirm_printed"
)

// FlowState is the flow as the packer's page shows it (also the SSE stream).
type FlowState struct {
	State string `json:"state"` // idle, armed, labelling, printing, printed
	// Order is the armed (or last handled) order.
	Order *OrderSummary `json:"order,omitempty"`
	// Note tells the packer how a scan was resolved, when it needed a
	// choice: an identifier shared by several open orders arms the oldest
	// one with packages to label, and the note says so.
	Note string `json:"note,omitempty"`
	// Package is the package being labelled/printed (or next to label when
	// armed), 1-based, of Count.
	Package int `json:"package,omitempty"`
	Count   int `json:"count,omitempty"`
	// AwaitRemoval: a label was made for the parcel on the scale; the next
	// parcel is taken only after the scale returned to zero.
	AwaitRemoval bool `json:"await_removal"`
	// Last label made by the flow.
	LabelID        string      `json:"label_id,omitempty"`
	TrackingNumber string      `json:"tracking_number,omitempty"`
	JobID          queue.JobID `json:"job_id,omitzero"`
	JobState       queue.State `json:"job_state,omitempty"`
	Weight         string      `json:"weight,omitempty"` // display of the last placed weight
	// LabelWeight is the weight the last label (LabelID) was made with;
	// Weight moves on with the next placement, labelled or not.
	LabelWeight string `json:"label_weight,omitempty"`
	// Problem is the last thing that went wrong, in plain words; cleared by
	// the next successful step.
	Problem *Problem `json:"problem,omitempty"`
	// Attention are the codes a person must see to, most urgent first: the
	// printers' (paper_out, printer_offline, printer_error), then the
	// problem's. The status LED blinks the first one's code.
	Attention []string `json:"attention,omitempty"`
	// LED is the status LED's mode (ready, armed, working, attention) and
	// Blinks the flashes of attention (docs/headless.md).
	LED    string `json:"led"`
	Blinks int    `json:"blinks,omitempty"`
	// Signal is the last sound: a beep for a good scan or command, an error
	// pattern for a problem (see BuzzerPattern).
	Signal  *Signal   `json:"signal,omitempty"`
	Seq     uint64    `json:"seq"` // grows with every change
	Updated time.Time `json:"updated"`
}

// OrderSummary is the part of an order the packer's page shows.
type OrderSummary struct {
	ID             string `json:"id"`
	PartnerOrderID string `json:"partner_order_id,omitempty"`
	Name           string `json:"name"`
	City           string `json:"city"`
	Country        string `json:"country"`
	Packages       int    `json:"packages"`
	Labelled       int    `json:"labelled"`
}

// Problem is a flow problem: a stable code, a sentence for the packer and
// the next action. A *Problem is also the error the station returns for a
// refusal a person must read (Scan of a labelled order): callers render
// Message and Action, found with errors.As, never parse the error chain.
type Problem struct {
	Code    string `json:"code"`
	Message string `json:"message"`
	// Action is the next step in the packer's words ("Press Reprint for
	// another copy, or scan the next order.").
	Action string `json:"action,omitempty"`
	// Offer names the button for the next step (OfferReprint,
	// OfferConfirmPrinted), acting on JobID; LabelID is that job's label.
	Offer   string      `json:"offer,omitempty"`
	JobID   queue.JobID `json:"job_id,omitzero"`
	LabelID string      `json:"label_id,omitempty"`
	At      time.Time   `json:"at"`

	err error // the sentinel errors.Is finds (ErrConflict)
}

// Error is the message for people, without any operation prefix.
func (p *Problem) Error() string { return p.Message }

// Unwrap lets errors.Is find the sentinel (ErrConflict for a refusal).
func (p *Problem) Unwrap() error { return p.err }
