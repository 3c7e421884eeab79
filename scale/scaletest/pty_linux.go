package scaletest

import (
	"fmt"
	"os"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

// Pty is a pty pair standing in for a serial cable: the emulator serves
// Master, the driver opens TTYPath by name like any serial port.
type Pty struct {
	Master  *os.File
	TTYPath string
	tty     *os.File // held open so the master never sees a hang-up between driver connections
}

// OpenPty opens a pty pair with the tty side in raw mode (no echo, no CR/LF
// translation), so bytes pass exactly as on a serial line.
func OpenPty() (*Pty, error) {
	m, t, err := pty.Open()
	if err != nil {
		return nil, fmt.Errorf("open pty: %w", err)
	}
	tio, err := unix.IoctlGetTermios(int(t.Fd()), unix.TCGETS)
	if err != nil {
		m.Close()
		t.Close()
		return nil, fmt.Errorf("pty termios: %w", err)
	}
	tio.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
	tio.Oflag &^= unix.OPOST
	tio.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
	tio.Cflag &^= unix.CSIZE | unix.PARENB
	tio.Cflag |= unix.CS8
	if err := unix.IoctlSetTermios(int(t.Fd()), unix.TCSETS, tio); err != nil {
		m.Close()
		t.Close()
		return nil, fmt.Errorf("pty raw mode: %w", err)
	}
	return &Pty{Master: m, TTYPath: t.Name(), tty: t}, nil
}

// Close closes both sides.
func (p *Pty) Close() error {
	p.tty.Close()
	return p.Master.Close()
}
