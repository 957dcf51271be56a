package policy

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A source whose pendingRecords registers 90 s after each (re)start
// (FLINK-31299) reads its backlog at its catch-up rate (207k records/s
// here) while 86k are offered. Once the metric is back, the growth of
// pending records is measured from the first sample that shows them, not
// from the run's oldest within the rate window (which showed none, so the
// growth read 0 and the catch-up read as the load: "offered 206.8k").
func TestCatchUpIsNotOfferedWhenPendingComesLate(t *testing.T) {
	epoch := t0.Add(time.Hour)
	src := []bool{true, false}
	at := func(run time.Time, after time.Duration, in, pending float64) Sample {
		return Sample{At: run.Add(after), Epoch: run, V: []VertexSample{{In: in, Pending: pending}, {In: in, Pending: -1}}}
	}
	w := []Sample{
		at(t0, time.Hour-20*time.Second, 80000, 2e6),
		at(t0, time.Hour-10*time.Second, 80500, 2.005e6), // offered 80.5k + 500/s
	}
	for s := 10 * time.Second; s <= 80*time.Second; s += 10 * time.Second {
		w = append(w, at(epoch, s, 207000, -1))
	}
	w = append(w, at(epoch, 90*time.Second, 207000, 63.24e6))
	back := at(epoch, 100*time.Second, 207000, 62.03e6) // drains 121k/s
	require.InDelta(t, 86000, offeredAt(w, back, src, time.Minute), 1)
	w = append(w, back)
	e := estimateVertex(w, 0, 0, 0, time.Minute)
	require.InDelta(t, -121000, e.slope, 1)
	j := jobView{vs: []vertexView{{source: true, est: e, offered: risenOffered(w, nil, 0, MeterSettle, math.Max(e.in+e.slope, 0))}, {est: estimate{pending: -1}}}}
	j.sumSources()
	require.InDelta(t, 86000, j.offered, 1)
}
