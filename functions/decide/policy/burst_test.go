package policy

import (
	"encoding/json"
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
	require.Equal(t, 3*time.Minute, b.age)
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

// feedSamples records rate(s) every 10 s for the seconds from, …, to−10
// after start, skipping the seconds skip reports (a restart's unread run).
func feedSamples(s *Series, start time.Time, from, to int, rate func(int) float64, skip func(int) bool) *Series {
	for sec := from; sec < to; sec += 10 {
		if skip != nil && skip(sec) {
			continue
		}
		s = s.withMinute(start.Add(time.Duration(sec)*time.Second), rate(sec))
	}
	return s
}

// flushes is a 10k rec/s level with a 40-s flush to 28k every 12 minutes,
// starting at minute 5.
func flushes(sec int) float64 {
	if sec >= 300 && (sec-300)%720 < 40 {
		return 28e3
	}
	return 10e3
}

// Rises are read at a sample's grain: a 40-s flush opens a rise over the level (the
// least of the last three minutes) and closes it at the first sample back;
// a rise across a restart's unread samples is Cut; one the level rises to
// (a step) is closed as the level. The state is never changed in place.
func TestSeriesRises(t *testing.T) {
	start := time.Unix(1_700_000_000, 0).Truncate(time.Minute)
	s := feedSamples(nil, start, 0, 3*720, flushes, nil)
	require.Nil(t, s.Rise)
	require.Len(t, s.Rises, 3)
	for _, r := range s.Rises {
		require.Equal(t, int64(40), r.Secs)
		require.InDelta(t, 28e3, r.Peak, 1e-9)
		require.InDelta(t, 10e3, r.Base, 1e-9)
		require.False(t, r.Cut || r.Level)
	}

	// a flush whose samples stop at its second one (a restart), read
	// again 2 minutes later back at the level: Cut
	before := *s
	cut := feedSamples(s, start, 3*720, 4*720, flushes, func(sec int) bool { return sec > 3*720+300 && sec < 3*720+420 })
	require.Equal(t, before, *s)
	last := cut.Rises[len(cut.Rises)-1]
	require.True(t, last.Cut)
	require.Equal(t, int64(120), last.Secs)

	// a step to 28k that stays: open while the level is below it, then
	// closed as the level, and no rise after (the level is 28k)
	step := feedSamples(s, start, 3*720, 3*720+600, func(sec int) float64 {
		if sec >= 3*720+60 {
			return 28e3
		}
		return 10e3
	}, nil)
	require.Nil(t, step.Rise)
	last = step.Rises[len(step.Rises)-1]
	require.True(t, last.Level)
	require.Greater(t, last.Secs, int64(180))

	// kept in the state KV with the minutes
	raw, err := json.Marshal(State{Minutes: cut})
	require.NoError(t, err)
	var back State
	require.NoError(t, json.Unmarshal(raw, &back))
	require.Equal(t, cut, back.Minutes)

	// at most maxRises kept, the newest
	many := feedSamples(nil, start, 0, (maxRises+3)*720, flushes, nil)
	require.Len(t, many.Rises, maxRises)
	require.Equal(t, start.Add(time.Duration(300+(maxRises+2)*720)*time.Second).Unix(), many.Rises[maxRises-1].At)
}

// A scale-up decided 10 s into a flush waits when the flushes the samples
// show ended before a change decided now runs; it is made when the change
// runs sooner, once the rise has outlasted them, when they were steps, or
// with fewer than burstMin of them.
func TestRisesOf(t *testing.T) {
	up := evaluation{candidate: candidate{ps: []int{9, 12}, headroom: 0.5}, rises: true}
	start := time.Unix(1_700_000_000, 0).Truncate(time.Minute)
	s := feedSamples(nil, start, 0, 3*720+310, flushes, nil)
	require.NotNil(t, s.Rise)
	now := start.Add((3*720 + 310) * time.Second)

	b := risesOf(up, s, 90*time.Second, time.Minute, now)
	require.Equal(t, burst{age: 10 * time.Second, floor: 12e3, lands: 90 * time.Second, short: true, read: time.Minute, rises: 3, seen: 3, ended: 3}, b)
	msg := awaitBurst(up, b)
	require.Contains(t, msg, "a scale-up now would run after the rise it is sized for: in 3 of the 3 rises as high as this one the last samples show (above 12000 rec/s")
	require.Contains(t, msg, "lasting over 10s, as this one has, the rate read was back under that within 2m40s, the rate window included, before a change decided now runs (~1m30s)")

	// a change that runs in 20 s lands inside the flush, when rates are
	// read at once; read over a minute, a flush reads back up to a minute
	// after it ended
	require.False(t, risesOf(up, s, 20*time.Second, 0, now).expected())
	require.True(t, risesOf(up, s, 20*time.Second, time.Minute, now).expected())
	// a rise 50 s old has outlasted every flush seen
	require.False(t, risesOf(up, s, 90*time.Second, time.Minute, now.Add(40*time.Second)).expected())
	// two flushes are a shape; one is not
	require.True(t, risesOf(up, feedSamples(nil, start, 0, 2*720+310, flushes, nil), 90*time.Second, time.Minute, now.Add(-720*time.Second)).expected())
	require.False(t, risesOf(up, feedSamples(nil, start, 0, 720+310, flushes, nil), 90*time.Second, time.Minute, now.Add(-2*720*time.Second)).expected())
	// flushes Cut by the restarts of scale-ups decided on them count as ended
	cuts := feedSamples(nil, start, 0, 3*720+310, flushes, func(sec int) bool { return sec%720 > 310 && sec%720 < 500 })
	for _, r := range cuts.Rises {
		require.True(t, r.Cut)
	}
	require.True(t, risesOf(up, cuts, 90*time.Second, time.Minute, now).expected())
	// steps the level rose to lasted: seen, not ended
	steps := &Series{Rise: s.Rise, Rises: []Rise{{Secs: 60, Peak: 28e3, Base: 10e3, Level: true}, {Secs: 70, Peak: 28e3, Base: 10e3, Level: true}, s.Rises[0]}}
	require.False(t, risesOf(up, steps, 90*time.Second, time.Minute, now).expected())
	// a step read on as its level caught up (two risen rises back to
	// back) is one rise: with two flushes seen to end, the rise waits
	low14 := &Rise{At: now.Add(-10 * time.Second).Unix(), Peak: 14e3, Base: 10e3}
	stepA := Rise{At: s.Rises[1].At + 300, Secs: 170, Peak: 28e3, Base: 10e3, Level: true}
	stepB := Rise{At: stepA.At + 170, Secs: 60, Peak: 29e3, Base: 20e3, Level: true}
	twoParts := &Series{Rise: low14, Rises: []Rise{s.Rises[0], s.Rises[1], stepA, stepB}}
	b = risesOf(up, twoParts, 90*time.Second, time.Minute, now)
	require.Equal(t, [3]int{3, 3, 2}, [3]int{b.rises, b.seen, b.ended}, "the step once, the two flushes ended")
	require.True(t, b.expected())
	// two steps apart are two rises
	stepB.At += 60
	apart := &Series{Rise: low14, Rises: []Rise{s.Rises[0], s.Rises[1], stepA, stepB}}
	require.False(t, risesOf(up, apart, 90*time.Second, time.Minute, now).expected())
	// lower rises than this one are not read
	low := &Series{Rise: &Rise{At: now.Add(-10 * time.Second).Unix(), Peak: 28e3, Base: 10e3}, Rises: []Rise{{Secs: 40, Peak: 13e3, Base: 10e3}, {Secs: 40, Peak: 13e3, Base: 10e3}}}
	require.Zero(t, risesOf(up, low, 90*time.Second, time.Minute, now).rises)
	// no open rise, a scale-down, no history: nothing read
	require.Zero(t, risesOf(up, feedSamples(nil, start, 0, 3*720, flushes, nil), 90*time.Second, time.Minute, now).rises)
	require.Zero(t, risesOf(evaluation{candidate: candidate{ps: []int{2, 4}}}, s, 90*time.Second, time.Minute, now).rises)
	require.False(t, risesOf(up, nil, 90*time.Second, time.Minute, now).expected())
}
