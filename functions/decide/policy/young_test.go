package policy

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// youngStep is a run whose load steps from 15 k to 45 k rec/s 72 s after
// its start (2 s after MeterSettle), the source reading at most 30 k (the
// rest backs up as pending records), sampled every 10 s to 100 s with
// Flink's meters (MeterView: records of the last 60 s ÷ 60, none before
// the start, so they ramp over the run's first minute).
func youngStep() State {
	offered := func(s float64) float64 {
		if s > 72 {
			return 45000
		}
		return 15000
	}
	read := func(s float64) float64 { return min(offered(s), 30000) }
	meter := func(s float64) float64 {
		sum := 0.0
		for x := max(s-59, 1); x <= s; x++ {
			sum += read(x)
		}
		return sum / 60
	}
	pending := func(s float64) float64 {
		sum := 0.0
		for x := 1.0; x <= s; x++ {
			sum += offered(x) - read(x)
		}
		return sum
	}
	st := State{Epoch: t0}
	for s := 10.0; s <= 100; s += 10 {
		m := meter(s)
		st.Window = append(st.Window, Sample{At: t0.Add(time.Duration(s) * time.Second), Epoch: t0,
			V: []VertexSample{{P: 2, BusyMax: 0.6, BusyAvg: 0.6, In: m, Out: m, Pending: pending(s)}}})
	}
	return st
}

// A step 28 s after the meters settle (wordcount at compare's fast timing:
// its scale-up decided 1m40s into the run) is read at once: the span a
// minute before the freshest 20 s is read from the run's young, de-ramped
// samples (no settled sample lies that far back). The old code read the
// minute's ramping meters, 29 k of 45 k, and sized the scale-up on them
// (2→4 slots, its backlog draining at 160 s p99).
func TestYoungRunReadsAStepAtOnce(t *testing.T) {
	cfg := Defaults()
	cfg.Settle = MeterSettle
	st := youngStep()
	pend := st.Window[len(st.Window)-1].V[0].Pending
	snap := events.Snapshot{Vertices: []events.VertexSnapshot{{ID: "src", Name: "src", Parallelism: 2, MaxParallelism: 128, IsSource: true, PendingRecords: &pend}}}
	j := observe(st, &snap, cfg)
	require.InDelta(t, 45000, j.offered, 1500, "the step read in full")
	require.Less(t, j.vs[0].est.in+j.vs[0].est.slope, 36000.0, "the minute's rates show a part of it")

	// the same run settled a minute before the span: as before
	old := st
	old.Epoch = t0.Add(-time.Hour)
	for k := range old.Window {
		old.Window[k].Epoch = old.Epoch
	}
	require.Nil(t, youngRamp(old, cfg.Settle), "no young samples to read")
}

// A young run's uncertainty (fewer than three pairs of samples a reaction
// time apart) is the settled samples' spread around their line: the
// meters ramping into a step are a change the offered rate follows, not a
// spread to keep headroom for. The old code took their coefficient of
// variation (±24 % here, sizing the scale-up +50 %); noise around a flat
// load is still read as noise.
func TestYoungRunUncertaintyIsNotTheStep(t *testing.T) {
	st := youngStep()
	for k := range st.Window {
		st.Window[k].Offered = st.Window[k].V[0].In
	}
	plain, _ := loadDrift(st.Window, nil, MeterSettle, 90*time.Second, time.Minute, 0)
	require.Less(t, plain, 0.03, "the ramp is not a spread")

	noisy := []float64{15000, 16500, 13500, 15000}
	for k := range noisy {
		st.Window[6+k].Offered = noisy[k]
	}
	plain, _ = loadDrift(st.Window, nil, MeterSettle, 90*time.Second, time.Minute, 0)
	require.Greater(t, plain, 0.05, "noise is")
}
