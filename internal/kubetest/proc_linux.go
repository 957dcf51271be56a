package kubetest

import (
	"os/exec"
	"syscall"
)

// dieWithParent makes the kernel kill the apiserver if the test binary dies
// (a test timeout panics without running cleanups).
func dieWithParent(cmd *exec.Cmd) {
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
}
