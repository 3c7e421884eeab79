package station

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/packbench/packbench/labelrender"
	"github.com/packbench/packbench/pdfrender"
	"github.com/packbench/packbench/queue"
)

// labelSpec is what the station needs to draw a label's PNG preview again.
type labelSpec struct {
	Label labelrender.Label   `json:"label"`
	Opts  labelrender.Options `json:"options"`
}

// artefacts are a rendered label: the printer-ready ZPL and what draws its
// preview (the carrier's PNG, or the layout spec rendered on demand).
type artefacts struct {
	zpl  []byte
	png  []byte
	spec []byte
	pdf  []byte // the carrier's PDF, served again by label URLs
	form string
	// settings are the printer-setting commands [zpl] allow let through
	// in a carrier's ZPL, logged once the job exists.
	settings []string
}

// CheckZPL checks raw ZPL from outside (a carrier's label, a pushed job)
// with the bench's policy: the commands [zpl] allow names, and at most
// queue.MaxCopies labels for a job sending it copies times. The report's
// Allowed are the setting commands used: the caller logs them with the job
// id (LogZPLSettings).
func (s *Station) CheckZPL(doc []byte, copies int) (labelrender.ZPLReport, error) {
	return labelrender.InspectZPL(doc, &labelrender.Policy{Allow: s.cfg.ZPL.Allow, MaxCopies: queue.MaxCopies, Copies: copies})
}

// LogZPLSettings logs, at info, the setting commands an allowed raw ZPL
// job carries: never the label itself.
func (s *Station) LogZPLSettings(job queue.JobID, source string, commands []string) {
	if len(commands) > 0 {
		s.log.Info("raw ZPL changes printer settings allowed by [zpl] allow", "job", job.String(), "source", source, "commands", commands)
	}
}

// LabelOptions are the options every label of this bench is drawn with:
// the configured [label] resolution and size, dated date.
func (s *Station) LabelOptions(date time.Time) labelrender.Options {
	opts := s.label
	opts.Date = date
	return opts
}

// RenderLabel draws l as printer-ready ZPL in the configured [label]
// format: native ZPL commands, or a Z64 raster of the same layout. opts
// are LabelOptions' (the preview spec keeps them to draw it again).
func (s *Station) RenderLabel(l labelrender.Label, opts labelrender.Options) ([]byte, error) {
	if s.cfg.Label.Format == FormatRaster {
		return labelrender.RenderRasterZPL(l, &opts, labelrender.Z64)
	}
	return labelrender.RenderZPL(l, &opts)
}

// renderLabel is step 3 of ship: the carrier's own label (checked), or the
// station's layout rendered. It runs outside any transaction: a raster at
// 600 dpi takes a while.
func (s *Station) renderLabel(ctx context.Context, o Order, from Address, p Package, res LabelResult) (artefacts, error) {
	opts := s.LabelOptions(s.clock.Now())
	switch {
	case len(res.ZPL) > 0:
		rep, err := s.CheckZPL(res.ZPL, 1)
		if err != nil {
			return artefacts{}, &CarrierError{Carrier: CarrierHTTP, Message: "the carrier's ZPL label was refused: " + err.Error()}
		}
		return artefacts{zpl: res.ZPL, form: "carrier-zpl", settings: rep.Allowed}, nil
	case len(res.PNG) > 0:
		zpl, err := labelrender.PNGToZPL(res.PNG, &labelrender.ImageOptions{Options: opts})
		if err != nil {
			return artefacts{}, &CarrierError{Carrier: CarrierHTTP, Message: "the carrier's PNG label cannot be printed: " + err.Error()}
		}
		return artefacts{zpl: zpl, png: res.PNG, form: "carrier-png"}, nil
	case len(res.PDF) > 0:
		return carrierPDF(ctx, res.PDF, opts)
	}
	l, err := s.layout(o, from, p, res)
	if err != nil {
		return artefacts{}, err
	}
	zpl, err := s.RenderLabel(l, opts)
	if err != nil {
		return artefacts{}, fmt.Errorf("render label %s: %w", p.Reference, err)
	}
	spec, err := json.Marshal(labelSpec{Label: l, Opts: opts})
	if err != nil {
		return artefacts{}, fmt.Errorf("encode label %s: %w", p.Reference, err)
	}
	return artefacts{zpl: zpl, spec: spec, form: s.cfg.Label.Format}, nil
}

// PDFToZPL makes one printer-ready label per page of a PDF at the bench's
// label size and dpi (the print API's PDF jobs; carriers' PDFs go through
// carrierPDF).
func (s *Station) PDFToZPL(ctx context.Context, pdf []byte) ([][]byte, error) {
	pages, err := pdfrender.PDFToZPL(ctx, pdf, &pdfrender.PDFOptions{Options: s.LabelOptions(s.clock.Now())})
	if err != nil {
		return nil, fmt.Errorf("station: pdf: %w", err)
	}
	return pages, nil
}

// carrierPDF prints a carrier's PDF: each page one label (one job), the
// first page's 1-bit image its preview.
func carrierPDF(ctx context.Context, pdf []byte, opts labelrender.Options) (artefacts, error) {
	pages, err := pdfrender.PDFToBitmaps(ctx, pdf, &pdfrender.PDFOptions{Options: opts})
	if err != nil {
		return artefacts{}, &CarrierError{Carrier: CarrierHTTP, Message: "the carrier's PDF label cannot be printed: " + err.Error()}
	}
	var zpl []byte
	for _, bm := range pages {
		zpl = append(zpl, labelrender.GraphicLabel(bm, labelrender.Z64)...)
	}
	png, err := pages[0].PNG()
	if err != nil {
		return artefacts{}, fmt.Errorf("label preview: %w", err)
	}
	return artefacts{zpl: zpl, png: png, pdf: pdf, form: "carrier-pdf"}, nil
}

// layout builds the station's own label for a package.
func (s *Station) layout(o Order, from Address, p Package, res LabelResult) (labelrender.Label, error) {
	w, err := s.labelWeight(p.Weight)
	if err != nil {
		return labelrender.Label{}, err
	}
	l := labelrender.Label{
		From: from.render(), To: o.ShipTo.render(), Carrier: p.Carrier, Service: p.Service,
		TrackingNumber: res.TrackingNumber, Barcode: res.Barcode, Weight: &w,
		// "REF: SO000001-1" is the package reference a reprint or a query
		// names; "ORDER" and "PKG 1 OF 2" are what the packer reads.
		Reference: p.Reference, Order: o.ID, Package: &labelrender.Package{Index: p.Index, Count: p.Count},
		Return: o.Source == sourceReturn,
	}
	if res.BarcodeData != "" {
		l.TrackingNumber = res.BarcodeData
	}
	if l.Barcode == "" {
		l.Barcode = labelrender.Code128
	}
	if err := l.Validate(); err != nil {
		return labelrender.Label{}, fmt.Errorf("label %s: %w", p.Reference, err)
	}
	return l, nil
}

// labelWeight is the weight as printed: in the configured unit, or exactly
// as the scale displayed it when that unit is one a label can carry.
func (s *Station) labelWeight(w Weight) (labelrender.Weight, error) {
	decimals := map[string]int{"g": 0, "kg": 3, "oz": 1, "lb": 2}
	unit := s.cfg.Label.WeightUnit
	if unit == "" {
		if _, ok := decimals[w.Unit]; ok {
			if v, _, ok := strings.Cut(w.Display, " "); ok && isDecimal(v) {
				return labelrender.Weight{Value: json.Number(v), Unit: w.Unit}, nil
			}
			unit = w.Unit
		} else {
			unit = "g"
		}
	}
	return labelrender.WeightFromMilligrams(w.Milligrams, unit, decimals[unit])
}
