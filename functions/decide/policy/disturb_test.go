package policy

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/slots"
)

// With 10-minute checkpoints a failover replays ~5 minutes: no standing
// headroom drains that within slo.recovery, and the policy answers such a
// backlog with a scale-up once it has reacted. Priced so, the 0.2
// failovers an hour budgeted no longer put ~108 s over the SLO on keeping
// a job at +50 % (checkpoints-and-groups at 40k records/s, Window at 4:
// "keeping: 0.0 restarts, ~109 s over the SLO … 8 slots (+150% headroom)",
// bought for the disturbance term alone); keeping is priced with the
// follow-up's two restarts (up and the release) instead. With 60-second
// checkpoints (a 30 s replay) the price is the ride at the standing
// headroom, as before.
func TestFailoverReplayOfMinutesIsAnsweredNotStood(t *testing.T) {
	cfg := Defaults()
	ld := load{disturbances: cfg.Disturbances, react: 100 * time.Second, sigma: minSigma, peak: 1, forecast: 1}
	keep := func(interval time.Duration) evaluation {
		rc := restartCost{interval: interval}
		rc.outage = 30 * time.Second
		e := evaluation{h: 0.502, sigma: minSigma}
		e.slots, e.paid = 4, 4
		price(&e, plan{}, &ld, &rc, 0.502, [3]int{4, 3, 4}, &cfg)
		return e
	}
	long := keep(10 * time.Minute)
	require.Less(t, long.over, 60.0, "old pricing: 107.7 s over the SLO (the ride at +50 %%)")
	require.InDelta(t, 2*cfg.Disturbances, long.restarts, 1e-9, "the failover's follow-up: a scale-up and its release")

	short := keep(time.Minute)
	require.Zero(t, short.restarts, "a 30 s replay is ridden out at the standing headroom")
	ride := lagPath{slo: 60, end: horizon.Seconds()}
	ride.run(30, 1)
	ride.jump(30)
	ride.run(horizon.Seconds(), -0.502)
	require.InDelta(t, cfg.Disturbances*ride.over, short.over, 1e-6)
}

// A failover the job rides is down for restartCost.ridden when set (a
// decision folded into a failover's restart was seen: restartFor), not
// for the outage of the candidate's own restart.
func TestFailoverRiddenAtItsOwnOutage(t *testing.T) {
	cfg := Defaults()
	ld := load{disturbances: cfg.Disturbances, react: 100 * time.Second, sigma: minSigma, peak: 1, forecast: 1}
	keep := func(ridden time.Duration) evaluation {
		rc := restartCost{interval: time.Minute, ridden: ridden}
		rc.outage = 30 * time.Second
		e := evaluation{h: 0.502, sigma: minSigma}
		e.slots, e.paid = 4, 4
		price(&e, plan{}, &ld, &rc, 0.502, [3]int{4, 3, 4}, &cfg)
		return e
	}
	ride := func(outage float64) float64 {
		p := lagPath{slo: 60, end: horizon.Seconds()}
		p.run(outage, 1)
		p.jump(30)
		p.run(horizon.Seconds(), -0.502)
		return cfg.Disturbances * p.over
	}
	require.InDelta(t, ride(30), keep(0).over, 1e-6)
	require.InDelta(t, ride(120), keep(2*time.Minute).over, 1e-6)
	require.Greater(t, keep(2*time.Minute).over, keep(0).over)
}

// Where the policy folds a failover's drain into the failover's own
// restart (adaptive and KEDA mode, every source's capacity measured:
// foldIntoFailover), the follow-up is priced as that fold: the drain
// starts when the failover's restart ends, with no reaction time, outage
// or replay of its own, and one restart (the release). Priced as a second
// restart after the reaction time, keeping a job at +50 % with 10-minute
// checkpoints put ~59 s over the SLO an hour on it and bought +150 %
// headroom for every hour of checkpoints-and-groups, which never fails
// over (2.46× oracle15).
func TestFailoverFollowUpPricedAsTheFold(t *testing.T) {
	cfg := Defaults()
	keep := func(folds bool) evaluation {
		ld := load{disturbances: cfg.Disturbances, react: 100 * time.Second, sigma: minSigma, peak: 1, forecast: 1, folds: folds}
		rc := restartCost{interval: 10 * time.Minute}
		rc.outage = 30 * time.Second
		e := evaluation{h: 0.502, sigma: minSigma}
		e.slots, e.paid = 4, 4
		price(&e, plan{}, &ld, &rc, 0.502, [3]int{4, 3, 4}, &cfg)
		return e
	}
	second, fold := keep(false), keep(true)
	require.InDelta(t, 2*cfg.Disturbances, second.restarts, 1e-9, "a scale-up after the reaction time and its release")
	require.InDelta(t, cfg.Disturbances, fold.restarts, 1e-9, "the release only: the scale-up rides the failover's restart")
	require.Less(t, fold.over, second.over, "no reaction time at +50 %% before the drain")
	require.Less(t, fold.cost, second.cost)

	// the fold's path: outage and half the interval replayed, then drained
	// within slo.recovery
	p := lagPath{slo: 60, end: horizon.Seconds()}
	p.run(30, 1)
	p.jump(300)
	p.run(cfg.SLO.Recovery.Seconds(), -p.lag/cfg.SLO.Recovery.Seconds())
	require.InDelta(t, cfg.Disturbances*p.over, fold.over, 1e-6)
}

// The fold is what answers a failover only where foldIntoFailover makes
// it: adaptive and KEDA mode, every source's capacity measured.
func TestFoldsFailoverWhereTheFoldIsMade(t *testing.T) {
	known := jobView{vs: []vertexView{{source: true, rate: 1000}, {rate: 500}}}
	blind := jobView{vs: []vertexView{{source: true, rate: 1000, ceiling: 900}, {rate: 500}}}
	unknown := jobView{vs: []vertexView{{source: true}, {rate: 500}}}
	for mode, want := range map[string]bool{"adaptive": true, "keda": true, "reactive": false, "session": false} {
		cfg := Defaults()
		cfg.Mode = mode
		require.Equal(t, want, foldsFailover(cfg, known), mode)
		require.False(t, foldsFailover(cfg, blind), mode)
		require.False(t, foldsFailover(cfg, unknown), mode)
	}
}

// A failover restarts the job whatever a decision changed, so every
// candidate's disturbances are priced at one restart: keep's (the job's
// restart that raises nothing), not the candidate's own. Priced at its
// own, a change that raised some vertex rode the hour's failovers at the
// outage of the job's scale-ups while keep rode them at that of its
// scale-downs: logs-dedupe-session-spikes seed 142014, one scale-down
// whose restore failed twice (2m5s) against scale-ups of 37 s, priced
// keep [4 5 4 5] ~27 s over the SLO and the reshape [1 6 4 5] (a slot
// moved from the source to the parse chain, +78 % headroom either way)
// 0 s, and swapped that slot back and forth at "+0 slot-s/h" (7 flaps).
func TestFailoversPricedAtOneRestartForEveryCandidate(t *testing.T) {
	cfg := Defaults()
	const offered = 20e3
	j := jobView{offered: offered, vs: []vertexView{
		{id: "src", source: true, cur: 4, rate: 40e3, est: estimate{in: offered}},
		{id: "parse", cur: 5, rate: 7e3, est: estimate{in: offered}},
	}}
	sc := []scaling{{a: 1}, {a: 1}}
	dem := []float64{offered, offered}
	lim := limits{lo: []int{1, 1}, hi: []int{128, 128}, layout: slots.Layout{PerTaskManager: 2, Dedicated: true}, ids: []string{"src", "parse"}, session: true}
	base := restartCost{interval: 90 * time.Second}
	base.outage, base.replay = 125*time.Second, 8*time.Second
	up := base
	up.outage = 37 * time.Second
	base.up = &up
	ld := load{disturbances: cfg.Disturbances, react: 100 * time.Second, sigma: minSigma, peak: 1, forecast: 1}
	cands := []candidate{{ps: []int{4, 5}, headroom: -1}, {ps: []int{3, 6}, headroom: 0.5}}
	evs := evaluateAll(new(scratch), cands, j, ld, dem, base, lim, sc, newCapMemos(j, sc), cfg)
	keep, reshape := evs[0], evs[1]
	require.True(t, keep.keep())
	require.True(t, reshape.rises)
	require.Greater(t, keep.over, 1.0, "keep rides the failovers at the 2m5s outage")
	// the reshape's own restart (37 s down, 8 s replayed) stays under the
	// 60 s SLO: all it is over is the failovers', at keep's restart
	ride := lagPath{slo: cfg.SLO.MaxLag.Seconds(), end: horizon.Seconds()}
	ride.run(125, 1)
	ride.jump(45)
	ride.run(horizon.Seconds(), -reshape.h)
	require.InDelta(t, cfg.Disturbances*ride.over, reshape.over, 1e-6, "old pricing: the failovers at the scale-up's 37 s outage, 4 s over (keep 33 s)")
}
