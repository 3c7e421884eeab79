//go:build linux

package devicetest

import (
	"fmt"
	"os"

	"github.com/creack/pty"
	"golang.org/x/sys/unix"
)

type ptyPair struct {
	master, slave *os.File
}

func (p *ptyPair) close() {
	p.master.Close()
	p.slave.Close()
}

// OpenPTY serves the emulator on a new pty and returns the path of its
// slave end (/dev/pts/N), which a serial printer config opens like
// /dev/ttyUSB0. A pty ignores baud and parity; the line settings are still
// applied by the serial driver.
func (e *Emulator) OpenPTY() (string, error) {
	master, slave, err := pty.Open()
	if err != nil {
		return "", fmt.Errorf("emulator pty: %w", err)
	}
	// Raw mode before anyone writes, so replies are not echoed or mangled.
	makeRaw(slave)
	p := &ptyPair{master: master, slave: slave}
	e.mu.Lock()
	if e.closed {
		e.mu.Unlock()
		p.close()
		return "", fmt.Errorf("emulator pty: closed")
	}
	e.ptys = append(e.ptys, p)
	e.mu.Unlock()
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		// The emulator keeps the slave open, so a printer closing and
		// reopening the port does not end the master's stream.
		e.serve(master, master)
	}()
	return slave.Name(), nil
}

// ClosePTY closes the pty whose slave is path, as unplugging a USB-serial
// adapter or a USB printer would: the printer's open descriptor fails.
func (e *Emulator) ClosePTY(path string) error {
	e.mu.Lock()
	var found *ptyPair
	kept := e.ptys[:0]
	for _, p := range e.ptys {
		if p.slave.Name() == path && found == nil {
			found = p
			continue
		}
		kept = append(kept, p)
	}
	e.ptys = kept
	e.mu.Unlock()
	if found == nil {
		return fmt.Errorf("emulator: no pty %s", path)
	}
	found.close()
	return nil
}

// makeRaw puts a pty's line in raw mode: bytes pass unchanged, nothing is
// echoed.
func makeRaw(slave *os.File) {
	if tio, err := unix.IoctlGetTermios(int(slave.Fd()), unix.TCGETS); err == nil {
		tio.Iflag &^= unix.IGNBRK | unix.BRKINT | unix.PARMRK | unix.ISTRIP | unix.INLCR | unix.IGNCR | unix.ICRNL | unix.IXON
		tio.Oflag &^= unix.OPOST
		tio.Lflag &^= unix.ECHO | unix.ECHONL | unix.ICANON | unix.ISIG | unix.IEXTEN
		tio.Cflag &^= unix.CSIZE | unix.PARENB
		tio.Cflag |= unix.CS8
		_ = unix.IoctlSetTermios(int(slave.Fd()), unix.TCSETS, tio)
	}
}
