package actuator

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A wait cut short by shutdown says so, not "timed out after" its bound.
func TestWaitStoppedByShutdownIsNotATimeout(t *testing.T) {
	x := &execution{a: New(Deps{}, Options{Poll: 10 * time.Millisecond})}
	notYet := func() (bool, string, error) { return false, "1 of 3 slots registered", nil }

	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	_, err := x.poll(ctx, 2*time.Minute, notYet)
	require.ErrorIs(t, err, context.DeadlineExceeded)
	require.NotErrorIs(t, err, ErrTimeout)
	require.Contains(t, err.Error(), "stopped after")
	require.Contains(t, err.Error(), "1 of 3 slots registered")

	_, err = x.poll(context.Background(), 50*time.Millisecond, notYet)
	require.ErrorIs(t, err, ErrTimeout)
	require.Contains(t, err.Error(), "timed out after 50ms: 1 of 3 slots registered")
}

// stepClock is virtual time: a Sleep moves it on at once.
type stepClock struct {
	now    time.Time
	sleeps []time.Duration
}

func (c *stepClock) Now() time.Time { return c.now }

func (c *stepClock) Sleep(ctx context.Context, d time.Duration) error {
	c.sleeps = append(c.sleeps, d)
	c.now = c.now.Add(d)
	return ctx.Err()
}

// Waits run on the Actuator's clock: its polls are Poll apart and its bound
// is measured in the clock's time, not the wall clock's.
func TestWaitsRunOnTheInjectedClock(t *testing.T) {
	clock := &stepClock{now: time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)}
	x := &execution{a: New(Deps{Clock: clock}, Options{Poll: 10 * time.Second})}
	checks := 0
	start := time.Now()
	_, err := x.poll(context.Background(), 95*time.Second, func() (bool, string, error) {
		checks++
		return false, "job RESTARTING", nil
	})
	require.ErrorIs(t, err, ErrTimeout)
	require.Contains(t, err.Error(), "timed out after 1m35s: job RESTARTING")
	// A wall-clock wait would take the bound, 95 s; the margin is for a
	// loaded machine under the race detector.
	require.Less(t, time.Since(start), 30*time.Second, "no wall-clock wait")
	require.Equal(t, 11, checks, "at 0, 10 s, …, 90 s and at the bound")
	require.Equal(t, 5*time.Second, clock.sleeps[len(clock.sleeps)-1], "the last sleep ends at the bound")
	require.Equal(t, 95*time.Second, clock.now.Sub(time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)))

	checks = 0
	state, err := x.poll(context.Background(), time.Minute, func() (bool, string, error) {
		checks++
		return checks == 3, "job RUNNING", nil
	})
	require.NoError(t, err)
	require.Equal(t, "job RUNNING", state)
}
