package policy

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// batches is a minute history of a 33k rec/s base with a 3-minute batch at
// 80k every 20 minutes, n of them, ending before the base's last minutes.
func batches(n int) *Series {
	var x []float64
	for range n {
		for range 17 {
			x = append(x, 33e3)
		}
		x = append(x, 80e3, 79e3, 68e3)
	}
	x = append(x, 33e3, 34e3)
	return &Series{Rates: x}
}

// A scale-up decided as a batch begins waits when the batches the history
// shows ended before a change decided now runs; one that runs sooner, a
// rise that has outlasted them, or a history without two such rises
// scales up as before.
func TestBurstOf(t *testing.T) {
	up := evaluation{candidate: candidate{ps: []int{9, 12}, headroom: 0.5}, rises: true}
	s := batches(2)

	// 80k now, the current size carries 85k (a drain's scale-up): the
	// floor is 64k; both past batches (3 min) ended within the 5m30s a
	// change decided now takes to run
	b := burstOf(up, s, 80e3, 85e3, 5*time.Minute+30*time.Second)
	require.Equal(t, burst{age: 0, floor: 64e3, lands: 5*time.Minute + 30*time.Second, rises: 2, seen: 2, ended: 2}, b)
	require.True(t, b.expected())
	msg := awaitBurst(up, b)
	require.Contains(t, msg, "a scale-up now would run after the rise it is sized for: in 2 of the 2 rises to about this rate (above 64000 rec/s)")
	require.Contains(t, msg, "traded: ")

	// the current size carries 50k: the floor is that capacity
	require.InDelta(t, 50e3, burstOf(up, s, 80e3, 50e3, 5*time.Minute).floor, 1e-9)

	// a change that runs in 1m30s lands inside the batch
	require.False(t, burstOf(up, s, 80e3, 85e3, 90*time.Second).expected())

	// a rise already 3 minutes long has outlasted every batch seen
	long := batches(2)
	long.Rates = append(long.Rates, 80e3, 81e3, 79e3)
	b = burstOf(up, long, 80e3, 85e3, 5*time.Minute)
	require.Equal(t, 3, b.age)
	require.Zero(t, b.seen)
	require.False(t, b.expected())

	// one batch seen is not a shape seen to repeat; a step's history shows none
	require.False(t, burstOf(up, batches(1), 80e3, 85e3, 5*time.Minute).expected())
	require.False(t, burstOf(up, &Series{Rates: []float64{33e3, 33e3, 34e3, 80e3}}, 80e3, 85e3, 5*time.Minute).expected())

	// minutes without a sample (a restart) neither break nor extend a rise
	gap := batches(2)
	gap.Rates[18] = -1
	require.True(t, burstOf(up, gap, 80e3, 85e3, 5*time.Minute).expected())

	// a rise read right after a restart's unsampled minutes is the
	// catch-up's read, not a rise of the load
	catchUp := batches(2)
	catchUp.Rates[16], catchUp.Rates[36] = -1, -1
	b = burstOf(up, catchUp, 80e3, 85e3, 5*time.Minute)
	require.Zero(t, b.rises)
	require.False(t, b.expected())

	// a scale-down, keep, or no history: nothing read
	require.Zero(t, burstOf(evaluation{candidate: candidate{ps: []int{2, 4}, headroom: 0}}, s, 80e3, 85e3, 5*time.Minute).rises)
	require.Zero(t, burstOf(evaluation{candidate: candidate{headroom: -1}}, s, 80e3, 85e3, 5*time.Minute).rises)
	require.False(t, burstOf(up, nil, 80e3, 85e3, 5*time.Minute).expected())
	require.Empty(t, awaitBurst(up, burst{}))
}
