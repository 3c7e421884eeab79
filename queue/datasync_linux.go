package queue

import (
	"os"
	"syscall"
)

// datasync flushes f's data and only the metadata needed to read it back
// (fdatasync(2)): for a marks slot written in place, no metadata at all.
func datasync(f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	var serr error
	if err := rc.Control(func(fd uintptr) {
		for {
			serr = syscall.Fdatasync(int(fd))
			if serr != syscall.EINTR {
				return
			}
		}
	}); err != nil {
		return err
	}
	return serr
}
