package uplink

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"unicode/utf8"

	"github.com/packbench/packbench/internal/strictjson"
	"github.com/packbench/packbench/queue"
)

// Push job types.
const (
	PushLabel = "label" // a label spec, rendered on the bench
	PushZPL   = "zpl"   // raw ZPL, through the passthrough check
	PushPNG   = "png"   // a label image, converted to ZPL
	PushOrder = "order" // an order that waits for its weight (hands-free flow)
)

// Limits of a push.
const (
	MaxPushIDLen = 200
	MaxCopies    = queue.MaxCopies
)

// Bounds of what a push puts into logs and events (see short and reject).
const (
	shortLen    = 32  // the prefix short keeps of a longer text
	shortMax    = 64  // texts up to this length are kept whole
	maxFieldLen = 256 // a field path in a push.rejected event
	maxRuleLen  = 900 // a rule or reason in a push.rejected event
)

// short is how an id or a text received from outside appears in logs
// and rejection events when it may be long: whole up to 64 bytes, else its
// first 32 bytes and its size ("abc…(5242880 bytes)"), so a 5 MB id costs
// a log line of a few dozen bytes.
func short(s string) string {
	if len(s) <= shortMax {
		return s
	}
	return clip(s, shortLen)
}

// PushJob is one job received on jobs/push or from the pool. On the wire:
//
//	{"id":"<idempotency key>","type":"label|zpl|png|order","label":{…},
//	 "zpl":"…","png":"<base64>","order":{…},"copies":1,"printer":"…"}
//
// Exactly the body field named by type is set.
type PushJob struct {
	ID      string          `json:"id"`
	Type    string          `json:"type"`
	Label   json.RawMessage `json:"label,omitempty"`
	ZPL     string          `json:"zpl,omitempty"`
	PNG     []byte          `json:"png,omitempty"` // base64 in JSON
	Order   json.RawMessage `json:"order,omitempty"`
	Copies  int             `json:"copies,omitempty"` // 0 means 1
	Printer string          `json:"printer,omitempty"`

	// Pool is set when the job came from the fleet pool (not on the wire).
	Pool bool `json:"-"`
}

// Key is the queue idempotency key for the job: "mqtt:" + ID. Intakes use
// it as queue.NewJob.Key so a redelivered or re-pushed job is one job.
func (j PushJob) Key() string { return "mqtt:" + j.ID }

// PushResult is what an Intake did with a job.
type PushResult struct {
	// Job is the queue job id, or for an order the order's reference.
	Job string `json:"job"`
	// Created is false when the id was already known (a duplicate).
	Created bool `json:"created"`
}

// Intake takes pushed jobs into the bench. Push returns only once the job
// is committed to the data file; the push is acknowledged to the broker
// after that. An error wrapping ErrInvalidPush (e.g. a *PushError),
// queue.ErrInvalid or queue.ErrPayloadTooLarge rejects the push for good:
// it is acknowledged and answered with a push.rejected event. Any other
// error leaves it unacknowledged, so the broker redelivers it.
type Intake interface {
	Push(ctx context.Context, job PushJob) (PushResult, error)
}

var pngMagic = []byte("\x89PNG\r\n\x1a\n")

// DecodePush decodes and checks a push payload strictly: unknown fields,
// trailing data, a body that does not match the type or a field out of
// range is a *PushError naming the field. The job is returned even on
// error, with whatever ID could be read, so the rejection can name it.
func DecodePush(payload []byte) (PushJob, error) {
	var j PushJob
	if err := strictjson.Decode(payload, &j, nil); err != nil {
		// Salvage the id for the rejection event.
		var idOnly struct {
			ID string `json:"id"`
		}
		if json.Unmarshal(payload, &idOnly) == nil {
			j = PushJob{ID: idOnly.ID}
		} else {
			j = PushJob{}
		}
		return j, jsonPushError(err)
	}
	return j, j.Validate()
}

// jsonPushError turns the strict decoder's refusals into PushErrors naming
// the member's path; "$" is the whole payload.
func jsonPushError(err error) *PushError {
	var e *strictjson.Error
	if !errors.As(err, &e) {
		return &PushError{Field: "$", Rule: err.Error()}
	}
	return &PushError{Field: e.Field("$"), Rule: e.Rule()}
}

// Validate checks the fields of a decoded job.
func (j PushJob) Validate() error {
	if err := validID(j.ID); err != nil {
		return err
	}
	switch {
	case j.Copies < 0 || j.Copies > MaxCopies:
		return &PushError{Field: "copies", Rule: fmt.Sprintf("%d: must be between 1 and %d (0 means 1)", j.Copies, MaxCopies)}
	case len(j.Printer) > queue.MaxPrinterLen || !printable(j.Printer):
		return &PushError{Field: "printer", Rule: fmt.Sprintf("must be printable and at most %d bytes", queue.MaxPrinterLen)}
	}
	set := map[string]bool{PushLabel: len(j.Label) > 0, PushZPL: j.ZPL != "", PushPNG: len(j.PNG) > 0, PushOrder: len(j.Order) > 0}
	if _, ok := set[j.Type]; !ok {
		return &PushError{Field: "type", Rule: fmt.Sprintf("%q: must be label, zpl, png or order", j.Type)}
	}
	if !set[j.Type] {
		return &PushError{Field: j.Type, Rule: fmt.Sprintf("required for type %q", j.Type)}
	}
	for _, other := range []string{PushLabel, PushZPL, PushPNG, PushOrder} {
		if other != j.Type && set[other] {
			return &PushError{Field: other, Rule: fmt.Sprintf("not allowed with type %q (one body per job)", j.Type)}
		}
	}
	switch j.Type {
	case PushLabel:
		if !isObject(j.Label) {
			return &PushError{Field: "label", Rule: "must be a JSON object (a label spec)"}
		}
	case PushOrder:
		if !isObject(j.Order) {
			return &PushError{Field: "order", Rule: "must be a JSON object"}
		}
	case PushPNG:
		if !bytes.HasPrefix(j.PNG, pngMagic) {
			return &PushError{Field: "png", Rule: "not a PNG image (bad signature)"}
		}
	case PushZPL:
		if !utf8.ValidString(j.ZPL) {
			return &PushError{Field: "zpl", Rule: "must be valid UTF-8"}
		}
	}
	return nil
}

// validID checks a push id: it is the job's idempotency key, so it is
// required, bounded and printable.
func validID(id string) error {
	switch {
	case id == "":
		return &PushError{Field: "id", Rule: "required (the job's idempotency key)"}
	case len(id) > MaxPushIDLen:
		return &PushError{Field: "id", Rule: fmt.Sprintf("%d bytes: at most %d", len(id), MaxPushIDLen)}
	case !printable(id):
		return &PushError{Field: "id", Rule: "must be printable UTF-8 without control characters"}
	}
	return nil
}

func isObject(raw json.RawMessage) bool {
	t := bytes.TrimSpace(raw)
	return len(t) > 0 && t[0] == '{'
}

func printable(s string) bool {
	if !utf8.ValidString(s) {
		return false
	}
	for _, r := range s {
		if r < 0x20 || r == 0x7f {
			return false
		}
	}
	return true
}

// rejection reports whether err rejects a push for good.
func rejection(err error) bool {
	return errors.Is(err, ErrInvalidPush) || errors.Is(err, queue.ErrInvalid) || errors.Is(err, queue.ErrPayloadTooLarge)
}

// EventPushRejected is the outbox event type for a rejected push. Its Data:
// {"push_id","field","rule","topic"}.
const EventPushRejected = "push.rejected"

// RejectedData is the Data of a push.rejected event.
type RejectedData struct {
	PushID string `json:"push_id"`
	Field  string `json:"field,omitempty"`
	Rule   string `json:"rule"`
	Topic  string `json:"topic"`
}
