//go:build unix

package main

import "syscall"

// execBinary replaces this process with bin.
func execBinary(bin string, args, env []string) error {
	return syscall.Exec(bin, append([]string{bin}, args...), env)
}
