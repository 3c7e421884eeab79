package scale

import "errors"

// Sentinel errors. Callers test them with errors.Is; every error returned by
// this package wraps one of these or names the operation and the cause.
var (
	// ErrNotSupported: the scale or its protocol has no such command (for
	// example tare on a USB HID scale, or zero on Toledo continuous output).
	ErrNotSupported = errors.New("scale: not supported by this scale")
	// ErrNoScale: auto-detection found no scale.
	ErrNoScale = errors.New("scale: no scale found")
	// ErrNotWeight: a report or frame that is not a weight (another report
	// id, an all-zero buffer, a status-only reply); skip it and read on.
	ErrNotWeight = errors.New("scale: not a weight report")
	// ErrMalformed: bytes that break the protocol's framing or syntax.
	ErrMalformed = errors.New("scale: malformed reply")
	// ErrChecksum: a Toledo continuous frame whose checksum does not match.
	ErrChecksum = errors.New("scale: checksum mismatch")
	// ErrUnknownUnit: a unit code or name we cannot convert exactly.
	ErrUnknownUnit = errors.New("scale: unknown unit")
	// ErrOutOfRange: a weight whose milligram value does not fit an int64.
	ErrOutOfRange = errors.New("scale: weight out of range")
	// ErrTimeout: the scale did not answer or report in time (powered off,
	// unplugged, wrong line settings).
	ErrTimeout = errors.New("scale: no reply in time")
	// ErrDisconnected: the device went away (EIO from hidraw, a closed port).
	ErrDisconnected = errors.New("scale: disconnected")
	// ErrRefused: the scale answered a command with "cannot do that now"
	// (MT-SICS "Z I", NCI "?", an out-of-range zero).
	ErrRefused = errors.New("scale: command refused")
	// ErrNotConnected: a command was sent while no scale was connected.
	ErrNotConnected = errors.New("scale: not connected")
	// ErrConfig: a configuration value is missing or invalid.
	ErrConfig = errors.New("scale: invalid configuration")
)
