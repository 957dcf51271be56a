//go:build !linux

package kubetest

import "os/exec"

// dieWithParent has no portable equivalent of Linux's parent-death signal;
// the apiserver is stopped by the test's cleanup.
func dieWithParent(*exec.Cmd) {}
