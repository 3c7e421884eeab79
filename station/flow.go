package station

import (
	"context"
	"errors"
	"fmt"
	"strings"

	"github.com/packbench/packbench/labelrender"
	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/scale"
)

// Scan arms the order a scanned code finds (order id, partner order id or
// an associated identifier such as an LPN). A code that finds nothing
// returns ErrNoOrder and leaves the flow as it was, with the problem
// "no order for this barcode" in the state for the packer's page.
func (s *Station) Scan(ctx context.Context, code string) (FlowState, error) {
	code = strings.TrimSpace(code) // scanners end codes with CR or LF
	if code == "" {
		return s.State(), fmt.Errorf("station: scan: %w", fieldErr("code", "required"))
	}
	if c, ok := s.command(code); ok {
		return s.runCommand(ctx, c)
	}
	o, open, err := s.findOrderShared(ctx, code)
	if err != nil {
		if errors.Is(err, ErrNoOrder) {
			// The packer's words, typed: the page and the CLI show Message.
			p := s.newProblem(ProblemNoOrder, fmt.Sprintf("Scanned %q: no order for this barcode.", code))
			p.err = err
			s.mu.Lock()
			s.flow.Problem = p
			s.publishLocked()
			s.mu.Unlock()
			return s.State(), fmt.Errorf("station: scan: %w", p)
		}
		return s.State(), fmt.Errorf("station: scan: %w", err)
	}
	if !o.shippable() {
		return s.State(), fmt.Errorf("station: scan %q: %w", code, s.refuseOrder(ctx, o))
	}
	note := ""
	if open > 1 {
		// Shared identifiers (Shipium allows them): say which order won.
		note = fmt.Sprintf("%q matches %d open orders: armed the oldest with packages to label, %s", code, open, o.ID)
	}
	st, err := s.armNote(o, true, note, true)
	if err != nil {
		return st, fmt.Errorf("station: scan %q: %w", code, err)
	}
	s.log.Info("order armed by scan", "order", o.ID, "code", code, "open_matches", open)
	return st, nil
}

// Arm arms an order by id: the next stable weight on the scale labels its
// next package.
func (s *Station) Arm(ctx context.Context, orderID string) (FlowState, error) {
	o, err := s.Order(ctx, orderID)
	if err != nil {
		return s.State(), fmt.Errorf("station: arm: %w", err)
	}
	if !o.shippable() {
		return s.State(), fmt.Errorf("station: arm %s: %w", orderID, s.refuseOrder(ctx, o))
	}
	st, err := s.arm(o, true)
	if err != nil {
		return st, fmt.Errorf("station: arm %s: %w", orderID, err)
	}
	s.log.Info("order armed", "order", o.ID)
	return st, nil
}

// Disarm returns the flow to idle. While a parcel is being labelled it
// returns ErrBusy.
func (s *Station) Disarm(ctx context.Context) (FlowState, error) {
	if err := ctx.Err(); err != nil {
		return s.State(), err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.flow.State == FlowLabelling {
		return s.flow, fmt.Errorf("station: disarm: %w", ErrBusy)
	}
	s.armed = ""
	s.flow.State, s.flow.Order, s.flow.Package, s.flow.Count, s.flow.Problem = FlowIdle, nil, 0, 0, nil
	s.publishLocked()
	return s.flow, nil
}

// arm makes o the armed order; clear drops the last problem (an explicit
// scan or arm does; re-arming after a removal keeps a printer problem).
func (s *Station) arm(o Order, clear bool) (FlowState, error) { return s.armNote(o, clear, "", false) }

// armNote is arm with a note for the packer (FlowState.Note); scanned
// sounds the good-scan beep.
func (s *Station) armNote(o Order, clear bool, note string, scanned bool) (FlowState, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.flow.State == FlowLabelling {
		return s.flow, ErrBusy
	}
	if !o.shippable() {
		// Scan and Arm refuse first (refuseOrder, with the reprint offer);
		// this is the re-arm after a removal racing a change of the order.
		p := s.newProblem(ProblemAlreadyLabelled, fmt.Sprintf("Already labelled: order %s has all its %s labelled.", o.ID, plural(o.Packages, "package")))
		if o.Status == OrderCancelled {
			p = s.newProblem(ProblemOrder, fmt.Sprintf("Order %s is cancelled.", o.ID))
		}
		p.err = ErrConflict
		s.flow.Problem = p
		s.publishLocked()
		return s.flow, p
	}
	s.armed = o.ID
	s.flow.State, s.flow.Order, s.flow.Note = FlowArmed, o.summary(), note
	s.flow.Package, s.flow.Count = o.Labelled+1, o.Packages
	if clear || (s.flow.Problem != nil && !s.flow.Problem.waitsForPerson()) {
		s.flow.Problem = nil
	}
	if scanned {
		s.signalLocked(SignalOK, SignalScan)
	}
	s.publishLocked()
	return s.flow, nil
}

// Feed hands the station one decision of the stable-weight filter. Placed
// labels the armed order's next package (synchronously: the carrier call
// and the commit happen before Feed returns); Removed re-arms. Feed
// serialises its callers. It returns the flow state afterwards.
func (s *Station) Feed(ctx context.Context, ev scale.Event) FlowState {
	s.feedMu.Lock()
	defer s.feedMu.Unlock()
	switch ev.Kind {
	case scale.EventPlaced:
		s.placed(ctx, ev.Reading)
	case scale.EventRemoved:
		s.removed(ctx)
	}
	return s.State()
}

// WatchScale runs readings through the filter and feeds its decisions to
// the flow until ctx is done or readings is closed (then it returns nil).
func (s *Station) WatchScale(ctx context.Context, readings <-chan scale.Reading, f *scale.Filter) error {
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case r, ok := <-readings:
			if !ok {
				return nil
			}
			before := f.State()
			if ev := f.Feed(r); ev.Kind != scale.EventNone {
				s.Feed(ctx, ev)
			}
			// A light weight never sends an event: tell the packer from
			// the filter's state why nothing prints.
			if after := f.State(); after != before && (after == scale.StateTooLight || before == scale.StateTooLight) {
				s.tooLight(r, f.Options().MinWeight, after == scale.StateTooLight)
			}
		}
	}
}

func (s *Station) placed(ctx context.Context, r scale.Reading) {
	s.mu.Lock()
	if s.flow.AwaitRemoval {
		// The filter re-arms only after zero, so this cannot happen with
		// one filter; guard anyway: one placement, one label.
		s.mu.Unlock()
		s.log.Warn("parcel placed again without a removal: ignored", "weight", r.Display())
		return
	}
	armed := s.armed
	s.mu.Unlock()
	if armed == "" && s.cfg.Flow.AutoArmNext {
		if o, ok, err := s.nextOpenOrder(); err != nil {
			s.log.Error("station: finding the next order", "err", err)
		} else if ok {
			if _, err := s.arm(o, false); err == nil {
				armed = o.ID
				s.log.Info("next order armed without a scan", "order", o.ID)
			}
		}
	}

	s.mu.Lock()
	armed = s.armed // a scan may have changed it meanwhile
	s.flow.AwaitRemoval = true
	s.flow.Weight = r.Display()
	s.waiting = nil
	if armed == "" {
		s.waiting = &r // the button's "print now" labels it once an order is armed
		s.flow.Problem = &Problem{Code: ProblemNotArmed, At: s.clock.Now(),
			Message: "a parcel is on the scale but no order is armed: scan an order, then lift the parcel and put it back"}
		s.publishLocked()
		s.mu.Unlock()
		s.log.Info("parcel placed with no order armed", "weight", r.Display())
		return
	}
	if !r.HasWeight() || r.Milligrams <= 0 {
		s.flow.Problem = &Problem{Code: ProblemBadWeight, At: s.clock.Now(), Message: "the scale gave no usable weight: lift the parcel and put it back"}
		s.publishLocked()
		s.mu.Unlock()
		return
	}
	s.flow.State = FlowLabelling
	s.flow.Problem = nil
	s.publishLocked()
	s.mu.Unlock()

	weight := r.Display() // as s.flow.Weight, set above
	p, o, err := s.ship(ctx, ShipRequest{OrderID: armed, Weight: Weight{Milligrams: r.Milligrams, Display: r.Display(), Unit: r.Unit.String()},
		onCommit: func(tx *queue.Tx, p Package) error {
			return rememberLastLabelTx(tx, flowLast{LabelID: p.LabelID, TrackingNumber: p.TrackingNumber, JobID: p.JobID, Weight: weight})
		}})

	s.mu.Lock()
	if err != nil {
		code, msg := problemOf(err)
		s.flow.State = FlowArmed
		if code == ProblemOrder {
			s.armed, s.flow.State, s.flow.Order = "", FlowIdle, nil
		}
		s.flow.Problem = s.newProblem(code, msg)
		s.publishLocked()
		s.mu.Unlock()
		s.log.Warn("flow: no label for the parcel", "order", armed, "problem", code, "err", err)
		return
	}
	s.flow.State, s.flow.Order = FlowPrinting, o.summary()
	s.flow.Package, s.flow.Count = p.Index, p.Count
	s.flow.LabelID, s.flow.TrackingNumber, s.flow.JobID, s.flow.JobState = p.LabelID, p.TrackingNumber, p.JobID, p.JobState
	s.flow.LabelWeight = p.Weight.Display
	if !o.shippable() && s.armed == o.ID {
		s.armed = "" // every package is labelled: the next order is armed after removal
	}
	s.publishLocked()
	s.mu.Unlock()

	// The job may have finished before the flow knew its id.
	if j, err := s.db.Job(ctx, p.JobID); err == nil && j.State != queue.StateQueued {
		s.flowJobChanged(queue.Event{Type: queue.EventJobState, JobID: j.ID, To: j.State, Reason: j.LastError})
	}
}

// problemOf turns a labelling error into a problem code and a sentence.
func problemOf(err error) (code, msg string) {
	var ce *CarrierError
	var fe *labelrender.FieldError
	switch {
	case errors.As(err, &ce):
		return ProblemCarrier, "the carrier did not give a label: " + ce.Message + " (lift the parcel and place it again to retry)"
	case errors.Is(err, ErrConflict) || errors.Is(err, ErrNotFound):
		return ProblemOrder, unwrapMessage(err)
	case errors.As(err, &fe), errors.Is(err, labelrender.ErrInvalidLabel), errors.Is(err, labelrender.ErrNoRoom),
		errors.Is(err, labelrender.ErrInvalidOptions), errors.Is(err, labelrender.ErrUnsupported):
		if errors.As(err, &fe) {
			return ProblemLabel, "The label cannot be drawn: " + fe.Error() + "."
		}
		return ProblemLabel, "The label cannot be drawn: the order's details do not fit the label."
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return ProblemCarrier, "Labelling was interrupted: lift the parcel and put it back."
	}
	// The operation chain is for the log (the caller logs err), not the packer.
	return ProblemInternal, "The bench could not store the label."

}

// unwrapMessage drops the sentinel's own prefix for the packer.
func unwrapMessage(err error) string {
	msg := err.Error()
	for _, p := range []string{ErrConflict.Error() + ": ", ErrNotFound.Error() + ": "} {
		if i := strings.Index(msg, p); i >= 0 {
			return msg[i+len(p):]
		}
	}
	return msg
}

func (s *Station) removed(ctx context.Context) {
	s.mu.Lock()
	s.flow.AwaitRemoval = false
	s.waiting = nil
	if p := s.flow.Problem; p != nil && (p.Code == ProblemNotArmed || p.Code == ProblemBadWeight) {
		s.flow.Problem = nil
	}
	armed := s.armed
	s.publishLocked()
	s.mu.Unlock()

	if armed != "" {
		o, err := s.Order(ctx, armed)
		if err == nil && o.shippable() {
			s.arm(o, false) //nolint: a labelling race is the only failure, and Feed is serialised
			return
		}
	}
	if s.cfg.Flow.AutoArmNext {
		if o, ok, err := s.nextOpenOrder(); err != nil {
			s.log.Error("station: finding the next order", "err", err)
		} else if ok {
			if _, err := s.arm(o, false); err == nil {
				s.log.Info("next order armed without a scan", "order", o.ID)
				return
			}
		}
	}
	s.mu.Lock()
	if s.flow.State != FlowLabelling {
		s.armed = ""
		s.flow.State, s.flow.Order, s.flow.Package, s.flow.Count = FlowIdle, nil, 0, 0
		s.publishLocked()
	}
	s.mu.Unlock()
}

// flowJobChanged follows the flow's last job.
func (s *Station) flowJobChanged(ev queue.Event) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.flow.JobID != ev.JobID || s.flow.JobState == ev.To {
		return
	}
	s.flow.JobState = ev.To
	switch ev.To {
	case queue.StatePrinted, queue.StateSent:
		if s.flow.State == FlowPrinting {
			s.flow.State = FlowPrinted
		}
		if p := s.flow.Problem; p != nil && (p.Code == ProblemPrinter || p.Code == ProblemUncertain && p.JobID == ev.JobID) {
			s.flow.Problem = nil
		}
	case queue.StateFailed:
		msg := fmt.Sprintf("the label %s did not print (%s)", s.flow.LabelID, ev.To)
		if ev.Reason != "" {
			msg += ": " + ev.Reason
		}
		s.flow.Problem = s.newProblem(ProblemPrinter, msg)
	case queue.StateUncertain:
		// Part of it went out: only a look at the printer tells, so the
		// packer is asked "Printed? Yes / Print again".
		msg := fmt.Sprintf("The label %s may not have printed", s.flow.LabelID)
		if ev.Reason != "" {
			msg += ": " + ev.Reason
		}
		p := s.newProblem(ProblemUncertain, msg+".")
		p.Offer, p.JobID, p.LabelID = OfferConfirmPrinted, s.flow.JobID, s.flow.LabelID
		s.flow.Problem = p
	}
	s.publishLocked()
}

// setProblem records a problem without changing the flow state.
func (s *Station) setProblem(code, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.flow.Problem = &Problem{Code: code, Message: msg, At: s.clock.Now()}
	s.publishLocked()
}

// orderGone disarms the flow if it was armed on an order that can no
// longer ship.
func (s *Station) orderGone(id, msg string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.armed != id {
		return
	}
	s.armed = ""
	if s.flow.State == FlowArmed {
		s.flow.State, s.flow.Order, s.flow.Package, s.flow.Count = FlowIdle, nil, 0, 0
	}
	s.flow.Problem = &Problem{Code: ProblemOrder, Message: msg, At: s.clock.Now()}
	s.publishLocked()
}

// autoArmIfIdle arms the oldest open order when the flow is idle and
// auto_arm_next is on (a new order appears on the page at once).
func (s *Station) autoArmIfIdle(ctx context.Context) {
	if !s.cfg.Flow.AutoArmNext || ctx.Err() != nil {
		return
	}
	s.mu.Lock()
	idle := s.flow.State == FlowIdle && s.armed == ""
	s.mu.Unlock()
	if !idle {
		return
	}
	if o, ok, err := s.nextOpenOrder(); err == nil && ok {
		s.arm(o, false)
	}
}
