//go:build unix

package kubetest

import (
	"fmt"
	"os"
	"syscall"
)

// lockFile takes an exclusive lock on path, blocking until it is free, and
// returns the locked file. The kernel releases the lock when every process
// holding the file (this one, and children given it) has closed it or died.
func lockFile(path string) (held *os.File, unlock func(), err error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDWR, 0o644)
	if err != nil {
		return nil, nil, fmt.Errorf("build lock: %w", err)
	}
	if err := syscall.Flock(int(f.Fd()), syscall.LOCK_EX); err != nil {
		f.Close()
		return nil, nil, fmt.Errorf("build lock %s: %w", path, err)
	}
	return f, func() {
		syscall.Flock(int(f.Fd()), syscall.LOCK_UN)
		f.Close()
	}, nil
}
