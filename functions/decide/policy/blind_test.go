package policy

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// blindJob is a legacy source (no busy time, no pendingRecords) feeding a
// map on 2 subtasks of 15k rec/s each: a window of one run that read
// 24k rec/s unsaturated until 600 s, a 40 s outage, then a run that reads
// 30k rec/s saturated (the map at 100 %) until now.
func blindJob(now time.Duration) (State, events.Snapshot) {
	src := func(in float64) events.VertexSnapshot {
		v := vtx("src", 2, 0, in, in)
		v.BusyMsPerSecond, v.PendingRecords = nil, nil
		return v
	}
	restart := t0.Add(640 * time.Second)
	var st State
	add := func(epoch time.Time, at time.Duration, in, busy, bp float64) {
		st.Window = append(st.Window, Sample{At: t0.Add(at), Epoch: epoch, Offered: in, V: []VertexSample{
			{P: 2, BusyMax: -1, BusyAvg: -1, BP: bp, In: in, Out: in, Pending: -1},
			{P: 2, BusyMax: busy, BusyAvg: busy, In: in, Out: in, Pending: -1},
		}})
	}
	for at := 80 * time.Second; at <= 600*time.Second; at += 10 * time.Second {
		add(t0, at, 24000, 0.8, 0)
	}
	for at := 650 * time.Second; at <= now; at += 10 * time.Second {
		add(restart, at, 30000, 1, 0.85)
	}
	st.Epoch = restart
	snap := snapAt(int(now/time.Second), src(30000), vtx("map", 2, 1000, 30000, 30000, "src"))
	snap.RunningSince = &restart
	return st, snap
}

// After a restart a job whose source cannot show its backlog reads as fast
// as it can while it works off what the outage left: that is not more
// load. Until the outage's backlog at the rate read before it would have
// drained (24k × 40 s ÷ (30k − 24k) = 160 s, plus the meters' minute) the
// job is sized for the rate read before, without the probe; a saturation
// that outlasts it is probed from the least load the stretch shows
// (records read since the job was last unsaturated ÷ that time, the outage
// included), not from the catch-up rate.
func TestBlindCatchUpAfterRestart(t *testing.T) {
	cfg := Defaults()
	cfg.Settle = MeterSettle

	st, snap := blindJob(640*time.Second + 2*time.Minute)
	j := observe(st, &snap, cfg)
	require.True(t, j.blind)
	require.True(t, j.run.catchUp, "%+v", j.run)
	require.InDelta(t, 24000, j.demand(1)[0], 1, "sized for the rate read before the restart")
	require.Contains(t, rationale(j, evaluation{candidate: candidate{ps: []int{2, 2}}}, []evaluation{{candidate: candidate{ps: []int{2, 2}}}}, load{}, restartCost{}, limits{}), "catching up after a restart")

	st, snap = blindJob(640*time.Second + 6*time.Minute + 40*time.Second)
	j = observe(st, &snap, cfg)
	require.False(t, j.run.catchUp, "%+v", j.run)
	// 400 s at 30k over the 440 s since the last unsaturated sample.
	require.InDelta(t, 30000*400.0/440, j.run.least, 1)
	require.InDelta(t, 30000*400.0/440*(1+blindProbe), j.demand(1)[0], 1)

	// The catch-up's samples are the job's capacity, not load: the drift
	// and the scale-down window's peak leave them out.
	ld := measureLoad(st, j, cfg, snap.ObservedAt)
	require.Less(t, ld.loadSigma, 0.05)
	require.InDelta(t, 1, ld.peak, 1e-9)
}

// A probe answered: the job was saturated at 30k rec/s from 300 s (a load
// step), was scaled up and restarted, and now reads 60k catching up. The
// least load shown is (30k × 310 s + 60k × 120 s) ÷ 470 s = 35.1k; the
// job already reads more than 25 % above it, so a probe would ask for no
// more than it has: it is sized for the least load, and probed again only
// once that load comes within the probe of what it reads.
func TestBlindProbeAnsweredAfterRestart(t *testing.T) {
	cfg := Defaults()
	cfg.Settle = MeterSettle
	st, snap := blindJob(640*time.Second + 2*time.Minute)
	for k := range st.Window {
		s := &st.Window[k]
		in, busy, bp := 0.0, 0.0, 0.0
		switch {
		case s.Epoch.Equal(t0) && s.At.Before(t0.Add(300*time.Second)):
			in, busy = 24000, 0.8
		case s.Epoch.Equal(t0):
			in, busy, bp = 30000, 1, 0.85
		default:
			in, busy, bp = 60000, 1, 0.85
		}
		s.Offered = in
		s.V = []VertexSample{
			{P: 2, BusyMax: -1, BusyAvg: -1, BP: bp, In: in, Out: in, Pending: -1},
			{P: 4, BusyMax: busy, BusyAvg: busy, In: in, Out: in, Pending: -1},
		}
	}
	j := observe(st, &snap, cfg)
	require.True(t, j.blind)
	require.False(t, j.run.catchUp, "%+v", j.run)
	least := (30000*310.0 + 60000*120.0) / 470
	require.InDelta(t, least, j.run.least, 1)
	require.InDelta(t, least, j.demand(1)[0], 1, "no probe: the job reads more than the probe would ask")
	require.Contains(t, rationale(j, evaluation{candidate: candidate{ps: []int{2, 2}}}, []evaluation{{candidate: candidate{ps: []int{2, 2}}}}, load{}, restartCost{}, limits{}),
		"not probed: it reads more than 25% above it")
}

// A job whose source shows no backlog and that stopped being saturated
// less than the meters' minute ago still reads the catch-up in its 60 s
// averages (a scale-down's catch-up read 54.5k rec/s of a 43k load one
// sample after it ended and was scaled up for it): the decision waits,
// and the drift and peak leave those samples out. A minute later it
// decides on what is offered.
func TestBlindCatchUpLeavesTheMeters(t *testing.T) {
	cfg := Defaults()
	cfg.Settle = MeterSettle
	st, _ := blindJob(640*time.Second + 3*time.Minute)
	restart := st.Epoch
	add := func(at time.Duration, in, busy float64) {
		st.Window = append(st.Window, Sample{At: t0.Add(at), Epoch: restart, Offered: in, V: []VertexSample{
			{P: 2, BusyMax: -1, BusyAvg: -1, In: in, Out: in, Pending: -1},
			{P: 2, BusyMax: busy, BusyAvg: busy, In: in, Out: in, Pending: -1},
		}})
	}
	add(830*time.Second, 27000, 0.9)
	src := vtx("src", 2, 0, 27000, 27000)
	src.BusyMsPerSecond, src.PendingRecords = nil, nil
	snap := snapAt(830, src, vtx("map", 2, 900, 27000, 27000, "src"))
	snap.RunningSince = &restart
	j := observe(st, &snap, cfg)
	require.False(t, j.blind)
	require.Contains(t, awaitCatchUp(st.Window, j, cfg.Settle, cfg.RateWindow), "still hold the catch-up")
	capped := j.capped(st.Window, cfg.RateWindow)
	require.True(t, capped[len(capped)-1])

	for at := 840 * time.Second; at <= 900*time.Second; at += 10 * time.Second {
		add(at, 24000, 0.8)
	}
	require.Empty(t, awaitCatchUp(st.Window, j, cfg.Settle, cfg.RateWindow))
}

// Through Decide: a legacy source's job saturated for a minute (a scale-up
// it chose is held by its delay), then not: the next decisions wait for
// the meters' minute (hold settling) instead of sizing on rates that
// still hold the saturation.
func TestDecideWaitsOutABlindSaturation(t *testing.T) {
	cfg := Defaults()
	cfg.ScaleUpDelay = 10 * time.Minute
	mk := func(sec int) events.Snapshot {
		in, busy, bp := 30000.0, 1000.0, 0.85
		if sec >= 150 {
			in, busy, bp = 27000, 900, 0
		}
		src := vtx("src", 2, 0, in, in)
		src.BusyMsPerSecond, src.PendingRecords = nil, nil
		src.BackPressuredMsPerSecond = &events.AvgMax{Avg: bp * 1000, Max: bp * 1000}
		return snapAt(sec, src, vtx("map", 2, busy, in, in, "src"))
	}
	o := Output{}
	for sec := 80; sec <= 150; sec += 10 {
		s := mk(sec)
		o = Decide(Input{Snapshot: s, State: o.NewState, Config: cfg, Now: s.ObservedAt})
		require.Nil(t, o.Decision)
	}
	require.Equal(t, HoldSettling, o.HoldKind, o.Hold)
	require.Contains(t, o.Hold, "still hold the catch-up")
}

// A job that reads barely more than before its restart drains the outage's
// backlog in years: the drain is bounded (a day), not overflowed.
func TestBlindCatchUpDrainBounded(t *testing.T) {
	cfg := Defaults()
	cfg.Settle = MeterSettle
	st, snap := blindJob(640*time.Second + 2*time.Minute)
	for k := range st.Window {
		if st.Window[k].Epoch.Equal(t0) {
			st.Window[k].V[0].In = 29999.99
		}
	}
	j := observe(st, &snap, cfg)
	require.True(t, j.run.catchUp, "%+v", j.run)
	require.Equal(t, 24*time.Hour+cfg.RateWindow, j.run.drain)
}

// A saturated blind job whose freshest read falls under its meters' minute
// is not probed: what held it at its capacity (a catch-up's backlog, here)
// is going, and the meters still average the minute it read at its
// capacity (chains-windows seed 24006 at 27m: map 4→6 sized 25 % above a
// catch-up that had just ended, where 4 carried the load). The old code
// probed it. A read held flat at the capacity is probed as before.
func TestBlindProbeWaitsForAFallingRead(t *testing.T) {
	cfg := Defaults()
	cfg.Settle = MeterSettle
	st, snap := blindJob(640*time.Second + 6*time.Minute)
	j := observe(st, &snap, cfg)
	require.True(t, j.blind)
	require.Empty(t, awaitCatchUp(st.Window, j, cfg.Settle, cfg.RateWindow), "flat at its capacity: probed")

	// the last 20 s read 27k rec/s: 60 × (29k − 30k) + 20 × 30k over 20 s
	st.Window[len(st.Window)-1].V[0].In = 29000
	j = observe(st, &snap, cfg)
	require.True(t, j.blind, "the meters still read it saturated")
	msg := awaitCatchUp(st.Window, j, cfg.Settle, cfg.RateWindow)
	require.Contains(t, msg, "read 27.0k rec/s over the last 20s")
	require.Contains(t, msg, "what saturated it is going")
}

// A job with a source that shows pendingRecords and one that shows none,
// both reading 30k rec/s with no step: the minute's rates are both
// sources' reads, as the offered rate is, so the rationale claims no step
// up. The old code left the blind source out of the minute's rates and
// wrote "offered 60k (a step up read over the last 20s; the minute's rates
// show 30k)" at every decision of ads-join-groups.
func TestBlindSourceInTheMinutesRates(t *testing.T) {
	j := jobView{vs: []vertexView{
		{name: "kafka", source: true, cur: 1, est: estimate{in: 30000, pending: 0}, offered: 30000},
		{name: "legacy", source: true, cur: 1, est: estimate{in: 30000, pending: -1, busy: -1}},
		{name: "join", cur: 2, est: estimate{in: 60000, busy: 0.5}, inputs: []int{0, 1}},
	}}
	j.sumSources()
	require.InDelta(t, 60000, j.offered, 1e-9)
	require.InDelta(t, 60000, j.minute, 1e-9)
	r := rationale(j, evaluation{candidate: candidate{ps: []int{1, 1, 3}}}, []evaluation{{candidate: candidate{ps: []int{1, 1, 2}}}}, load{}, restartCost{}, limits{})
	require.NotContains(t, r, "a step up")
}
