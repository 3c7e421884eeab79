package station

import (
	"bytes"
	"context"
	"errors"
	"testing"
	"time"

	"github.com/packbench/packbench/labelrender"
	"github.com/packbench/packbench/queue"
)

// TestEnqueueLabel: a label pushed from outside the flow is one job per
// key, its ZPL and preview are found by job id (the spec drawn, the image
// as given, raw ZPL without a preview), it survives a reopen, and
// Housekeep trims it like the flow's labels.
func TestEnqueueLabel(t *testing.T) {
	clk := newClock()
	dir := t.TempDir()
	db := openDB(t, dir, clk)
	st := newStation(t, db, clk, Config{})
	ctx := context.Background()
	l := labelrender.Label{
		From:    labelrender.Address{Name: "Shipping", Street1: "1 Bench St", City: "Springfield", State: "IL", Zip: "62701", Country: "US"},
		To:      labelrender.Address{Name: "Tony Douglas", Street1: "157 W 57th St", City: "New York", State: "NY", Zip: "10019", Country: "US"},
		Carrier: "LOCAL", Service: "GROUND", TrackingNumber: "PB0000000421", Barcode: labelrender.Code128,
	}
	opts := labelrender.Options{DPI: 203, WidthDots: 812, HeightDots: 1218, Date: clk.Now()}
	zpl, err := labelrender.RenderZPL(l, &opts)
	if err != nil {
		t.Fatal(err)
	}
	nj := queue.NewJob{Key: "mqtt:spec-1", Source: queue.SourceMQTT, Printer: testPrinter}
	spec, created, err := st.EnqueueLabel(ctx, nj, JobLabel{ZPL: zpl, Label: &l, Opts: opts})
	if err != nil || !created || spec.ContentType != queue.ContentZPL || !bytes.Equal(spec.Payload, zpl) {
		t.Fatalf("EnqueueLabel = %+v, %v, %v", spec, created, err)
	}
	again, created, err := st.EnqueueLabel(ctx, nj, JobLabel{ZPL: []byte("^XA^XZ")})
	if err != nil || created || again.ID != spec.ID {
		t.Fatalf("same key again = %v %v %v, want job %s not created", again.ID, created, err, spec.ID)
	}
	img := []byte("\x89PNG\r\n\x1a\nnot-decoded-here")
	pj, _, err := st.EnqueueLabel(ctx, queue.NewJob{Key: "mqtt:png-1", Source: queue.SourceMQTT, Printer: testPrinter}, JobLabel{ZPL: []byte("^XA^FDpng^FS^XZ"), PNG: img})
	if err != nil {
		t.Fatal(err)
	}
	rj, _, err := st.EnqueueLabel(ctx, queue.NewJob{Key: "mqtt:raw-1", Source: queue.SourceMQTT, Printer: testPrinter}, JobLabel{ZPL: []byte("^XA^FDraw^FS^XZ")})
	if err != nil {
		t.Fatal(err)
	}
	if _, _, err := st.EnqueueLabel(ctx, queue.NewJob{Key: "", Printer: testPrinter}, JobLabel{ZPL: zpl}); !errors.Is(err, queue.ErrInvalid) {
		t.Fatalf("no key: %v, want queue.ErrInvalid", err)
	}

	// Reopen: everything is on disk.
	db.Close()
	db = openDB(t, dir, clk)
	st = newStation(t, db, clk, Config{})
	if b, err := st.LabelZPL(ctx, spec.ID.String()); err != nil || !bytes.Equal(b, zpl) {
		t.Fatalf("LabelZPL(%s) = %.20q, %v", spec.ID, b, err)
	}
	png, err := st.LabelPNG(ctx, spec.ID.String())
	if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG")) || len(png) < 1000 {
		t.Fatalf("spec preview: %d bytes, %v", len(png), err)
	}
	if b, err := st.LabelPNG(ctx, pj.ID.String()); err != nil || !bytes.Equal(b, img) {
		t.Fatalf("image preview = %q, %v; want the pushed image", b, err)
	}
	if _, err := st.LabelPNG(ctx, rj.ID.String()); !errors.Is(err, ErrNoPreview) {
		t.Fatalf("raw ZPL preview: %v, want ErrNoPreview", err)
	}
	if _, err := st.LabelPNG(ctx, "j99999"); !errors.Is(err, ErrNotFound) {
		t.Fatalf("unknown job: %v, want ErrNotFound", err)
	}

	clk.Advance(DefaultLabelRetention + time.Hour)
	if n, err := st.Housekeep(ctx, 0); err != nil || n != 3 {
		t.Fatalf("Housekeep = %d, %v; want 3", n, err)
	}
	if _, err := st.LabelZPL(ctx, spec.ID.String()); !errors.Is(err, ErrNotFound) {
		t.Fatalf("after housekeeping: %v, want ErrNotFound", err)
	}
}
