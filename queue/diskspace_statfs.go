//go:build linux || darwin || freebsd

package queue

import (
	"fmt"
	"syscall"
)

// statfsSpace measures dir's filesystem with statfs(2). The field types
// differ between systems (Bsize is int32 on linux/arm), hence the
// conversions.
func statfsSpace(dir string) (Space, error) {
	var st syscall.Statfs_t
	if err := syscall.Statfs(dir, &st); err != nil {
		return Space{}, fmt.Errorf("statfs %s: %w", dir, err)
	}
	bs := uint64(st.Bsize)
	return Space{Free: uint64(st.Bavail) * bs, Total: uint64(st.Blocks) * bs}, nil
}
