package station

import (
	"errors"
	"fmt"
)

// Errors callers test with errors.Is. Every error the station returns wraps
// one of them (or a queue/labelrender error passed through with %w).
var (
	// ErrInvalid: the input breaks a rule; the error is a *FieldError
	// naming the field path ("ship_to.zip: required").
	ErrInvalid = errors.New("invalid")
	// ErrNotFound: no order, package or label with that id.
	ErrNotFound = errors.New("not found")
	// ErrNoOrder: a scanned code matches no order ("no order for this barcode").
	ErrNoOrder = errors.New("no order for this barcode")
	// ErrNotArmed: the flow has no order armed. No method returns it yet:
	// a parcel placed with nothing armed is reported in FlowState.Problem
	// (code not_armed), since Feed has no caller to return an error to.
	ErrNotArmed = errors.New("no order armed")
	// ErrBusy: the flow is labelling a parcel; try again when it is printing.
	ErrBusy = errors.New("the bench is busy labelling a parcel")
	// ErrConflict: an id or identifier is taken, or the order/package is in
	// a state that does not allow the change (cancelled, fully shipped, voided).
	ErrConflict = errors.New("conflict")
	// ErrCarrier: the carrier refused or could not be reached; the error is
	// a *CarrierError carrying the upstream's own message.
	ErrCarrier = errors.New("carrier error")
	// ErrNoPreview: the label exists but has no PNG preview (raw ZPL from
	// a carrier is printed as sent and not rasterised).
	ErrNoPreview = errors.New("no PNG preview for this label")
	// ErrConfig: the configuration breaks a rule; the message names the key.
	ErrConfig = errors.New("invalid station config")
)

// FieldError is an input error naming the field by its JSON path
// ("ship_to.zip", "associated_identifiers[1]") and the rule it broke.
type FieldError struct {
	Field string
	Rule  string
}

func (e *FieldError) Error() string { return e.Field + ": " + e.Rule }

// Is makes errors.Is(err, ErrInvalid) true.
func (e *FieldError) Is(target error) bool { return target == ErrInvalid }

func fieldErr(field, format string, args ...any) error {
	return &FieldError{Field: field, Rule: fmt.Sprintf(format, args...)}
}

// OrderExistsError: CreateOrder found an order with that id already.
// Differs names the first field the caller gave (its JSON name, such as
// "ship_to") whose stored value differs from the new order's; it is empty
// when the two are the same order, as when a create is repeated.
type OrderExistsError struct {
	ID      string
	Differs string
}

func (e *OrderExistsError) Error() string {
	if e.Differs == "" {
		return fmt.Sprintf("conflict: order %q already exists", e.ID)
	}
	return fmt.Sprintf("conflict: order %q already exists with a different %s", e.ID, e.Differs)
}

// Is makes errors.Is(err, ErrConflict) true.
func (e *OrderExistsError) Is(target error) bool { return target == ErrConflict }

// CarrierError is a carrier's refusal or failure. Message is the
// upstream's own words (for a 4xx) or what went wrong reaching it; it is
// shown to the packer and returned by the API as is.
type CarrierError struct {
	Carrier   string // "local", "http"
	Status    int    // upstream HTTP status; 0 if none was received
	Message   string
	Temporary bool // timeouts and 5xx: retried before this error was returned
	Attempts  int
}

func (e *CarrierError) Error() string {
	s := "carrier " + e.Carrier
	if e.Status != 0 {
		s += fmt.Sprintf(" (HTTP %d)", e.Status)
	}
	if e.Attempts > 1 {
		s += fmt.Sprintf(" after %d attempts", e.Attempts)
	}
	return s + ": " + e.Message
}

// Is makes errors.Is(err, ErrCarrier) true.
func (e *CarrierError) Is(target error) bool { return target == ErrCarrier }
