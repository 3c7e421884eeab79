package station

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/packbench/packbench/labelrender"
	"github.com/packbench/packbench/queue"
)

// listPackages reads an order's packages, with their jobs' live states.
func listPackages(tx *queue.Tx, orderID string) ([]Package, error) {
	recs, err := tx.ListRecords(kindPackages, queue.RecordPage{Prefix: orderID + "\x00"})
	if err != nil {
		return nil, err
	}
	out := make([]Package, 0, len(recs))
	for _, r := range recs {
		var p Package
		if err := json.Unmarshal(r.Value, &p); err != nil {
			return nil, fmt.Errorf("decode package %q: %w", r.Key, err)
		}
		liveJobStates(tx, &p)
		out = append(out, p)
	}
	return out, nil
}

// packageKey resolves a package reference, tracking number or job id
// (original or reprint) to the package's record key.
func packageKey(tx *queue.Tx, id string) (string, error) {
	for _, k := range []string{refByReference + id, refByTracking + id} {
		if v, err := tx.GetRecord(kindPackageRef, k); err == nil {
			return string(v), nil
		} else if !errors.Is(err, queue.ErrNotFound) {
			return "", err
		}
	}
	if jid, err := queue.ParseJobID(id); err == nil {
		if v, err := tx.GetRecord(kindPackageRef, refByJob+jid.String()); err == nil {
			return string(v), nil
		} else if !errors.Is(err, queue.ErrNotFound) {
			return "", err
		}
	}
	return "", ErrNotFound
}

// loadPackage reads the package a reference or tracking number names,
// with its jobs' live states, and its record key.
func loadPackage(tx *queue.Tx, id string) (key string, p Package, err error) {
	if key, err = packageKey(tx, id); err != nil {
		return "", p, err
	}
	if err := getJSON(tx, kindPackages, key, &p); err != nil {
		return "", p, err
	}
	liveJobStates(tx, &p)
	return key, p, nil
}

// Package returns a package by reference ("SO000001-1"), tracking number
// or print job id (its own or a reprint's).
func (s *Station) Package(ctx context.Context, id string) (Package, error) {
	if err := ctx.Err(); err != nil {
		return Package{}, err
	}
	var p Package
	err := s.db.View(func(tx *queue.Tx) (err error) {
		_, p, err = loadPackage(tx, id)
		return err
	})
	if err != nil {
		return Package{}, fmt.Errorf("station: package %q: %w", id, notFound(err))
	}
	return p, nil
}

// Shipment returns an order's shipment: the order and its packages. id is
// anything FindOrder accepts.
func (s *Station) Shipment(ctx context.Context, id string) (Shipment, error) {
	if err := ctx.Err(); err != nil {
		return Shipment{}, err
	}
	var sh Shipment
	err := s.db.View(func(tx *queue.Tx) error {
		if _, err := s.findOrder(tx, id, &sh.Order); err != nil {
			return err
		}
		sh.OrderID = sh.Order.ID
		var err error
		sh.Packages, err = listPackages(tx, sh.OrderID)
		return err
	})
	if err != nil {
		return Shipment{}, fmt.Errorf("station: shipment %q: %w", id, notFound(err))
	}
	return sh, nil
}

// ListShipments pages through the orders that have packages, oldest first.
// ListOptions.Status filters on the order's status.
func (s *Station) ListShipments(ctx context.Context, opts ListOptions) (ShipmentPage, error) {
	if err := ctx.Err(); err != nil {
		return ShipmentPage{}, err
	}
	limit, err := opts.limit()
	if err != nil {
		return ShipmentPage{}, fmt.Errorf("station: list shipments: %w", err)
	}
	page := ShipmentPage{Shipments: []Shipment{}}
	var budget pageBudget
	err = s.db.View(func(tx *queue.Tx) error {
		var match map[string]bool // order ids the identifier finds (shared codes find several)
		if opts.Identifier != "" {
			all, err := s.ordersMatching(tx, opts.Identifier)
			if err != nil {
				return err
			}
			match = map[string]bool{}
			for _, o := range all {
				match[o.ID] = true
			}
		}
		recs, err := tx.ListRecords(kindShipSeq, queue.RecordPage{})
		if err != nil {
			return err
		}
		for _, r := range recs {
			var sh Shipment
			n, err := getJSONLen(tx, kindOrders, string(r.Value), &sh.Order)
			if err != nil {
				return err
			}
			if opts.Status != "" && sh.Order.Status != opts.Status {
				continue
			}
			if match != nil && !match[sh.Order.ID] {
				continue
			}
			page.Total++
			if r.Key <= opts.After || len(page.Shipments) > limit || budget.full {
				continue
			}
			sh.OrderID = sh.Order.ID
			if sh.Packages, err = listPackages(tx, sh.OrderID); err != nil {
				return err
			}
			for _, p := range sh.Packages {
				n += packageJSONSize(p)
			}
			// The item after a full page only says a next page exists.
			if len(page.Shipments) < limit && !budget.take(n) {
				continue
			}
			page.Shipments = append(page.Shipments, sh)
		}
		return nil
	})
	if err != nil {
		return ShipmentPage{}, fmt.Errorf("station: list shipments: %w", err)
	}
	if budget.full {
		page.Next = seqKey(page.Shipments[len(page.Shipments)-1].Order.Seq)
	}
	if len(page.Shipments) > limit {
		page.Shipments = page.Shipments[:limit]
		page.Next = seqKey(page.Shipments[limit-1].Order.Seq)
	}
	return page, nil
}

// LabelZPL returns the printer-ready ZPL of a label. id is a label id
// (package reference), a tracking number or a job id.
func (s *Station) LabelZPL(ctx context.Context, id string) ([]byte, error) {
	b, _, err := s.labelRecord(ctx, id, ".zpl")
	if err != nil {
		return nil, fmt.Errorf("station: label %q: %w", id, err)
	}
	return b, nil
}

// LabelPNG returns a PNG preview of a label: the carrier's own image, or
// the station's layout drawn by labelrender. Raw ZPL from a carrier has
// none (ErrNoPreview).
func (s *Station) LabelPNG(ctx context.Context, id string) ([]byte, error) {
	b, kind, err := s.labelRecord(ctx, id, ".png", ".json")
	if err != nil {
		return nil, fmt.Errorf("station: label preview %q: %w", id, err)
	}
	if kind == ".png" {
		return b, nil
	}
	var spec labelSpec
	if err := json.Unmarshal(b, &spec); err != nil {
		return nil, fmt.Errorf("station: label preview %q: decode: %w", id, err)
	}
	png, err := labelrender.RenderPNG(spec.Label, &spec.Opts)
	if err != nil {
		return nil, fmt.Errorf("station: label preview %q: %w", id, err)
	}
	return png, nil
}

// labelRecord finds the first of the suffixes stored for the label.
func (s *Station) labelRecord(ctx context.Context, id string, suffixes ...string) ([]byte, string, error) {
	if err := ctx.Err(); err != nil {
		return nil, "", err
	}
	var out []byte
	var found string
	err := s.db.View(func(tx *queue.Tx) error {
		key, err := packageKey(tx, id)
		if errors.Is(err, ErrNotFound) {
			// Not a package's: perhaps a pushed job's label (EnqueueLabel).
			out, found, err = jobLabelRecord(tx, id, suffixes)
			return err
		}
		if err != nil {
			return err
		}
		var p Package
		if err := getJSON(tx, kindPackages, key, &p); err != nil {
			return err
		}
		if p.LabelID == "" {
			return fmt.Errorf("%w: package %s has no label yet", ErrNotFound, p.Reference)
		}
		if p.LabelDeleted {
			return fmt.Errorf("%w: the label of %s is no longer kept (older than the label retention)", ErrNotFound, p.Reference)
		}
		for _, suf := range suffixes {
			b, err := tx.GetRecord(kindLabels, p.LabelID+suf)
			if err == nil {
				out, found = b, suf
				return nil
			}
			if !errors.Is(err, queue.ErrNotFound) {
				return err
			}
		}
		return ErrNoPreview
	})
	return out, found, notFound(err)
}

// jobChanged reflects a job state change in the flow. Packages read
// their jobs' states from the queue when they are read (see liveJobStates),
// so following jobs costs no write.
func (s *Station) jobChanged(ev queue.Event) error {
	s.flowJobChanged(ev)
	s.mu.Lock()
	p := s.flow.Problem
	decided := p != nil && p.Code == ProblemUncertain && p.JobID == ev.JobID && ev.To != queue.StateUncertain
	s.mu.Unlock()
	if decided {
		// Yes or Print again was pressed: show the next uncertain job, if any.
		return s.showUncertain(context.Background())
	}
	return nil
}

// liveJobStates fills the package's job states from the queue; a job
// the queue no longer keeps (past retention) keeps its last known state.
func liveJobStates(tx *queue.Tx, p *Package) {
	if p.JobID != 0 {
		if j, err := tx.Job(p.JobID); err == nil {
			p.JobState = j.State
		}
	}
	for i := range p.Reprints {
		if j, err := tx.Job(p.Reprints[i].JobID); err == nil {
			p.Reprints[i].JobState = j.State
		}
	}
}

// packageJSONSize is the size of p in a shipment page.
func packageJSONSize(p Package) int {
	b, err := json.Marshal(p)
	if err != nil {
		return 0
	}
	return len(b)
}
