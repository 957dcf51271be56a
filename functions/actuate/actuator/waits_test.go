package actuator

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A wait cut short by shutdown says so, not "timed out after" its bound.
func TestWaitStoppedByShutdownIsNotATimeout(t *testing.T) {
	x := &execution{a: &Actuator{opt: Options{Poll: 10 * time.Millisecond}}}
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
