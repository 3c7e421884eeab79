//go:build !unix

package main

import "errors"

// execBinary cannot replace a process here.
func execBinary(bin string, args, env []string) error {
	return errors.ErrUnsupported
}
