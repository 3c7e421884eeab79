package station

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"time"

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

// The kinds of finished content a job from outside the flow carries (an
// MQTT push, POST /api/v1/print); they are also the fields that carry it.
const (
	KindZPL   = "zpl"
	KindPNG   = "png"
	KindLabel = "label"
)

// MakeJobLabel turns a job's content from outside the flow into checked,
// printer-ready ZPL and what draws its preview, the same way for every
// intake: raw ZPL passes the [zpl] policy (copies × labels capped), a PNG
// becomes a graphic at the label size, a label spec is rendered like the
// flow's own (dated date). A refusal is a *FieldError naming the field
// (the kind, or kind.path inside a spec).
func (s *Station) MakeJobLabel(kind string, body []byte, copies int, date time.Time) (JobLabel, error) {
	opts := s.LabelOptions(date)
	switch kind {
	case KindZPL:
		rep, err := s.CheckZPL(body, copies)
		if err != nil {
			return JobLabel{}, fieldErr(KindZPL, "%v", err)
		}
		return JobLabel{ZPL: body, Settings: rep.Allowed}, nil
	case KindPNG:
		zpl, err := labelrender.PNGToZPL(body, &labelrender.ImageOptions{Options: opts})
		if err != nil {
			return JobLabel{}, fieldErr(KindPNG, "%v", err)
		}
		return JobLabel{ZPL: zpl, PNG: body}, nil
	case KindLabel:
		l, err := labelrender.ParseLabel(body)
		if err != nil {
			var fe *labelrender.FieldError
			if errors.As(err, &fe) {
				return JobLabel{}, fieldErr(KindLabel+"."+fe.Path, "%s", fe.Rule)
			}
			return JobLabel{}, fieldErr(KindLabel, "%v", err)
		}
		zpl, err := s.RenderLabel(l, opts)
		if err != nil {
			// The spec parsed: what is left (does not fit, unsupported in
			// this output) is the label's own problem, not a passing fault.
			return JobLabel{}, fieldErr(KindLabel, "%v", err)
		}
		return JobLabel{ZPL: zpl, Label: &l, Opts: opts}, nil
	}
	return JobLabel{}, fieldErr("type", "%q: must be label, zpl or png", kind)
}

// EnqueueJobLabel enqueues l as MakeJobLabel made it: raw ZPL has no
// preview (like a carrier's ZPL), so its job goes alone; an image or a
// spec goes through EnqueueLabel, which keeps it for the preview.
func (s *Station) EnqueueJobLabel(ctx context.Context, nj queue.NewJob, l JobLabel) (queue.Job, bool, error) {
	if l.PNG == nil && l.Label == nil {
		nj.ContentType, nj.Payload = queue.ContentZPL, l.ZPL
		job, created, err := s.db.Enqueue(ctx, nj)
		if err != nil {
			return queue.Job{}, false, fmt.Errorf("station: enqueue label: %w", err)
		}
		return job, created, nil
	}
	return s.EnqueueLabel(ctx, nj, l)
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
