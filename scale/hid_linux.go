package scale

import (
	"errors"
	"io"
	"os"
)

// OpenHIDDevice opens a hidraw node read-write (for the zero report) or,
// when that is refused, read-only. The file is non-blocking under Go's
// poller, so Close unblocks a pending read.
func OpenHIDDevice(path string) (io.ReadWriteCloser, bool, error) {
	f, err := os.OpenFile(path, os.O_RDWR, 0)
	if err == nil {
		return f, true, nil
	}
	if !errors.Is(err, os.ErrPermission) {
		return nil, false, err
	}
	f, err = os.OpenFile(path, os.O_RDONLY, 0)
	if err != nil {
		return nil, false, err
	}
	return f, false, nil
}
