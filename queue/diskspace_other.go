//go:build !(linux || darwin || freebsd)

package queue

import (
	"errors"
	"fmt"
)

// statfsSpace has no statfs here: the free-space check is off
// (CheckSpace passes) and DiskSpace says so.
func statfsSpace(dir string) (Space, error) {
	return Space{}, fmt.Errorf("free space of %s: %w", dir, errors.ErrUnsupported)
}
