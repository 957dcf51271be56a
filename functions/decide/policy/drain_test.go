package policy

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// A scale-up's restart is watched until the job shows no vertex saturated
// (its backlog worked off): the time from the stop over the time priced is
// learned (State.Drains), and a new run ends the watch unlearned.
func TestDrainLearnedFromAScaleUpsRestart(t *testing.T) {
	t0 := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	run := t0.Add(40 * time.Second)
	rs := &Rescale{Back: 100 * time.Second}
	d := watchDrain(rs, run, run, 30*time.Second)
	require.NotNil(t, d)
	require.Equal(t, t0.Add(10*time.Second), d.Stop, "stopped an outage before the run")
	require.Nil(t, watchDrain(&Rescale{}, run, run, 30*time.Second), "a change not priced with a drain is not watched")

	snap := &events.Snapshot{Vertices: []events.VertexSnapshot{{ID: "src", IsSource: true}, {ID: "agg"}}}
	g := gateInput{snap: snap, cfg: Defaults()}
	busy := func(at time.Duration, b float64) Sample {
		return Sample{At: t0.Add(at), Epoch: run, V: []VertexSample{{BusyMax: 0.5, BusyAvg: 0.5}, {BusyMax: b, BusyAvg: b}}}
	}
	st := State{Epoch: run, Drain: d, Drains: []float64{1.1}}
	st.Window = []Sample{busy(140*time.Second, 1)}
	g.now = t0.Add(140 * time.Second)
	next, ds := learnDrain(st, g)
	require.Equal(t, d, next, "still saturated: still watched")
	require.Equal(t, []float64{1.1}, ds)
	st.Window = append(st.Window, busy(150*time.Second, 0.7))
	g.now = t0.Add(150 * time.Second)
	next, ds = learnDrain(st, g)
	require.Nil(t, next)
	require.Len(t, ds, 2)
	require.InDelta(t, 1.35, ds[1], 1e-9, "back halfway between the samples: 135 s after the stop, 100 s priced")

	st.Epoch = run.Add(time.Minute)
	next, ds = learnDrain(st, g)
	require.Nil(t, next, "a new run ends the watch")
	require.Equal(t, []float64{1.1}, ds, "unlearned")
}

// The factor a raise's drain is checked with is the smaller of the last
// two learned, within [1, maxDrainFactor].
func TestDrainFactor(t *testing.T) {
	require.Equal(t, 1.0, drainFactor(nil))
	require.Equal(t, 1.0, drainFactor([]float64{0.8}), "faster than priced: no correction")
	require.InDelta(t, 1.5, drainFactor([]float64{1.5}), 1e-9)
	require.InDelta(t, 1.4, drainFactor([]float64{3, 1.4, 2.5}), 1e-9, "one drain met by a rise does not set it")
	require.Equal(t, maxDrainFactor, drainFactor([]float64{3, 4}))
}

// A raise whose priced drain, stretched by how the job's last drains came
// out, passes slo.recovery does not count as recovering in time: another
// change that does is chosen (skewed-sources, a hot key the even-keys
// share leaves out: 4 → 6 priced ~1m44s to work off its backlog, took
// ~3m15s; 6 → 8 priced back in ~2m5s, back in 3m2s); the rationale says
// so. A release is not stretched.
func TestRaiseCheckedAtTheJobsDrainSpeed(t *testing.T) {
	cfg := Defaults() // maxLag 60 s: back under 6 s; recovery 3 min
	rc := &restartCost{restartStats: restartStats{outage: 30 * time.Second}}
	p := plan{lag: 0, restart: true}
	// 30 s of backlog (the outage): 24 s to drain at 25 % spare, ~1m36s + the outage
	tight := evaluation{candidate: candidate{headroom: 0.25}, h: 0.25, rises: true, paid: 8}
	r := recoveryOf(&tight, p, rc, 0.2, 0, 0, 1, &cfg)
	require.True(t, r.ok)
	slow := recoveryOf(&tight, p, rc, 0.2, 0, 0, 1.7, &cfg)
	require.False(t, slow.ok, "~2m6s × 1.7 passes 3m0s")
	require.Equal(t, 1.7, slow.slower)
	roomy := evaluation{candidate: candidate{headroom: 0.6}, h: 0.6, rises: true, paid: 10}
	r2 := recoveryOf(&roomy, p, rc, 0.2, 0, 0, 1.7, &cfg)
	require.True(t, r2.ok && r2.sure, "~1m10s × 1.7 is within 3m0s")
	down := evaluation{candidate: candidate{headroom: 0.25}, h: 0.25, paid: 6}
	require.True(t, recoveryOf(&down, p, rc, 0.2, 0, 0, 1.7, &cfg).ok, "a release is checked as priced")
	keep := evaluation{candidate: candidate{headroom: -1}, cost: 100}
	tight.recovery, tight.cost = slow, 10
	roomy.recovery, roomy.cost = r2, 12
	evs := []evaluation{keep, tight, roomy}
	best := choose(evs)
	require.Equal(t, 0.6, best.headroom)
	said := string(best.recovery.describe(text(nil), best, evs))
	require.Contains(t, said, "as slow as this job's last scale-ups drained against their price (×1.70)")
}
