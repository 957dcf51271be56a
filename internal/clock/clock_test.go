package clock

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestWallSleepsOrStops(t *testing.T) {
	start := time.Now()
	require.NoError(t, Wall{}.Sleep(context.Background(), 20*time.Millisecond))
	require.GreaterOrEqual(t, time.Since(start), 20*time.Millisecond)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	require.ErrorIs(t, Wall{}.Sleep(ctx, time.Hour), context.Canceled)
}
