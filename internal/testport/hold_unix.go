//go:build unix

package testport

import (
	"os"
	"syscall"
)

// hold takes an exclusive, non-blocking flock of the file at path. ok is
// false when another open file (this process's or another's) holds it;
// release drops it. The kernel drops it too when the process ends, so a
// crashed test leaves no port held.
func hold(path string) (release func(), ok bool) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o600)
	if err != nil {
		return nil, false
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX|syscall.LOCK_NB); err != nil {
		_ = f.Close()
		return nil, false
	}
	return func() { _ = f.Close() }, true
}
