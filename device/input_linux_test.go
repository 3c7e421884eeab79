package device_test

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// nativeTimevalSize is the platform's struct timeval as x/sys sees it.
func nativeTimevalSize() int { return int(unsafe.Sizeof(unix.Timeval{})) }
