//go:build !linux

package device

import "fmt"

func discoverSerial() ([]SerialPort, error) {
	return nil, fmt.Errorf("discover serial ports: %w", ErrNotSupported)
}
