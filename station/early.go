package station

import (
	"context"
	"reflect"
	"time"

	"github.com/packbench/packbench/queue"
)

// earlyLabel is the carrier asked, and its finished label rendered, while
// the package's reservation commits (issue 20): the reservation's fsyncs
// then no longer wait in line before the carrier's round trip and the
// render on the way to the printer. ship starts one only where asking
// early is as safe as asking after the commit:
//   - the order exists and ship holds its lock (which Ship, VoidPackage and
//     CancelOrder take), so the reservation reads the order the early call
//     read and records the package it asked for; ship checks that it did
//     and asks again the usual way otherwise;
//   - the reference is the order's pending package or its next index, so a
//     crash before the reservation is on disk leaves the order as it was
//     and the next attempt asks the carrier for the same reference (the
//     same parcel, not a second one);
//   - no client reference (another order's Ship may claim it meanwhile)
//     and no new order (its id is given in the reservation's commit);
//   - not a txCarrier, which numbers inside the reservation anyway.
type earlyLabel struct {
	req    LabelRequest
	cancel context.CancelFunc
	done   chan struct{}
	// Set before done closes.
	res       LabelResult
	err       error     // the carrier's
	art       artefacts // the carrier's finished label, rendered
	rendered  bool
	renderErr error
}

// startEarlyLabel starts the carrier call for the package the reservation
// of req is about to record, or returns nil where that is not safe (see
// earlyLabel) or the reservation will fail anyway.
func (s *Station) startEarlyLabel(ctx context.Context, req ShipRequest, printer string, now time.Time) *earlyLabel {
	if req.create != nil || req.Reference != "" {
		return nil
	}
	if _, isTx := s.carrier.(txCarrier); isTx {
		return nil
	}
	var o Order
	var p Package
	err := s.db.View(func(tx *queue.Tx) error {
		var err error
		o, p, _, err = s.nextPackage(tx, req, printer, now)
		return err
	})
	if err != nil {
		return nil // the reservation meets it too, and reports it
	}
	ctx, cancel := context.WithCancel(ctx)
	e := &earlyLabel{req: s.labelRequest(o, p), cancel: cancel, done: make(chan struct{})}
	go func() {
		defer close(e.done)
		if e.res, e.err = s.carrier.Label(ctx, e.req); e.err != nil || !e.res.finished() {
			return // the station's own layout is drawn from the package as reserved
		}
		e.art, e.renderErr = s.renderLabel(ctx, o, s.shipFrom(o), p, e.res)
		e.rendered = true
	}()
	return e
}

// answerFor waits for the call and returns its outcome if it asked for
// exactly req; ok is false otherwise (the call is then ended unused).
func (e *earlyLabel) answerFor(req LabelRequest) (ok bool) {
	if !reflect.DeepEqual(e.req, req) {
		e.abandon()
		return false
	}
	<-e.done
	e.cancel()
	return true
}

// abandon ends the call, whose answer is not used, and waits for it: no
// goroutine outlives its ship. A nil e has nothing to end.
func (e *earlyLabel) abandon() {
	if e != nil {
		e.cancel()
		<-e.done
	}
}

// finished tells whether the carrier answered with a label of its own
// (ZPL, PNG or PDF) rather than leaving the layout to the station.
func (r LabelResult) finished() bool { return len(r.ZPL) > 0 || len(r.PNG) > 0 || len(r.PDF) > 0 }
