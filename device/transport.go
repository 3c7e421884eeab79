package device

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"syscall"
	"time"

	"go.bug.st/serial"
)

func dialTCP(cfg PrinterConfig) dialFunc {
	return func(ctx context.Context) (link, error) {
		d := net.Dialer{Timeout: time.Duration(cfg.DialTimeout), KeepAlive: 15 * time.Second}
		c, err := d.DialContext(ctx, "tcp", cfg.Address)
		if err != nil {
			return nil, err
		}
		return c, nil
	}
}

// dialUSB opens the usblp node read-write: jobs go out and ~HS replies come
// back on the same node. With Match set, the node is looked up again on every
// dial, because a replugged printer may come back as another lpN.
func dialUSB(cfg PrinterConfig) dialFunc {
	return func(ctx context.Context) (link, error) {
		dev := cfg.Device
		if dev == "" {
			found, err := findUSBPrinter(cfg.Sysfs, cfg.USBDevDir, cfg.Match)
			if err != nil {
				return nil, err
			}
			dev = found.Device
		}
		f, err := os.OpenFile(dev, os.O_RDWR, 0)
		if err != nil {
			return nil, err
		}
		return f, nil
	}
}

// isReadless reports whether a read error means the device has no back
// channel (a unidirectional USB printer), rather than a lost connection.
func isReadless(err error) bool {
	return errors.Is(err, syscall.EINVAL) || errors.Is(err, syscall.EOPNOTSUPP)
}

// serialMode converts the validated line settings.
func serialMode(s SerialConfig) *serial.Mode {
	m := &serial.Mode{BaudRate: s.Baud, DataBits: s.DataBits}
	switch s.Parity {
	case "odd":
		m.Parity = serial.OddParity
	case "even":
		m.Parity = serial.EvenParity
	case "mark":
		m.Parity = serial.MarkParity
	case "space":
		m.Parity = serial.SpaceParity
	default:
		m.Parity = serial.NoParity
	}
	switch s.StopBits {
	case "1.5":
		m.StopBits = serial.OnePointFiveStopBits
	case "2":
		m.StopBits = serial.TwoStopBits
	default:
		m.StopBits = serial.OneStopBit
	}
	return m
}

func dialSerial(cfg PrinterConfig) dialFunc {
	return func(ctx context.Context) (link, error) {
		return openSerial(cfg.Device, cfg.Serial)
	}
}

// openSerial opens a serial port with the line settings. go.bug.st/serial
// v1.8.0 has no flow-control setting and switches RTS/CTS off on open, so
// flow control is applied afterwards through a second descriptor opened
// before the port (the port takes exclusive access). Bytes go through a
// third descriptor, also opened before the port, that Go's poller watches:
// the port's own write blocks in the kernel while flow control holds the
// line and neither a deadline nor Close can cut it.
func openSerial(dev string, s SerialConfig) (link, error) {
	var fc flowSetter
	if s.FlowControl != "none" {
		var err error
		if fc, err = openFlowSetter(dev); err != nil {
			return nil, fmt.Errorf("serial %s flow control %s: %w", dev, s.FlowControl, err)
		}
		defer fc.Close()
	}
	fio, err := openSerialIO(dev)
	if err != nil {
		return nil, fmt.Errorf("open serial %s: %w", dev, err)
	}
	port, err := serial.Open(dev, serialMode(s))
	if err != nil {
		if fio != nil {
			fio.Close()
		}
		return nil, fmt.Errorf("open serial %s: %w", dev, err)
	}
	l := serialLink{Port: port, f: fio}
	if fc != nil {
		if err := fc.set(s.FlowControl); err != nil {
			l.Close()
			return nil, fmt.Errorf("serial %s flow control %s: %w", dev, s.FlowControl, err)
		}
	}
	return l, nil
}

// serialLink reads and writes through f (pollable: deadlines and Close cut
// a blocked call) when the system gives one, else through the port. It
// turns the port's "0 bytes, no error" on a read timeout into EOF semantics
// the reader understands; with no timeout set it never happens.
type serialLink struct {
	serial.Port
	f *os.File
}

func (s serialLink) Read(b []byte) (int, error) {
	if s.f != nil {
		return s.f.Read(b)
	}
	for {
		n, err := s.Port.Read(b)
		if n == 0 && err == nil {
			continue
		}
		return n, err
	}
}

func (s serialLink) Write(b []byte) (int, error) {
	if s.f != nil {
		return s.f.Write(b)
	}
	return s.Port.Write(b)
}

// SetWriteDeadline bounds a write through f.
func (s serialLink) SetWriteDeadline(t time.Time) error {
	if s.f == nil {
		return os.ErrNoDeadline
	}
	return s.f.SetWriteDeadline(t)
}

func (s serialLink) Close() error {
	if s.f != nil {
		s.f.Close()
	}
	return s.Port.Close()
}

type flowSetter interface {
	set(mode string) error
	Close() error
}
