package station

import (
	"context"
	"fmt"
	"slices"

	"github.com/packbench/packbench/queue"
)

// Reprint prints a labelled package's label again: the same label (same
// tracking number) as a new job keyed reference + "-reprint-N", recorded
// on the package and announced as package.reprinted. printer "" means the
// package's printer.
func (s *Station) Reprint(ctx context.Context, id, printer string) (Package, queue.Job, error) {
	if err := ctx.Err(); err != nil {
		return Package{}, queue.Job{}, err
	}
	if printer != "" {
		if err := s.knownPrinter(printer); err != nil {
			return Package{}, queue.Job{}, fmt.Errorf("station: reprint: %w", err)
		}
	}
	var p Package
	var job queue.Job
	err := s.db.Update(func(tx *queue.Tx) error {
		key, lp, err := loadPackage(tx, id)
		if err != nil {
			return err
		}
		p = lp
		switch p.Status {
		case PackageVoided:
			return fmt.Errorf("%w: package %s is voided", ErrConflict, p.Reference)
		case PackageRequested:
			return fmt.Errorf("%w: package %s has no label yet", ErrConflict, p.Reference)
		}
		if p.LabelDeleted {
			return fmt.Errorf("%w: the label of %s is no longer kept (older than the label retention)", ErrConflict, p.Reference)
		}
		zpl, err := tx.GetRecord(kindLabels, p.LabelID+".zpl")
		if err != nil {
			return fmt.Errorf("label of %s: %w", p.Reference, err)
		}
		if printer == "" {
			printer = p.Printer
			if printer == "" || len(s.printers) > 0 && !slices.Contains(s.printers, printer) {
				printer = s.printer // never printed ([fulfil] no_print), or its printer is no longer configured
			}
		}
		n := len(p.Reprints) + 1
		rp := Reprint{N: n, Key: fmt.Sprintf("%s-reprint-%d", p.Reference, n), At: s.clock.Now().UTC()}
		job, _, err = tx.Enqueue(queue.NewJob{Key: rp.Key, Source: queue.SourceFlow, Printer: printer,
			ContentType: queue.ContentZPL, Payload: zpl, Ref: "reprint of " + p.Reference})
		if err != nil {
			return err
		}
		rp.JobID, rp.JobState = job.ID, job.State
		p.Reprints = append(p.Reprints, rp)
		p.UpdatedAt = rp.At
		if err := tx.PutRecord(kindPackageRef, refByJob+job.ID.String(), []byte(key)); err != nil {
			return err
		}
		if err := putJSON(tx, kindPackages, key, p); err != nil {
			return err
		}
		return appendEvent(tx, EventPackageReprinted, p.Reference, map[string]any{
			"reference": p.Reference, "order_id": p.OrderID, "tracking_number": p.TrackingNumber, "job_id": job.ID, "n": n})
	})
	if err != nil {
		return Package{}, queue.Job{}, fmt.Errorf("station: reprint %q: %w", id, notFound(err))
	}
	s.log.Info("package reprinted", "reference", p.Reference, "job", job.ID, "tracking", p.TrackingNumber)
	return p, job, nil
}
