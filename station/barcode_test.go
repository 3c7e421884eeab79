package station

import (
	"bytes"
	"context"
	"image/png"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/oned"
)

// The printed barcode is the package's tracking number: decoded from the
// label's raster with gozxing, for both local schemes.
func TestLabelBarcodeIsTheTrackingNumber(t *testing.T) {
	tests := []struct {
		name    string
		carrier CarrierConfig
		want    func(tracking string) string
	}{
		// A scanner reports GS1-128 as "]C1" + AI 00 + the 18 digits.
		{"sscc", CarrierConfig{GS1Prefix: "0614141", Extension: 1}, func(tr string) string { return "]C100" + tr }},
		{"sequence", CarrierConfig{Scheme: SchemeSequence, Prefix: "PB"}, func(tr string) string { return tr }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			clk := newClock()
			db := openDB(t, t.TempDir(), clk)
			st := newStation(t, db, clk, Config{Carrier: tt.carrier, Label: LabelConfig{Format: FormatRaster}})
			o := mustCreate(t, st, Order{})
			p, err := st.Ship(context.Background(), ShipRequest{OrderID: o.ID, Weight: Weight{Milligrams: 1_500_000, Display: "1.5 kg", Unit: "kg"}})
			if err != nil {
				t.Fatal(err)
			}
			data, err := st.LabelPNG(context.Background(), p.LabelID)
			if err != nil {
				t.Fatal(err)
			}
			img, err := png.Decode(bytes.NewReader(data))
			if err != nil {
				t.Fatal(err)
			}
			bmp, err := gozxing.NewBinaryBitmapFromImage(img)
			if err != nil {
				t.Fatal(err)
			}
			res, err := oned.NewCode128Reader().Decode(bmp, map[gozxing.DecodeHintType]any{
				gozxing.DecodeHintType_TRY_HARDER: true, gozxing.DecodeHintType_ASSUME_GS1: tt.name == "sscc"})
			if err != nil {
				t.Fatalf("no barcode found: %v", err)
			}
			if got, want := res.GetText(), tt.want(p.TrackingNumber); got != want {
				t.Errorf("barcode %q, want %q", got, want)
			}
			// The raster job carries the same label as a Z64 graphic.
			zpl, _ := st.LabelZPL(context.Background(), p.LabelID)
			if !z64RE.Match(zpl) {
				t.Errorf("raster format did not give a ^GF Z64 label")
			}
		})
	}
}
