package actuator

import (
	"context"
	"time"
)

// Clock is actuate's time: what it reads as now, and how its waits pass.
// Production runs on the wall clock (WallClock); the benchmark passes the
// emulator's virtual time, so it measures this very code.
type Clock interface {
	Now() time.Time
	// Sleep returns after d, or ctx's error as soon as ctx ends.
	Sleep(ctx context.Context, d time.Duration) error
}

// WallClock is the real time.
type WallClock struct{}

// Now is time.Now.
func (WallClock) Now() time.Time { return time.Now() }

// Sleep waits d on a timer.
func (WallClock) Sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}
