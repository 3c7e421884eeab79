//go:build !linux

package uplinktest

import "os/exec"

// DieWithParent does nothing where there is no parent-death signal.
func DieWithParent(*exec.Cmd) {}
