package device

import "errors"

// Sentinel errors. Callers test them with errors.Is; every error returned by
// this package wraps one of these or names the operation that failed.
var (
	// ErrNoReply: the printer did not answer ~HS within the status timeout.
	// Zebra printers stay silent while in media out, ribbon out, head open,
	// rewinder full or head over-temperature, so this is an error state of
	// the printer, never "ok".
	ErrNoReply = errors.New("device: printer did not answer status request")
	// ErrOffline: the printer could not be reached (connect or open failed).
	ErrOffline = errors.New("device: printer unreachable")
	// ErrNoStatus: the transport cannot report status at all (spool folder,
	// or a printer configured with status off).
	ErrNoStatus = errors.New("device: printer cannot report status")
	// ErrMalformedStatus: a status reply did not follow the ~HS/~HQES format.
	ErrMalformedStatus = errors.New("device: malformed status reply")
	// ErrClosed: the printer or worker was closed.
	ErrClosed = errors.New("device: closed")
	// ErrConfig: a printer, serial or GPIO setting is invalid.
	ErrConfig = errors.New("device: invalid config")
	// ErrNotSupported: the feature does not exist on this operating system.
	ErrNotSupported = errors.New("device: not supported on this system")
	// ErrNoGPIO: no GPIO chip or no pin of that name on this machine.
	ErrNoGPIO = errors.New("device: GPIO not available")
	// ErrScanTooLong: a scanner sent more than its max_length before the
	// end of a scan; the whole scan is dropped, never cut into a code.
	ErrScanTooLong = errors.New("device: scan too long")
	// ErrScanIncomplete: a scan lost characters (the device went away mid
	// scan, the kernel dropped events, bytes that are not UTF-8) and was
	// dropped.
	ErrScanIncomplete = errors.New("device: scan incomplete")
	// ErrEmpty may be returned by a JobSource's Next when it has no job and
	// does not block; the worker then waits and asks again.
	ErrEmpty = errors.New("device: no job")
)

// permanentError marks a send failure that retrying cannot fix (the job is
// moved to failed with the reason).
type permanentError struct{ err error }

func (e *permanentError) Error() string { return e.err.Error() }
func (e *permanentError) Unwrap() error { return e.err }

// Permanent wraps err so the worker fails the job instead of retrying.
func Permanent(err error) error {
	if err == nil {
		return nil
	}
	return &permanentError{err}
}

// IsPermanent reports whether err (or one it wraps) was marked Permanent.
func IsPermanent(err error) bool {
	var p *permanentError
	return errors.As(err, &p)
}
