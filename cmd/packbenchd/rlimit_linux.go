package main

import "golang.org/x/sys/unix"

// fileLimit is the soft limit on open files (Go raised it to the hard
// limit at start).
func fileLimit() (uint64, bool) {
	var rl unix.Rlimit
	if err := unix.Getrlimit(unix.RLIMIT_NOFILE, &rl); err != nil {
		return 0, false
	}
	return rl.Cur, true
}
