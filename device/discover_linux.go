package device

import (
	"fmt"

	"go.bug.st/serial/enumerator"
)

func discoverSerial() ([]SerialPort, error) {
	ports, err := enumerator.GetDetailedPortsList()
	if err != nil {
		return nil, fmt.Errorf("discover serial ports: %w", err)
	}
	out := make([]SerialPort, 0, len(ports))
	for _, p := range ports {
		out = append(out, SerialPort{Device: p.Name, IsUSB: p.IsUSB, VID: p.VID, PID: p.PID,
			SerialNumber: p.SerialNumber, Product: p.Product})
	}
	return out, nil
}
