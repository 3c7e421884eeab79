package station

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/packbench/packbench/labelrender"
	"github.com/packbench/packbench/queue"
)

// JobLabel is a finished label that comes from outside the flow (a job
// pushed over MQTT): the printer-ready ZPL and what draws its preview.
type JobLabel struct {
	ZPL []byte
	// PNG is the image the label was made from, shown as its preview.
	PNG []byte
	// Label is the spec the ZPL was rendered from (with Opts); its preview
	// is drawn on demand, as for the flow's own labels.
	Label *labelrender.Label
	Opts  labelrender.Options
	// Settings are the printer-setting commands of raw ZPL that [zpl]
	// allow let through (CheckZPL's report), for the caller to log with
	// the job id (LogZPLSettings).
	Settings []string
}

// jobLabelID is the label id of a job's label: never a package reference
// (those end in "-N"), so the two cannot collide.
func jobLabelID(id queue.JobID) string { return "job/" + id.String() }

// EnqueueLabel enqueues a finished label as a print job (nj's Payload and
// ContentType are set from l) and keeps its artefacts under the job id in
// the same transaction, so LabelZPL and LabelPNG answer for the job id and
// Housekeep trims them like the flow's labels. A key already used returns
// that job with created false and stores nothing.
func (s *Station) EnqueueLabel(ctx context.Context, nj queue.NewJob, l JobLabel) (job queue.Job, created bool, err error) {
	if err := ctx.Err(); err != nil {
		return queue.Job{}, false, err
	}
	nj.ContentType, nj.Payload = queue.ContentZPL, l.ZPL
	art := artefacts{zpl: l.ZPL, png: l.PNG}
	if l.Label != nil {
		if art.spec, err = json.Marshal(labelSpec{Label: *l.Label, Opts: l.Opts}); err != nil {
			return queue.Job{}, false, fmt.Errorf("station: enqueue label: %w", err)
		}
	}
	now := s.clock.Now()
	err = s.db.Update(func(tx *queue.Tx) error {
		job, created, err = tx.Enqueue(nj)
		if err != nil || !created {
			return err
		}
		id := jobLabelID(job.ID)
		if err := s.putLabel(tx, id, art); err != nil {
			return err
		}
		return tx.PutRecord(kindLabelTime, labelTimeKey(now, id), []byte(id))
	})
	if err != nil {
		return queue.Job{}, false, fmt.Errorf("station: enqueue label: %w", err)
	}
	return job, created, nil
}

// jobLabelRecord finds a job label's artefact (see EnqueueLabel) for a job
// id; ErrNotFound when the job has none.
func jobLabelRecord(tx *queue.Tx, id string, suffixes []string) ([]byte, string, error) {
	jid, err := queue.ParseJobID(id)
	if err != nil {
		return nil, "", ErrNotFound
	}
	label := jobLabelID(jid)
	if _, err := tx.GetRecord(kindLabels, label+".zpl"); errors.Is(err, queue.ErrNotFound) {
		return nil, "", ErrNotFound
	} else if err != nil {
		return nil, "", err
	}
	for _, suf := range suffixes {
		b, err := tx.GetRecord(kindLabels, label+suf)
		if err == nil {
			return b, suf, nil
		}
		if !errors.Is(err, queue.ErrNotFound) {
			return nil, "", err
		}
	}
	return nil, "", ErrNoPreview
}
