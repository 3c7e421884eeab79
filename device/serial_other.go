//go:build !linux

package device

import "os"

// openSerialIO: elsewhere the port's own descriptor carries the bytes.
func openSerialIO(dev string) (*os.File, error) { return nil, nil }

func openFlowSetter(dev string) (flowSetter, error) {
	return nil, ErrNotSupported
}

func flowControlOf(dev string) (string, error) { return "", ErrNotSupported }
