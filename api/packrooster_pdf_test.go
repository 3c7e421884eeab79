package api_test

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/packbench/packbench/pdfrender/pdftest"
	"github.com/packbench/packbench/station"
)

// pdfCarrier answers every label with a 2-page PDF, as label services do.
type pdfCarrier struct{ pdf []byte }

func (c pdfCarrier) Label(_ context.Context, req station.LabelRequest) (station.LabelResult, error) {
	return station.LabelResult{TrackingNumber: "P" + strings.ReplaceAll(req.Reference, "-", ""), Carrier: "PC", PDF: c.pdf}, nil
}

// A carrier's PDF label: .pdf is the carrier's PDF, the plain URL the
// first page's PNG, .zpl the printed labels (one per page).
func TestPackroosterLabelURLOfACarrierPDF(t *testing.T) {
	pdf := pdftest.PDF(pdftest.Label("1Z0000000000000001"), pdftest.Label("1Z0000000000000002"))
	b := newBench(t, &benchOptions{carrier: pdfCarrier{pdf}, stationConfig: station.Config{Packrooster: station.PackroosterConfig{DefaultWeight: "1kg"}}})
	b.ok("POST", "/api/v1/orders", validOrder("SO500"), nil)
	a := decodePR(t, b.do("POST", "/api/label", `{"order_id":"SO500"}`))
	if a.Carrier != "PC" || a.ShippingLabelURL == "" {
		t.Fatalf("answer %+v", a)
	}
	status, ctype, body := fetch(t, b.localURL(a.ShippingLabelURL)+".pdf")
	if status != 200 || ctype != "application/pdf" || !bytes.Equal(body, pdf) {
		t.Fatalf(".pdf: %d %s, %d bytes (want the carrier's %d)", status, ctype, len(body), len(pdf))
	}
	if status, ctype, body := fetch(t, b.localURL(a.ShippingLabelURL)); status != 200 || ctype != "image/png" || !bytes.HasPrefix(body, []byte("\x89PNG")) {
		t.Fatalf("plain URL: %d %s", status, ctype)
	}
	if status, _, body := fetch(t, b.localURL(a.ShippingLabelURL)+".zpl"); status != 200 || bytes.Count(body, []byte(":Z64:")) != 2 {
		t.Fatalf(".zpl: %d, %d Z64 graphics (want 2)", status, bytes.Count(body, []byte(":Z64:")))
	}
}
