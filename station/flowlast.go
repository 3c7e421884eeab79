package station

import (
	"context"
	"errors"
	"fmt"

	"github.com/packbench/packbench/queue"
)

// The flow's last label survives a restart: the packer's page shows it,
// with Reprint, until the next one (issue 19). It is one small record,
// written in the label's own commit (ShipRequest.onCommit): a commit of
// its own, right after, made the printer worker's claim wait behind it
// (issue 20).
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

// rememberLastLabelTx stores the flow's last label in tx.
func rememberLastLabelTx(tx *queue.Tx, l flowLast) error {
	return putJSON(tx, kindFlowLast, keyFlowLast, l)
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
