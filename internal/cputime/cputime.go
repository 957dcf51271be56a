// Package cputime reads the CPU time this process has used, so benchmarks
// on a shared machine can report CPU per operation, a figure that does not
// depend on what else the machine runs.
package cputime

import (
	"syscall"
	"time"
)

// Process returns this process's user+system CPU time so far, or 0 where
// the platform cannot tell.
func Process() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
