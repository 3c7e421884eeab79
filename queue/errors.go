package queue

import (
	"errors"
	"fmt"
)

// Errors returned by this package; test with errors.Is.
var (
	// ErrLocked: another process holds the data file (probably packbenchd).
	ErrLocked = errors.New("data file is locked by another process")
	// ErrClosed: the DB was closed.
	ErrClosed = errors.New("queue is closed")
	// ErrBroken: the DB broke for good (see DB.Fatal); restart the process.
	ErrBroken = errors.New("queue is broken")
	// ErrEmpty: Claim found no queued job for the printer.
	ErrEmpty = errors.New("no queued job")
	// ErrNotFound: no job, record or consumer with that id or key.
	ErrNotFound = errors.New("not found")
	// ErrInvalid: an argument broke a rule; the message names the field.
	ErrInvalid = errors.New("invalid")
	// ErrPayloadTooLarge: the payload is larger than Options.MaxPayload.
	ErrPayloadTooLarge = errors.New("payload too large")
	// ErrInvalidTransition: the job's state does not allow the change;
	// the error is a *TransitionError naming both states.
	ErrInvalidTransition = errors.New("invalid state transition")
	// ErrDiskFull: the data file's filesystem is under its free-space
	// floor (Options.MinFree), so new work is refused; the error is a
	// *DiskFullError saying how much is free.
	ErrDiskFull = errors.New("disk full")
	// ErrSchemaTooNew: the file was written by a newer packbench.
	ErrSchemaTooNew = errors.New("data file schema is newer than this program")
)

// TransitionError is returned when a job cannot move from its current state
// to the one asked for.
type TransitionError struct {
	ID       JobID
	From, To State
	Hint     string // what to do instead, if anything
}

func (e *TransitionError) Error() string {
	msg := fmt.Sprintf("job %s: cannot go from %s to %s", e.ID, e.From, e.To)
	if e.Hint != "" {
		msg += " (" + e.Hint + ")"
	}
	return msg
}

// Is makes errors.Is(err, ErrInvalidTransition) true.
func (e *TransitionError) Is(target error) bool { return target == ErrInvalidTransition }

func invalidf(format string, args ...any) error {
	return fmt.Errorf("%w: %s", ErrInvalid, fmt.Sprintf(format, args...))
}
