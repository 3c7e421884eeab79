//go:build !linux

package device

import "fmt"

func hostInit() error { return fmt.Errorf("%w: GPIO is Linux-only", ErrNotSupported) }
