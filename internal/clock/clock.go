// Package clock is the time a component reads and waits on: the wall clock
// in production, simulated time where an emulator stands for the cluster
// (the benchmark, the fidelity probe), so the same code runs in both.
package clock

import (
	"context"
	"time"
)

// Clock says what time it is and lets that time pass.
type Clock interface {
	Now() time.Time
	// Sleep returns after d, or ctx's error as soon as ctx ends.
	Sleep(ctx context.Context, d time.Duration) error
}

// Wall is the real time.
type Wall struct{}

// Now is time.Now.
func (Wall) Now() time.Time { return time.Now() }

// Sleep waits d on a timer.
func (Wall) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
