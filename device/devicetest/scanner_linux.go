package devicetest

import (
	"context"
	"errors"
	"fmt"
	"os"
	"sync"
	"syscall"
	"time"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"

	"github.com/packbench/packbench/device"
)

// KeyboardScanner emulates a USB barcode scanner in keyboard mode behind a
// stable path, as /dev/input/by-id/...-event-kbd is: a FIFO carrying the
// input_event bytes the kernel would deliver. Unplug removes the FIFO
// (the reader sees EOF once it has read what was sent, as it sees ENODEV
// from a real device), Plug brings it back at the same path.
type KeyboardScanner struct {
	path   string
	layout device.EventLayout
	keymap *device.Keymap
	start  time.Time

	mu    sync.Mutex
	f     *os.File // nil while unplugged; the pty's master for a pty
	slave *os.File // a pty's slave, held so the pty lives; nil for a FIFO
}

// NewKeyboardScanner creates the FIFO at path, plugged in, sending
// events in layout for a scanner set to keyboard layout kbd (us, uk, de,
// fr).
func NewKeyboardScanner(path string, layout device.EventLayout, kbd string) (*KeyboardScanner, error) {
	m, err := device.NewKeymap(kbd)
	if err != nil {
		return nil, err
	}
	k := &KeyboardScanner{path: path, layout: layout, keymap: m, start: time.Unix(1_790_000_000, 0)}
	if err := k.Plug(); err != nil {
		return nil, err
	}
	return k, nil
}

// NewKeyboardScannerPTY is the same scanner behind a pty in raw mode: a
// character device that is not an input device (the reader's grab is
// refused with ENOTTY and it reads on). It cannot be unplugged.
func NewKeyboardScannerPTY(layout device.EventLayout, kbd string) (*KeyboardScanner, error) {
	m, err := device.NewKeymap(kbd)
	if err != nil {
		return nil, err
	}
	master, slave, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("keyboard scanner pty: %w", err)
	}
	makeRaw(slave)
	return &KeyboardScanner{path: slave.Name(), layout: layout, keymap: m, start: time.Unix(1_790_000_000, 0), f: master, slave: slave}, nil
}

// Path is where a scanner config points.
func (k *KeyboardScanner) Path() string { return k.path }

// Plug creates the FIFO and holds it open read-write, so what is typed
// waits in the pipe until the reader opens it and the reader never sees
// EOF while the scanner is plugged in.
func (k *KeyboardScanner) Plug() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.f != nil || k.slave != nil {
		return errors.New("keyboard scanner: already plugged in")
	}
	if err := unix.Mkfifo(k.path, 0o600); err != nil && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("keyboard scanner: mkfifo %s: %w", k.path, err)
	}
	f, err := os.OpenFile(k.path, os.O_RDWR, 0)
	if err != nil {
		return fmt.Errorf("keyboard scanner: open %s: %w", k.path, err)
	}
	k.f = f
	return nil
}

// Unplug removes the FIFO and closes the emulator's end (a pty: closes
// it, for good).
func (k *KeyboardScanner) Unplug() error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.slave != nil {
		k.f.Close()
		k.slave.Close()
		k.f, k.slave = nil, nil
		return nil
	}
	if k.f == nil {
		return errors.New("keyboard scanner: not plugged in")
	}
	err := os.Remove(k.path)
	k.f.Close()
	k.f = nil
	return err
}

// Close unplugs the scanner if it is plugged in.
func (k *KeyboardScanner) Close() {
	k.mu.Lock()
	plugged := k.f != nil
	k.mu.Unlock()
	if plugged {
		k.Unplug()
	}
}

// Events returns the bytes the scanner sends for text (see ScanEvents).
func (k *KeyboardScanner) Events(text string) ([]byte, error) {
	return ScanEvents(k.layout, k.keymap, text, k.start)
}

// Scan types code followed by Enter in one write.
func (k *KeyboardScanner) Scan(code string) error {
	b, err := k.Events(code + "\n")
	if err != nil {
		return err
	}
	return k.Write(b)
}

// Write sends raw bytes (a recorded stream) in one write.
func (k *KeyboardScanner) Write(b []byte) error {
	k.mu.Lock()
	defer k.mu.Unlock()
	if k.f == nil {
		return errors.New("keyboard scanner: unplugged")
	}
	_, err := k.f.Write(b)
	return err
}

// WriteSplit sends b in pieces cut at the offsets in at, waiting after
// each piece until the reader has taken it from the pipe, so the reader
// is certain to see each piece in a read of its own: a partial event, if
// an offset falls inside one.
func (k *KeyboardScanner) WriteSplit(ctx context.Context, b []byte, at ...int) error {
	prev := 0
	for _, cut := range append(at, len(b)) {
		if err := k.Write(b[prev:cut]); err != nil {
			return err
		}
		prev = cut
		if err := k.waitDrained(ctx); err != nil {
			return err
		}
	}
	return nil
}

// waitDrained polls the pipe's unread byte count until the reader has
// taken everything.
func (k *KeyboardScanner) waitDrained(ctx context.Context) error {
	for {
		k.mu.Lock()
		n := -1
		var err error
		if k.f != nil {
			// Through SyscallConn: Fd would switch the pipe to blocking.
			var rc syscall.RawConn
			if rc, err = k.f.SyscallConn(); err == nil {
				cerr := rc.Control(func(fd uintptr) { n, err = unix.IoctlGetInt(int(fd), unix.TIOCINQ) }) // FIONREAD
				err = errors.Join(err, cerr)
			}
		}
		k.mu.Unlock()
		if err != nil {
			return fmt.Errorf("keyboard scanner: FIONREAD: %w", err)
		}
		if n == 0 {
			return nil
		}
		if n < 0 {
			return errors.New("keyboard scanner: unplugged")
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("keyboard scanner: reader left %d bytes unread: %w", n, ctx.Err())
		case <-time.After(time.Millisecond):
		}
	}
}

// SerialScanner emulates a serial barcode scanner (USB CDC-ACM or RS-232)
// on a pty: each scan is one line.
type SerialScanner struct {
	master, slave *os.File
}

// NewSerialScanner opens a pty; Path is the port a scanner config names.
func NewSerialScanner() (*SerialScanner, error) {
	master, slave, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("serial scanner pty: %w", err)
	}
	return &SerialScanner{master: master, slave: slave}, nil
}

// Path is the pty's slave (/dev/pts/N).
func (s *SerialScanner) Path() string { return s.slave.Name() }

// Send writes raw bytes: a line is code + "\r\n" (or "\r", "\n").
func (s *SerialScanner) Send(b string) error {
	_, err := s.master.Write([]byte(b))
	return err
}

// Close closes the pty, as unplugging a USB-serial scanner does: the
// reader's descriptor fails.
func (s *SerialScanner) Close() {
	s.master.Close()
	s.slave.Close()
}
