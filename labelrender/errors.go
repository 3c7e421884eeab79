package labelrender

import "errors"

// Errors callers can test with errors.Is. Every error returned by this
// package wraps one of them.
var (
	// ErrInvalidLabel: the label spec breaks a rule; the error is a
	// *FieldError naming the field.
	ErrInvalidLabel = errors.New("labelrender: invalid label")
	// ErrInvalidOptions: DPI or size out of range.
	ErrInvalidOptions = errors.New("labelrender: invalid options")
	// ErrNoRoom: the content does not fit the configured label size.
	ErrNoRoom = errors.New("labelrender: does not fit the label")
	// ErrUnsupported: the output form cannot carry what the label asks for
	// (MaxiCode exists only in native ZPL).
	ErrUnsupported = errors.New("labelrender: unsupported in this output")
	// ErrRefused: CheckZPL refused a document; the error is a *ZPLError.
	ErrRefused = errors.New("labelrender: ZPL refused")
	// ErrBadGraphic: a ^GF payload or an image that cannot be decoded.
	ErrBadGraphic = errors.New("labelrender: bad graphic")
)
