//go:build !linux

package device

import (
	"fmt"
	"io"
)

// openInput: Linux input devices exist only on Linux.
func openInput(path string) (io.ReadCloser, bool, error) {
	return nil, false, fmt.Errorf("open %s: %w", path, ErrNotSupported)
}
