package device

import (
	"errors"
	"fmt"
	"io"
	"os"

	"golang.org/x/sys/unix"
)

// evIOCGRAB is EVIOCGRAB, _IOW('E', 0x90, int): the same number on every
// target packbench builds for. Its argument is passed by value: 1 grabs.
const evIOCGRAB = 0x40044590

// openInput opens an input device and grabs it exclusively, so scans do
// not also reach a console or the kiosk's focused field. A path that is
// not an input device (a FIFO, a pty) is read the same way without the
// grab. Non-blocking, so Go's poller waits and Close cuts a read.
func openInput(path string) (io.ReadCloser, bool, error) {
	fd, err := unix.Open(path, unix.O_RDONLY|unix.O_NONBLOCK|unix.O_CLOEXEC|unix.O_NOCTTY, 0)
	if err != nil {
		return nil, false, fmt.Errorf("open %s: %w", path, err)
	}
	var st unix.Stat_t
	if err := unix.Fstat(fd, &st); err != nil {
		unix.Close(fd)
		return nil, false, fmt.Errorf("stat %s: %w", path, err)
	}
	if st.Mode&unix.S_IFMT == unix.S_IFREG || st.Mode&unix.S_IFMT == unix.S_IFDIR {
		// A file would be replayed from the start at every reopen.
		unix.Close(fd)
		return nil, false, fmt.Errorf("open %s: not a device, FIFO or pty: %w", path, ErrConfig)
	}
	grabbed := false
	if st.Mode&unix.S_IFMT == unix.S_IFCHR {
		err := unix.IoctlSetInt(fd, evIOCGRAB, 1)
		switch {
		case err == nil:
			grabbed = true
		case errors.Is(err, unix.ENOTTY) || errors.Is(err, unix.EINVAL):
			// A tty or another character device: not evdev, no grab.
		default:
			unix.Close(fd)
			// EBUSY: another program (a desktop, a second packbenchd)
			// holds the grab.
			return nil, false, fmt.Errorf("grab %s (EVIOCGRAB): %w", path, err)
		}
	}
	return os.NewFile(uintptr(fd), path), grabbed, nil
}
