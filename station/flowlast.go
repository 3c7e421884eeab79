package station

import (
	"context"
	"errors"
	"fmt"

	"github.com/packbench/packbench/queue"
)

// The flow's last label survives a restart: the packer's page shows it,
// with Reprint, until the next one (issue 19). It is one small record,
// written after the label's own commit (the label is durable already;
// losing this record in a crash only loses the page's reminder).
const (
	kindFlowLast = "flow-last"
	keyFlowLast  = "last"
)

type flowLast struct {
	LabelID        string      `json:"label_id"`
	TrackingNumber string      `json:"tracking_number,omitempty"`
	JobID          queue.JobID `json:"job_id,omitzero"`
	Weight         string      `json:"weight,omitempty"`
}

// rememberLastLabel stores the flow's last label; a failure is logged,
// never the packer's problem.
func (s *Station) rememberLastLabel(l flowLast) {
	err := s.db.Update(func(tx *queue.Tx) error { return putJSON(tx, kindFlowLast, keyFlowLast, l) })
	if err != nil {
		s.log.Warn("flow: could not remember the last label for the page", "label", l.LabelID, "err", err)
	}
}

// restoreLastLabel puts the stored last label into the idle flow state,
// with its job's state now.
func (s *Station) restoreLastLabel(ctx context.Context) error {
	var l flowLast
	err := s.db.View(func(tx *queue.Tx) error { return getJSON(tx, kindFlowLast, keyFlowLast, &l) })
	if errors.Is(err, queue.ErrNotFound) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("last label: %w", err)
	}
	f := &s.flow
	f.LabelID, f.TrackingNumber, f.JobID, f.Weight = l.LabelID, l.TrackingNumber, l.JobID, l.Weight
	if j, err := s.db.Job(ctx, l.JobID); err == nil {
		f.JobState = j.State
	}
	return nil
}
