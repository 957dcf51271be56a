package policy

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// freshOffered sees a step the minute's meters average: 15 k rec/s until
// 300 s, 45 k after, samples every 10 s with meters averaging the last
// minute and the job reading at most 30 k (the rest backs up as pending
// records); 40 s after the step the meter reads 25 k and the minute's
// offered rate (in + pending growth over the minute) 35 k, the fresh
// estimate 45 k.
func TestFreshOfferedSeesAStep(t *testing.T) {
	offered := func(s float64) float64 {
		if s >= 300 {
			return 45000
		}
		return 15000
	}
	read := func(s float64) float64 { return min(offered(s), 30000) }
	meter := func(s float64) float64 { // mean of read over (s−60, s]
		sum := 0.0
		for x := s - 59; x <= s; x++ {
			sum += read(x)
		}
		return sum / 60
	}
	pending := func(s float64) float64 { // what was offered and not read by s
		sum := 0.0
		for x := 1.0; x <= s; x++ {
			sum += offered(x) - read(x)
		}
		return sum
	}
	var w []Sample
	for s := 100.0; s <= 340; s += 10 {
		w = append(w, Sample{At: t0.Add(time.Duration(s) * time.Second), Epoch: t0, V: []VertexSample{{In: meter(s), Pending: pending(s)}}})
	}
	last := w[len(w)-1].V[0]
	require.InDelta(t, 25000, last.In, 600)
	f, growth, ok := freshOffered(w, 0, MeterSettle)
	require.True(t, ok)
	require.InDelta(t, 45000, f, 600)
	require.InDelta(t, 15000, growth, 1)
	mean := last.In + (last.Pending-w[len(w)-7].V[0].Pending)/60
	require.Less(t, mean, 36000.0)
	require.InDelta(t, 45000, risenOffered(w, nil, 0, MeterSettle, mean), 600)

	flat := w[:15] // before the step: no rise
	require.InDelta(t, 15000, risenOffered(flat, nil, 0, MeterSettle, 15000), 1e-9)

	// a rise the job reads in full backs nothing up: the minute's average
	// stands (its pending growth would show a step it cannot read)
	read = offered
	w = w[:0]
	for s := 100.0; s <= 340; s += 10 {
		w = append(w, Sample{At: t0.Add(time.Duration(s) * time.Second), Epoch: t0, V: []VertexSample{{In: meter(s), Pending: 0}}})
	}
	require.InDelta(t, 35000, risenOffered(w, nil, 0, MeterSettle, 35000), 1e-9)

	// a restart 30 s ago: no settled samples that far back
	for k := range w {
		w[k].Epoch = t0.Add(310 * time.Second)
	}
	_, _, ok = freshOffered(w, 0, MeterSettle)
	require.False(t, ok)
}

// A poll the JobManager answers from its previous fetch repeats that
// reading, pending records included: read at the poll's time, a repeat at
// the start of freshSpan counts 30 s of pending growth over 20 s and
// reads a step up on a flat load (600 rec/s offered, 355 read, the rest
// backing up). Read at its fetch's time, the span is the 30 s it took and
// the minute's average stands; a repeat as the latest reading likewise.
func TestFreshOfferedReadsARepeatAtItsFetch(t *testing.T) {
	var w []Sample
	for s := 100.0; s <= 200; s += 10 {
		w = append(w, Sample{At: t0.Add(time.Duration(s) * time.Second), Epoch: t0, V: []VertexSample{{In: 355, Out: 355, Pending: 245 * s}}})
	}
	n := len(w)
	fresh := func(w []Sample) float64 {
		f, growth, ok := freshOffered(w, 0, MeterSettle)
		require.True(t, ok)
		require.InDelta(t, f-355, growth, 1e-9)
		return f
	}
	require.InDelta(t, 600, fresh(w), 1e-9)
	require.InDelta(t, 600, risenOffered(w, nil, 0, MeterSettle, 600), 1e-9)

	// the sample 20 s before the latest repeats the one before it
	rep := append([]Sample(nil), w...)
	rep[n-3].V = []VertexSample{rep[n-4].V[0]}
	require.Equal(t, t0.Add(170*time.Second), fetchedAt(rep, n-3, 0))
	require.InDelta(t, 600, fresh(rep), 1e-9, "read over the 30 s since its fetch")
	require.InDelta(t, 600, risenOffered(rep, nil, 0, MeterSettle, 600), 1e-9)
	// read at the poll's own time it was a step up of half the growth again
	require.InDelta(t, 355+245*1.5, 355+(rep[n-1].V[0].Pending-rep[n-3].V[0].Pending)/20, 1e-9)

	// the latest reading repeats the one before: read from its fetch
	last := append([]Sample(nil), w...)
	last[n-1].V = []VertexSample{last[n-2].V[0]}
	require.InDelta(t, 600, fresh(last), 1e-9)
	// a reading that holds with nothing flowing, or nothing pending (a
	// steady source on a flat load, or one that shows no pending
	// records), is no repeat
	require.False(t, sameReading(VertexSample{Pending: 5}, VertexSample{Pending: 5}))
	require.False(t, sameReading(VertexSample{In: 355, Out: 355}, VertexSample{In: 355, Out: 355}))
	require.False(t, sameReading(VertexSample{In: 355, Out: 355, Pending: -1}, VertexSample{In: 355, Out: 355, Pending: -1}))
	// one poll back at most
	two := append([]Sample(nil), w...)
	two[n-3].V = []VertexSample{two[n-5].V[0]}
	two[n-4].V = []VertexSample{two[n-5].V[0]}
	require.Equal(t, t0.Add(170*time.Second), fetchedAt(two, n-3, 0))
}
