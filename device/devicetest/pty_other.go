//go:build !linux

package devicetest

import (
	"fmt"

	"github.com/packbench/packbench/device"
)

type ptyPair struct{}

func (p *ptyPair) close() {}

// OpenPTY is only built on Linux.
func (e *Emulator) OpenPTY() (string, error) {
	return "", fmt.Errorf("emulator pty: %w", device.ErrNotSupported)
}

// ClosePTY is only built on Linux.
func (e *Emulator) ClosePTY(path string) error {
	return fmt.Errorf("emulator pty: %w", device.ErrNotSupported)
}
