package station

import (
	"bytes"
	"context"
	"strings"
	"testing"

	"github.com/packbench/packbench/labelrender"
)

// LabelOptions and RenderLabel are the bench's one label-options builder
// and its one raster-or-native choice; Ship's labels are exactly theirs.
func TestRenderLabelFollowsTheConfig(t *testing.T) {
	for _, tc := range []struct {
		label LabelConfig
		w, h  int
		z64   bool
	}{
		{LabelConfig{}, 812, 1218, false},
		{LabelConfig{Format: FormatRaster, DPI: 300, Size: "4x4"}, 1200, 1200, true},
	} {
		clk := newClock()
		db := openDB(t, t.TempDir(), clk)
		st := newStation(t, db, clk, Config{Label: tc.label})
		opts := st.LabelOptions(clk.Now())
		if opts.WidthDots != tc.w || opts.HeightDots != tc.h || !opts.Date.Equal(clk.Now()) {
			t.Errorf("%+v: options %+v, want %dx%d dots dated %v", tc.label, opts, tc.w, tc.h, clk.Now())
		}
		o := mustCreate(t, st, Order{})
		p, err := st.Ship(context.Background(), ShipRequest{OrderID: o.ID, Weight: Weight{Milligrams: 700_000}})
		if err != nil {
			t.Fatal(err)
		}
		got, err := st.LabelZPL(context.Background(), p.Reference)
		if err != nil {
			t.Fatal(err)
		}
		if z := strings.Contains(string(got), ":Z64:"); z != tc.z64 {
			t.Errorf("%+v: Z64 raster %v, want %v", tc.label, z, tc.z64)
		}
		l, err := st.layout(o, st.shipFrom(o), p, LabelResult{TrackingNumber: p.TrackingNumber, Barcode: labelrender.GS1128, BarcodeData: "(00)" + p.TrackingNumber})
		if err != nil {
			t.Fatal(err)
		}
		want, err := st.RenderLabel(l, opts)
		if err != nil || !bytes.Equal(got, want) {
			t.Errorf("%+v: Ship's label differs from RenderLabel's (%d vs %d bytes), %v", tc.label, len(got), len(want), err)
		}
	}
}
