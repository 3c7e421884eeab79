package queue

import (
	"bytes"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/packbench/packbench/internal/textcheck"
)

// JobID identifies a job. It is the job's place in the global sequence, so
// ids sort in the order the bench accepted the jobs. Its text form is "j"
// followed by at least eight digits ("j00000042"); ParseJobID also takes
// "j42" and "42".
type JobID uint64

func (id JobID) String() string { return fmt.Sprintf("j%08d", uint64(id)) }

// MarshalText writes the text form.
func (id JobID) MarshalText() ([]byte, error) { return []byte(id.String()), nil }

// UnmarshalText reads any form ParseJobID accepts.
func (id *JobID) UnmarshalText(b []byte) error {
	v, err := ParseJobID(string(b))
	if err != nil {
		return err
	}
	*id = v
	return nil
}

// ParseJobID reads "j00000042", "j42" or "42".
func ParseJobID(s string) (JobID, error) {
	digits := strings.TrimPrefix(strings.TrimPrefix(s, "j"), "J")
	v, err := strconv.ParseUint(digits, 10, 64)
	if err != nil || v == 0 || digits == "" || digits[0] == '+' {
		return 0, invalidf("job id %q: want j followed by a positive number, like j00000042", s)
	}
	return JobID(v), nil
}

func (id JobID) key() []byte {
	var b [8]byte
	binary.BigEndian.PutUint64(b[:], uint64(id))
	return b[:]
}

func jobIDFromKey(k []byte) JobID { return JobID(binary.BigEndian.Uint64(k)) }

// State is where a job is in its life.
type State string

// The job states.
const (
	StateQueued    State = "queued"    // waiting for its printer
	StateSending   State = "sending"   // claimed by the printer worker
	StateSent      State = "sent"      // all bytes went to the printer
	StatePrinted   State = "printed"   // the printer (or an operator) confirmed it
	StateFailed    State = "failed"    // the worker gave up; an operator may retry
	StateCancelled State = "cancelled" // will not print
	StateUncertain State = "uncertain" // was sending when the bench stopped
)

// States lists every state in life order.
func States() []State {
	return []State{StateQueued, StateSending, StateSent, StatePrinted, StateFailed, StateCancelled, StateUncertain}
}

// ParseState reads a state name.
func ParseState(s string) (State, error) {
	for _, st := range States() {
		if string(st) == s {
			return st, nil
		}
	}
	return "", invalidf("state %q: want one of queued, sending, sent, printed, failed, cancelled, uncertain", s)
}

// allowed is the transition table; anything not listed is refused.
func allowed(from, to State) bool {
	switch from {
	case StateQueued:
		return to == StateSending || to == StateCancelled
	case StateSending:
		return to == StateSent || to == StatePrinted || to == StateFailed || to == StateQueued || to == StateUncertain
	case StateSent:
		return to == StatePrinted || to == StateFailed || to == StateQueued
	case StateFailed, StateUncertain:
		return to == StateQueued || to == StateCancelled || to == StatePrinted
	}
	return false // printed and cancelled are final
}

// finished states start the retention clock; uncertain does not, because
// it waits for an operator.
func finished(s State) bool {
	return s == StateSent || s == StatePrinted || s == StateFailed || s == StateCancelled
}

// Source says where a job came from.
type Source string

// The job sources.
const (
	SourceHTTP    Source = "http"
	SourceMQTT    Source = "mqtt"
	SourceFlow    Source = "flow"
	SourceRaw9100 Source = "raw9100"
	SourceWebhook Source = "webhook"
	SourceAPI     Source = "api" // POST /api/v1/print
)

// Payload content types.
const (
	ContentLabelSpec = "application/json" // a label spec for labelrender
	ContentZPL       = "application/zpl"  // finished ZPL
	ContentPNG       = "image/png"        // a finished label image
)

// Limits on job fields.
const (
	DefaultMaxPayload = 4 << 20
	MaxKeyLen         = 256
	MaxPrinterLen     = 128
	MaxRefLen         = 256
	MaxOriginLen      = 256
	MaxCopies         = 1000
	maxReasonLen      = 1024
)

// NewJob is what a producer hands to Enqueue.
type NewJob struct {
	// Key is the idempotency key (package reference, cloud job id, webhook
	// id). Required: callers without one generate one.
	Key         string
	Source      Source
	Printer     string // target printer name
	ContentType string // ContentLabelSpec, ContentZPL or ContentPNG
	Payload     []byte
	Copies      int    // 0 means 1
	Ref         string // optional caller reference (order, package)
	// Origin is where within its source the job came from, when the
	// source has such a thing: a raw 9100 job's sender address
	// ("192.0.2.7:50312"). Optional; at most MaxOriginLen bytes of text.
	Origin string
}

// Job is a job as stored. Payload is filled by Job, Claim and Enqueue and
// left nil by List (PayloadSize is always set).
type Job struct {
	ID          JobID  `json:"id"`
	Key         string `json:"key"`
	Source      Source `json:"source"`
	Printer     string `json:"printer"`
	ContentType string `json:"content_type"`
	Payload     []byte `json:"-"`
	PayloadSize int    `json:"payload_size"`
	Copies      int    `json:"copies"`
	// CopiesSent is how many copies of a multi-copy job the printer worker
	// wrote (CopySent), so a restart or a Retry never prints one twice.
	CopiesSent int `json:"copies_sent,omitempty"`
	// Unsent is how a packbench before the marks log recorded a claim not
	// yet transmitted (ClaimUnsent without Transmitting). Open still puts
	// a job found in sending with Unsent back in its queue; this version
	// sets Claim instead.
	Unsent bool `json:"unsent,omitempty"`
	// Claim numbers the current claim of a job taken with ClaimUnsent.
	// While it is set, the job found in sending at Open never reached the
	// printer unless the marks log holds its write-ahead mark (Transmitting,
	// marks.go), so Open puts it back in its queue instead of making it
	// uncertain. It is a field an older packbench does not know, and for
	// that one a job in sending is uncertain: after a rollback no label
	// is ever reprinted. Any state change ends the claim (clears it).
	Claim      uint64       `json:"claim,omitempty"`
	Ref        string       `json:"ref,omitempty"`
	Origin     string       `json:"origin,omitempty"` // see NewJob.Origin
	State      State        `json:"state"`
	Attempts   int          `json:"attempts"` // claims since Enqueue or the last Retry
	LastError  string       `json:"last_error,omitempty"`
	CreatedAt  time.Time    `json:"created_at"`
	UpdatedAt  time.Time    `json:"updated_at"`
	FinishedAt time.Time    `json:"finished_at,omitzero"` // set in sent, printed, failed, cancelled
	History    []Transition `json:"history"`
}

// Transition is one entry of a job's append-only history.
type Transition struct {
	From    State     `json:"from,omitempty"` // empty for the first entry
	To      State     `json:"to"`
	At      time.Time `json:"at"`
	Reason  string    `json:"reason,omitempty"`
	EventID uint64    `json:"event_id"` // the outbox event written with it
}

// validName checks a job's text fields with the rules of
// internal/textcheck: the key and the ref are text (a client's idempotency
// key may hold any printable character), the printer is an id (it names a
// URL path segment and a spool folder).
func validName(field, s string, maxLen int, id bool) error {
	if s == "" {
		return invalidf("%s: must not be empty", field)
	}
	check := textcheck.Text
	if id {
		check = textcheck.ID
	}
	if err := check(s, maxLen); err != nil {
		return invalidf("%s: %v", field, err)
	}
	return nil
}

// validate checks nj and fills defaults.
func (nj *NewJob) validate(maxPayload int) error {
	if err := validName("key", nj.Key, MaxKeyLen, false); err != nil {
		return err
	}
	switch nj.Source {
	case SourceHTTP, SourceMQTT, SourceFlow, SourceRaw9100, SourceWebhook, SourceAPI:
	default:
		return invalidf("source %q: want one of http, mqtt, flow, raw9100, webhook, api", nj.Source)
	}
	if err := validName("printer", nj.Printer, MaxPrinterLen, true); err != nil {
		return err
	}
	switch nj.ContentType {
	case ContentLabelSpec, ContentZPL, ContentPNG:
	default:
		return invalidf("content type %q: want application/json, application/zpl or image/png", nj.ContentType)
	}
	if len(nj.Payload) == 0 {
		return invalidf("payload: must not be empty")
	}
	if len(nj.Payload) > maxPayload {
		return fmt.Errorf("%w: payload is %d bytes, at most %d allowed", ErrPayloadTooLarge, len(nj.Payload), maxPayload)
	}
	switch nj.ContentType {
	case ContentLabelSpec:
		if !json.Valid(nj.Payload) {
			return invalidf("payload: not valid JSON, as application/json requires")
		}
	case ContentPNG:
		if !bytes.HasPrefix(nj.Payload, []byte("\x89PNG\r\n\x1a\n")) {
			return invalidf("payload: not a PNG (no PNG signature), as image/png requires")
		}
	}
	if nj.Copies == 0 {
		nj.Copies = 1
	}
	if nj.Copies < 1 || nj.Copies > MaxCopies {
		return invalidf("copies: %d, want 1 to %d", nj.Copies, MaxCopies)
	}
	if nj.Ref != "" {
		if err := validName("ref", nj.Ref, MaxRefLen, false); err != nil {
			return err
		}
	}
	if nj.Origin != "" {
		if err := validName("origin", nj.Origin, MaxOriginLen, false); err != nil {
			return err
		}
	}
	return nil
}

func clipReason(s string) string {
	if len(s) <= maxReasonLen {
		return s
	}
	s = s[:maxReasonLen]
	for !utf8.ValidString(s) {
		s = s[:len(s)-1]
	}
	return s
}
