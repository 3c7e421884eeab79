package uplinktest

import (
	"os/exec"
	"syscall"
)

// DieWithParent has cmd killed when the test binary dies, so a test binary
// killed mid-run takes its children (the broker, a crash-test child) along.
func DieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
