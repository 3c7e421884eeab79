package station

import (
	"bytes"
	"context"
	"encoding/base64"
	"errors"
	"strings"
	"testing"

	"github.com/packbench/packbench/labelrender"
	"github.com/packbench/packbench/pdfrender/pdftest"
)

// TestHTTPCarrierPDFLabel: an upstream answering a PDF (asked for a PNG)
// prints: a 2-page PDF is one job holding two Z64 labels of the
// configured size, its first page is the preview, and the label URL's
// .pdf is the carrier's PDF.
func TestHTTPCarrierPDFLabel(t *testing.T) {
	pdf := pdftest.PDF(pdftest.Label("1Z999AA10123456784"), pdftest.Label("1Z999AA10123456785"))
	_, url := startFulfil(t, okAnswer(base64.StdEncoding.EncodeToString(pdf)))
	st, db := httpStation(t, url, HTTPCarrierConfig{}, newClock())
	ctx := context.Background()
	o := mustCreate(t, st, Order{ID: "SO321"})
	p, err := st.Ship(ctx, ShipRequest{OrderID: o.ID, Weight: Weight{Milligrams: 1_000_000, Display: "1000 g", Unit: "g"}})
	if err != nil {
		t.Fatal(err)
	}
	if p.LabelForm != "carrier-pdf" || !p.HasPreview || p.TrackingNumber != "1Z999AA10123456784" {
		t.Errorf("package form %s preview %v tracking %s", p.LabelForm, p.HasPreview, p.TrackingNumber)
	}
	j, err := db.Job(ctx, p.JobID)
	if err != nil {
		t.Fatal(err)
	}
	ms := z64RE.FindAllSubmatch(j.Payload, -1)
	if len(ms) != 2 || bytes.Count(j.Payload, []byte("^XA")) != 2 {
		t.Fatalf("job holds %d ^GF graphics in %d formats, want 2 labels", len(ms), bytes.Count(j.Payload, []byte("^XA")))
	}
	for _, m := range ms {
		if string(m[1]) != "124236" || string(m[3]) != "102" { // 102 bytes x 1218 rows
			t.Errorf("graphic %s bytes, %s per row: want an 812x1218 label", m[1], m[3])
		}
	}
	if err := labelrender.CheckZPL(j.Payload, nil); err != nil {
		t.Errorf("the PDF's labels do not pass CheckZPL: %v", err)
	}
	prev, err := st.LabelPNG(ctx, p.LabelID)
	if err != nil || !bytes.HasPrefix(prev, []byte("\x89PNG")) {
		t.Errorf("preview: %d bytes, %v", len(prev), err)
	}
	tok, err := st.LabelURLToken(ctx, p.Reference)
	if err != nil {
		t.Fatal(err)
	}
	got, err := st.LabelByToken(ctx, tok, "pdf")
	if err != nil || !bytes.Equal(got, pdf) {
		t.Fatalf("label URL .pdf: %d bytes, %v; want the carrier's PDF", len(got), err)
	}
}

// TestHTTPCarrierBadPDF: a corrupt PDF is the carrier's error, nothing is
// queued.
func TestHTTPCarrierBadPDF(t *testing.T) {
	good := pdftest.PDF(pdftest.Label("1Z999AA10123456784"))
	_, url := startFulfil(t, okAnswer(base64.StdEncoding.EncodeToString(good[:len(good)/2])))
	st, db := httpStation(t, url, HTTPCarrierConfig{}, newClock())
	o := mustCreate(t, st, Order{})
	_, err := st.Ship(context.Background(), ShipRequest{OrderID: o.ID, Weight: Weight{Milligrams: 1000}})
	var ce *CarrierError
	if !errors.As(err, &ce) || !strings.Contains(ce.Message, "PDF label cannot be printed") {
		t.Fatalf("err = %v, want a CarrierError about the PDF", err)
	}
	if js := jobs(t, db); len(js) != 0 {
		t.Errorf("%d jobs for a refused label", len(js))
	}
}
