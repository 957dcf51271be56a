package policy

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A load step on a chain whose middle vertex saturates: the scale-up at the
// step is sized with the spare that drains its own restart's backlog within
// slo.recovery, so the lag is back under a tenth of the SLO within 3 min of
// every restart, and the rationale says what that sizing bought.
func TestScaleUpDrainsItsRestartWithinRecovery(t *testing.T) {
	job := newSimJob(t0, []string{"source", "tokenizer", "counter"},
		[]float64{1e6, 20000, 100000}, []float64{1, 0.95, 1}, []float64{1, 8, 0}, []int{2, 2, 2}, 30)
	rate := func(s int) float64 {
		if s >= 600 {
			return 40000
		}
		return 15000
	}
	cfg := Defaults()
	var st State
	restartAt, worst, said := -1, 0, false
	for s := 1; s <= 1800; s++ {
		job.step(rate(s))
		if restartAt >= 0 && job.downLeft == 0 && job.pending/rate(s) <= 0.1*cfg.SLO.MaxLag.Seconds() {
			worst, restartAt = max(worst, s-restartAt), -1
		}
		if s%10 != 0 {
			continue
		}
		snap := job.snapshot()
		o := Decide(Input{Snapshot: snap, State: st, Config: cfg, Now: snap.ObservedAt})
		st = o.NewState
		if o.Decision != nil {
			t.Logf("t=%ds %s", s, o.Decision.Rationale)
			said = said || strings.Contains(o.Decision.Rationale, "backlog")
			job.apply(o.Decision)
			if restartAt < 0 {
				restartAt = s
			}
		}
	}
	if restartAt >= 0 {
		worst = max(worst, 1800-restartAt)
	}
	require.LessOrEqual(t, worst, 180, "longest time from a restart to the lag under 10 %% of the SLO")
	require.True(t, said, "no rationale names the restart's backlog")
}

// drainCheck: the spare that drains a backlog within the recovery time, a
// rising load asking for more, and how long a given spare takes.
func TestDrainCheck(t *testing.T) {
	cfg := Defaults() // maxLag 60 s: back under 6 s; recovery 3 min
	outage := 30 * time.Second
	r := drainCheck(51, 0.4, outage, 0, &cfg)
	require.InDelta(t, 45.0/150, r.need, 1e-9, "45 s of lag to drain in 150 s")
	require.True(t, r.ok)
	require.Equal(t, outage+time.Duration(45/0.4*float64(time.Second)), r.took)
	rising := drainCheck(51, 0.4, outage, 0.001, &cfg)
	require.InDelta(t, 0.3+0.001*150/2, rising.need, 1e-9)
	require.Greater(t, rising.took, r.took, "a rising load eats spare")
	short := drainCheck(51, 0.2, outage, 0, &cfg)
	require.False(t, short.ok)
	require.Equal(t, outage+225*time.Second, short.took)
	never := drainCheck(51, 0.05, outage, 0.01, &cfg)
	require.False(t, never.ok)
	require.Equal(t, time.Duration(math.MaxInt64), never.took)
	small := drainCheck(5, 0, outage, 0, &cfg)
	require.True(t, small.ok, "a backlog under a tenth of the SLO needs no spare")
	cfg.SLO.Recovery = 0
	require.True(t, recoveryOf(&evaluation{h: 0}, plan{lag: 100, restart: true}, &restartCost{}, 0, 0, 0, 1, &cfg).ok, "recovery 0: not checked")
}

// A restart's drain is checked at the load's upper inner level of
// uncertainty (1 + sureLevel × sigma) besides the estimate: when the
// cheapest raise drains in time only at the estimate, the cheapest change
// that drains in time at that level too is chosen if it is priced within
// surePremium of it (the same size timed after the next checkpoint, or
// some spare), not otherwise; the rationale says what it costs.
func TestRecoverySureAtTheUpperLevel(t *testing.T) {
	cfg := Defaults() // maxLag 60 s: back under 6 s; recovery 3 min
	rc := &restartCost{restartStats: restartStats{outage: 30 * time.Second}}
	p := plan{lag: 0, restart: true}
	// 30 s of backlog (the outage): 24 s to drain in 150 s
	tight := evaluation{candidate: candidate{headroom: 0.2}, h: 0.2, rises: true, paid: 4}
	r := recoveryOf(&tight, p, rc, 0.2, 0, 0.1, 1, &cfg)
	require.True(t, r.ok, "at the estimate 24 s of lag drains at 20 %% spare in 2m")
	require.False(t, r.sure, "at 1.36 σ (+13.6 %%) above it the spare is ~5.6 %%: 7 min")
	require.Greater(t, r.sureTook, cfg.SLO.Recovery)
	roomy := evaluation{candidate: candidate{headroom: 0.5}, h: 0.5, rises: true, paid: 6}
	r2 := recoveryOf(&roomy, p, rc, 0.2, 0, 0.1, 1, &cfg)
	require.True(t, r2.ok && r2.sure)
	// a release is checked at the estimate alone
	down := evaluation{candidate: candidate{headroom: 0.2}, h: 0.2, paid: 2}
	require.True(t, recoveryOf(&down, p, rc, 0.5, 0, 0.1, 1, &cfg).sure)
	keep := evaluation{candidate: candidate{headroom: -1}, cost: 100}
	tight.recovery, tight.cost = r, 10
	roomy.recovery, roomy.cost = r2, 20
	require.Equal(t, 0.2, choose([]evaluation{keep, tight, roomy}).headroom, "roomy is priced 100 %% above tight")
	roomy.cost = 10.8
	require.Equal(t, 0.5, choose([]evaluation{keep, tight, roomy}).headroom, "roomy is priced 8 %% above tight")
	// the same size timed after the next checkpoint: a smaller backlog
	later := tight
	later.after = 40 * time.Second
	small := *rc
	small.outage = 10 * time.Second
	later.recovery = recoveryOf(&later, p, &small, 0.2, 0, 0.1, 1, &cfg)
	require.True(t, later.recovery.sure)
	later.cost = 10.5
	evs := []evaluation{keep, tight, roomy, later}
	best := choose(evs)
	require.Equal(t, 40*time.Second, best.after, "the cheapest that drains in time at the upper level too")
	said := string(best.recovery.describe(text(nil), best, evs))
	require.Contains(t, said, "% above the estimate too")
	require.Contains(t, said, "priced 5% less")
	// keep within the hysteresis of the cheapest raise: keep, as before
	keep.cost = 10.02
	require.True(t, choose([]evaluation{keep, tight, roomy, later}).keep())
}
