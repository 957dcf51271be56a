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
