package station

import (
	"context"

	"github.com/packbench/packbench/labelrender"
)

// Carrier gives a package its tracking number, its cost and optionally a
// finished label. Implementations must be idempotent per
// LabelRequest.Reference: the station asks again with the same reference
// after a crash or a retry and must get the same parcel, not a second one.
type Carrier interface {
	Label(ctx context.Context, req LabelRequest) (LabelResult, error)
}

// LabelRequest is one package to label.
type LabelRequest struct {
	Reference  string // package reference, the idempotency key ("SO000001-1")
	OrderID    string
	Index      int // 1-based
	Count      int
	From, To   Address
	Service    string
	Weight     Weight
	Dimensions *Dimensions
	Lines      []Line
}

// LabelResult is the carrier's answer. A carrier that returns neither PNG
// nor ZPL lets the station lay the label out itself (labelrender), with
// the tracking number as a Barcode barcode.
type LabelResult struct {
	TrackingNumber string
	// Barcode and BarcodeData say how the station prints the number:
	// BarcodeData is the barcode content ("(00)106141411234567897" for
	// GS1-128); empty means TrackingNumber as Code 128.
	Barcode     labelrender.BarcodeType
	BarcodeData string
	TrackingURL string
	Amount      string // decimal text, "4.50"; empty if unknown
	Currency    string
	Carrier     string // carrier name for the label and the package
	PNG         []byte // a finished label image from the carrier
	PDF         []byte // a finished PDF label from the carrier, one label per page
	ZPL         []byte // a finished ZPL label from the carrier (checked before printing)
}

// finished tells whether the carrier answered with a label of its own
// (ZPL, PNG or PDF) rather than leaving the layout to the station.
func (r LabelResult) finished() bool { return len(r.ZPL) > 0 || len(r.PNG) > 0 || len(r.PDF) > 0 }
