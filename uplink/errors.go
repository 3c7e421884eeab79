package uplink

import "errors"

// Errors callers can test for with errors.Is.
var (
	// ErrConfig: the [mqtt] section is invalid; the message names the field.
	ErrConfig = errors.New("invalid mqtt config")
	// ErrInvalidPush: a jobs/push payload broke a rule (see *PushError).
	// An Intake returns an error wrapping it (or a *PushError) to have the
	// push acknowledged and answered with a push.rejected event instead of
	// being redelivered.
	ErrInvalidPush = errors.New("invalid push")
	// ErrUntrusted: the broker's certificate is not signed by the CA in
	// ca_file.
	ErrUntrusted = errors.New("broker certificate not trusted")
	// ErrNotConnected: the operation needs a live broker connection.
	ErrNotConnected = errors.New("not connected to the broker")
	// ErrTimeout: the broker did not answer in time.
	ErrTimeout = errors.New("broker did not answer in time")
	// ErrUnknownVerb: cmd/<verb> names no command this bench knows.
	ErrUnknownVerb = errors.New("unknown command verb")
)

// PushError says which field of a push broke which rule. It wraps
// ErrInvalidPush.
type PushError struct {
	Field string // JSON path, e.g. "copies" or "label.fields[2].text"
	Rule  string // e.g. "must be between 1 and 1000"
}

func (e *PushError) Error() string { return "push: " + e.Field + ": " + e.Rule }

// Unwrap makes errors.Is(err, ErrInvalidPush) true.
func (e *PushError) Unwrap() error { return ErrInvalidPush }
