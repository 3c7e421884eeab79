package station

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/packbench/packbench/queue"
	"github.com/packbench/packbench/scale"
)

// ProblemCodes lists every FlowState.Problem code, for pages and tests that
// must know them all.
func ProblemCodes() []string {
	return []string{ProblemNoOrder, ProblemNotArmed, ProblemCarrier, ProblemPrinter, ProblemLabel,
		ProblemOrder, ProblemInternal, ProblemBadWeight, ProblemCommand, ProblemAlreadyLabelled,
		ProblemTooLight, ProblemUncertain}
}

// ProblemAction is the next step for a problem code, in the packer's
// words; a Problem without its own Action takes this one.
func ProblemAction(code string) string {
	switch code {
	case ProblemNoOrder:
		return "Check the barcode, or scan the order's packing slip."
	case ProblemNotArmed:
		return "Scan an order, then lift the parcel and put it back."
	case ProblemCarrier:
		return "Lift the parcel and place it again to retry; if it happens again, ask the office."
	case ProblemPrinter:
		return "Fix the printer, then press Reprint."
	case ProblemLabel:
		return "Ask the office to check the order."
	case ProblemOrder:
		return "Scan another order."
	case ProblemInternal:
		return "Ask the office to look at the bench's log."
	case ProblemBadWeight:
		return "Lift the parcel and place it again."
	case ProblemCommand:
		return "Check the command barcode and scan it again."
	case ProblemAlreadyLabelled:
		return "Reprint? Press Reprint for another copy of the label, or scan the next order."
	case ProblemTooLight:
		return "Put the contents in, or use the heavier packaging; the label prints when the weight is enough."
	case ProblemUncertain:
		return "Look at the printer. Printed? Press Yes. If not, press Print again."
	}
	return ""
}

// waitsForPerson: a label that did not (or may not have) printed stays on
// the page until a person acts; a re-arm or a light weight does not hide it.
func (p *Problem) waitsForPerson() bool {
	return p.Code == ProblemPrinter || p.Code == ProblemUncertain
}

// newProblem is a Problem with the code's default action.
func (s *Station) newProblem(code, msg string) *Problem {
	return &Problem{Code: code, Message: msg, Action: ProblemAction(code), At: s.clock.Now()}
}

// refuseOrder records and returns the refusal for an order that cannot be
// armed: cancelled, or every package labelled (then the page offers a
// reprint of the last label). The shipment is read before the flow's lock.
func (s *Station) refuseOrder(ctx context.Context, o Order) *Problem {
	var p *Problem
	if o.Status == OrderCancelled {
		p = s.newProblem(ProblemOrder, fmt.Sprintf("Order %s is cancelled.", o.ID))
	} else {
		p = s.newProblem(ProblemAlreadyLabelled, fmt.Sprintf("Already labelled: order %s has all its %s labelled.", o.ID, plural(o.Packages, "package")))
		if sh, err := s.Shipment(ctx, o.ID); err == nil {
			for i := len(sh.Packages) - 1; i >= 0; i-- {
				if pk := sh.Packages[i]; pk.JobID != 0 && pk.Status == PackageLabelled {
					p.Offer, p.JobID, p.LabelID = OfferReprint, pk.JobID, pk.LabelID
					break
				}
			}
		}
	}
	p.err = ErrConflict
	s.mu.Lock()
	s.flow.Problem = p
	s.publishLocked()
	s.mu.Unlock()
	return p
}

func plural(n int, what string) string {
	if n == 1 {
		return "1 " + what
	}
	return strconv.Itoa(n) + " " + what + "s"
}

// tooLight tells the packer a settled weight is under the minimum (on) or
// clears that once the weight changed (off).
func (s *Station) tooLight(r scale.Reading, minMg int64, on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if !on {
		if p := s.flow.Problem; p != nil && p.Code == ProblemTooLight {
			s.flow.Problem = nil
			s.publishLocked()
		}
		return
	}
	if s.flow.State == FlowLabelling || s.flow.AwaitRemoval || (s.flow.Problem != nil && s.flow.Problem.waitsForPerson()) {
		return
	}
	s.flow.Problem = s.newProblem(ProblemTooLight, "Too light to ship (minimum "+massText(minMg)+").")
	s.publishLocked()
}

// massText writes a weight in mg as grams for people ("20 g", "12.5 g").
func massText(mg int64) string {
	if mg%1000 == 0 {
		return strconv.FormatInt(mg/1000, 10) + " g"
	}
	return strconv.FormatFloat(float64(mg)/1000, 'f', -1, 64) + " g"
}

// uncertainProblem names the oldest flow job left uncertain by a stop
// (nil if none) and offers "Printed? Yes / Print again" for it.
func (s *Station) uncertainProblem(ctx context.Context) (*Problem, error) {
	js, err := s.db.List(ctx, queue.ListOptions{State: queue.StateUncertain})
	if err != nil {
		return nil, err
	}
	for _, j := range js {
		if j.Source != queue.SourceFlow {
			continue
		}
		what := "the label " + j.Key
		if pk, err := s.Package(ctx, j.Key); err == nil {
			what = fmt.Sprintf("the label for order %s, package %d of %d", pk.OrderID, pk.Index, pk.Count)
			if pk.TrackingNumber != "" {
				what += " (tracking " + pk.TrackingNumber + ")"
			}
		} else if !errors.Is(err, ErrNotFound) {
			return nil, err
		}
		p := s.newProblem(ProblemUncertain, "The bench stopped while printing "+what+": it may not have printed.")
		p.Offer, p.JobID, p.LabelID = OfferConfirmPrinted, j.ID, j.Key
		return p, nil
	}
	return nil, nil
}

// showUncertain puts the oldest uncertain flow job on the page, unless a
// problem of the current parcel is showing; it replaces an uncertain
// problem that was decided (its job moved on).
func (s *Station) showUncertain(ctx context.Context) error {
	p, err := s.uncertainProblem(ctx)
	if err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	cur := s.flow.Problem
	switch {
	case cur != nil && cur.Code != ProblemUncertain:
		return nil
	case p == nil && cur == nil:
		return nil
	case p != nil && cur != nil && cur.JobID == p.JobID:
		return nil
	}
	s.flow.Problem = p
	s.publishLocked()
	return nil
}
