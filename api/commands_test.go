package api_test

import (
	"bytes"
	"context"
	"image/png"
	"strings"
	"testing"

	"github.com/makiuchi-d/gozxing"
	"github.com/makiuchi-d/gozxing/oned"

	"github.com/packbench/packbench/api"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/station"
)

// The command barcodes: listed as configured, each served as a Code 128
// PNG that scans back to its code, and printable as a ZPL sheet.
func TestCommandBarcodes(t *testing.T) {
	b := newBench(t, &benchOptions{stationConfig: station.Config{Commands: station.CommandConfig{Tare: station.CommandOff, Zero: "ZERO-7"}}})
	var list struct {
		Commands []station.Command `json:"commands"`
	}
	b.ok("GET", "/api/v1/commands", nil, &list)
	var got []string
	for _, c := range list.Commands {
		got = append(got, c.Name+"="+c.Code)
	}
	if strings.Join(got, ",") != "reprint=PB-CMD-REPRINT,cancel=PB-CMD-CANCEL,zero=ZERO-7,test_print=PB-CMD-TEST-PRINT" {
		t.Fatalf("commands %v", got)
	}
	for _, c := range list.Commands {
		a := b.do("GET", "/api/v1/commands/"+c.Name+"/barcode", nil)
		if a.status != 200 || a.header.Get("Content-Type") != "image/png" {
			t.Fatalf("%s barcode: %d %s", c.Name, a.status, a.header.Get("Content-Type"))
		}
		img, err := png.Decode(bytes.NewReader(a.body))
		if err != nil {
			t.Fatal(err)
		}
		bmp, err := gozxing.NewBinaryBitmapFromImage(img)
		if err != nil {
			t.Fatal(err)
		}
		res, err := oned.NewCode128Reader().Decode(bmp, nil)
		if err != nil || res.GetText() != c.Code {
			t.Fatalf("%s barcode scans as %v (%v), want %q", c.Name, res, err, c.Code)
		}
	}
	b.do("GET", "/api/v1/commands/tare/barcode", nil).wantError(t, 404, api.CodeNotFound, "")
	b.do("GET", "/api/v1/commands", nil, "Authorization", "").wantError(t, 401, api.CodeUnauthorized, "")

	var job queue.Job
	b.ok("POST", "/api/v1/commands/sheet/print", nil, &job)
	full, err := b.db.Job(context.Background(), job.ID)
	if err != nil {
		t.Fatal(err)
	}
	zpl := string(full.Payload)
	if full.Printer != "p1" || !strings.HasPrefix(zpl, "^XA") || strings.Count(zpl, "^BC") != 4 || !strings.Contains(zpl, "ZERO-7") ||
		strings.Contains(zpl, "PB-CMD-TARE") {
		t.Fatalf("sheet job %+v:\n%s", full, zpl)
	}
	b.do("POST", "/api/v1/commands/sheet/print", map[string]string{"printer": "nope"}).wantError(t, 400, api.CodeInvalidField, "printer")
}

// The status light is in the health report, also without a key: a bench
// without a screen is diagnosed from `packbench status`.
func TestHealthLight(t *testing.T) {
	b := newBench(t, nil)
	b.do("POST", "/api/v1/flow/scan", map[string]string{"code": "NO-SUCH-ORDER"}).wantError(t, 404, api.CodeNoOrder, "")
	a := b.do("GET", "/api/v1/health", nil, "Authorization", "")
	var h api.Health
	a.decode(t, &h)
	if h.Light == nil || h.Light.LED != station.LEDAttention || h.Light.Blinks != 1 || strings.Join(h.Light.Attention, ",") != station.ProblemNoOrder {
		t.Fatalf("light without a key: %s", a.body)
	}
	if strings.Contains(string(a.body), "NO-SUCH-ORDER") {
		t.Fatalf("the public health quotes the scanned code: %s", a.body)
	}
}
