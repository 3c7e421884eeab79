//go:build !unix

package queue

import (
	"os"
	"time"
)

// lockFile opens name without an OS lock: where flock does not exist,
// bbolt's own lock on the data file is the only guard.
func lockFile(name string, _ time.Duration) (*os.File, error) {
	return os.OpenFile(name, os.O_RDWR|os.O_CREATE, 0o600)
}
