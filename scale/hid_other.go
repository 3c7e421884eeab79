//go:build !linux

package scale

import (
	"fmt"
	"io"
)

// OpenHIDDevice is Linux-only: hidraw does not exist elsewhere.
func OpenHIDDevice(path string) (io.ReadWriteCloser, bool, error) {
	return nil, false, fmt.Errorf("open %s: %w: hidraw is Linux-only", path, ErrNotSupported)
}
