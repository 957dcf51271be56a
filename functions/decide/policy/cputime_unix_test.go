//go:build unix

package policy

import (
	"syscall"
	"testing"
	"time"
)

// processCPU is the CPU time (user + system) the process has used so far,
// the GC's background work included; 0 when it cannot be read.
func processCPU(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		tb.Logf("getrusage: %v", err)
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
