package device

import (
	"os"

	"golang.org/x/sys/unix"
)

type ttyFlow struct{ fd int }

func openFlowSetter(dev string) (flowSetter, error) {
	fd, err := unix.Open(dev, unix.O_RDWR|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return nil, err
	}
	return ttyFlow{fd}, nil
}

// set changes the line's termios, which the port's descriptor shares.
func (t ttyFlow) set(mode string) error {
	tio, err := unix.IoctlGetTermios(t.fd, unix.TCGETS)
	if err != nil {
		return err
	}
	switch mode {
	case "rtscts":
		tio.Cflag |= unix.CRTSCTS
		tio.Iflag &^= unix.IXON | unix.IXOFF
	case "xonxoff":
		tio.Cflag &^= unix.CRTSCTS
		tio.Iflag |= unix.IXON | unix.IXOFF
	}
	return unix.IoctlSetTermios(t.fd, unix.TCSETS, tio)
}

func (t ttyFlow) Close() error { return unix.Close(t.fd) }

// flowControlOf reads the line's current flow control (for tests and the
// printers listing).
func flowControlOf(dev string) (string, error) {
	fd, err := unix.Open(dev, unix.O_RDONLY|unix.O_NOCTTY|unix.O_NONBLOCK|unix.O_CLOEXEC, 0)
	if err != nil {
		return "", err
	}
	defer unix.Close(fd)
	tio, err := unix.IoctlGetTermios(fd, unix.TCGETS)
	if err != nil {
		return "", err
	}
	switch {
	case tio.Cflag&unix.CRTSCTS != 0:
		return "rtscts", nil
	case tio.Iflag&unix.IXON != 0:
		return "xonxoff", nil
	}
	return "none", nil
}

// openSerialIO opens dev for the link's bytes; os.OpenFile makes a tty
// non-blocking and registers it with the poller.
func openSerialIO(dev string) (*os.File, error) {
	return os.OpenFile(dev, os.O_RDWR|unix.O_NOCTTY, 0)
}
