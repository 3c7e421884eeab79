//go:build unix

package queue

import (
	"errors"
	"fmt"
	"os"
	"syscall"
	"time"
)

// lockRetry is how often a waiting opener tries the lock again (bbolt's
// own flock waits the same way).
const lockRetry = 50 * time.Millisecond

// lockFile takes the exclusive lock on name (created if needed), waiting
// up to timeout for another process to let go. The lock lives as long as
// the returned file is open.
func lockFile(name string, timeout time.Duration) (*os.File, error) {
	f, err := os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock: %w", err)
	}
	deadline := time.Now().Add(timeout)
	for {
		err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB)
		if err == nil {
			return f, nil
		}
		if !errors.Is(err, syscall.EWOULDBLOCK) && !errors.Is(err, syscall.EINTR) {
			f.Close()
			return nil, fmt.Errorf("lock %s: %w", name, err)
		}
		wait := time.Until(deadline)
		if wait <= 0 {
			f.Close()
			return nil, ErrLocked
		}
		time.Sleep(min(wait, lockRetry))
	}
}
