package policy

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// legacyJob is a legacy source (no busy time, no pendingRecords) on one
// subtask feeding a map on 2 subtasks that is never saturated: a run read
// 20k rec/s until 600 s, a 40 s outage, then a run that worked off the
// outage's backlog at the source's ceiling (24.9k rec/s, the map 70 %
// busy) until 830 s, read the 20k offered again, and from 1200 s on reads
// read rec/s with the map mapBusy busy.
func legacyJob(now time.Duration, read, mapBusy float64) (State, events.Snapshot) {
	return blindSourceJob(now, read, mapBusy, -1)
}

// blindSourceJob is legacyJob with a source that reports busy time:
// srcBusy of the time per 24.9k rec/s it reads (its true busy time ×
// srcBusy; -1: none).
func blindSourceJob(now time.Duration, read, mapBusy, srcBusy float64) (State, events.Snapshot) {
	restart := t0.Add(640 * time.Second)
	var st State
	srcBusyAt := func(in float64) float64 {
		if srcBusy < 0 {
			return -1
		}
		return srcBusy * in / 24900
	}
	add := func(epoch time.Time, at time.Duration, in, busy float64) {
		st.Window = append(st.Window, Sample{At: t0.Add(at), Epoch: epoch, Offered: in, V: []VertexSample{
			{P: 1, BusyMax: srcBusyAt(in), BusyAvg: srcBusyAt(in), In: in, Out: in, Pending: -1},
			{P: 2, BusyMax: busy, BusyAvg: busy, In: in, Out: in, Pending: -1},
		}})
		if len(st.Window) > 60 {
			st.Window = st.Window[1:]
		}
	}
	src := vtx("src", 1, 1000*srcBusyAt(read), read, read)
	src.PendingRecords = nil
	if srcBusy < 0 {
		src.BusyMsPerSecond = nil
	}
	snap := snapAt(int(now/time.Second), src, vtx("map", 2, 1000*mapBusy, read, read, "src"))
	snap.RunningSince = &restart
	for at := 80 * time.Second; at <= 600*time.Second; at += 10 * time.Second {
		add(t0, at, 20000, 0.55)
		st = learned(st, snap)
	}
	for at := 650 * time.Second; at <= now; at += 10 * time.Second {
		in, busy := 24900.0, 0.7
		switch {
		case at >= 1200*time.Second:
			in, busy = read, mapBusy
		case at >= 830*time.Second:
			in, busy = 20000, 0.55
		}
		add(restart, at, in, busy)
		st.Epoch = restart
		st = learned(st, snap)
	}
	return st, snap
}

func learned(st State, snap events.Snapshot) State {
	cfg := Defaults()
	cfg.Settle = MeterSettle
	st.Ceilings = learnCeilings(st, &snap, cfg)
	return st
}

// A legacy source at its ceiling shows no busy time, no idle time (Flink
// times none for it), no backlog and no back-pressure; downstream is 70 %
// busy. What shows it is the rate it worked off a restart's backlog at:
// that is learned as its ceiling, and reading ≥ 95 % of it later counts as
// saturation, so the job is probed (+25 %) and the source, whose capacity
// is now known, is sized for it. Without the ceiling (the old code) the
// job read "not saturated, offered = what it reads" and kept it.
func TestLegacySourceCeilingLearnedFromCatchUp(t *testing.T) {
	cfg := Defaults()
	cfg.Settle = MeterSettle

	st, snap := legacyJob(30*time.Minute, 24800, 0.7)
	require.Equal(t, Ceiling{PerSubtask: 24900, P: 1, Run: t0.Add(640 * time.Second)}, st.Ceilings["src"])
	j := observe(st, &snap, cfg)
	require.True(t, j.vs[0].atCeiling())
	require.True(t, j.blind, "a source at its learned ceiling is saturation")
	require.InDelta(t, 24900, j.vs[0].rate, 1e-9, "its capacity per subtask")
	require.Greater(t, j.demand(1)[0], 24900.0, "probed above what it can read")
	sc := scaling{a: 1}
	memo := &capMemo{v: &j.vs[0], a: 1}
	require.Equal(t, 2, sizeVertex(&j.vs[0], sc, j.demand(1)[0], j.demand(1)[0], 8, 1, memo))
	r := rationale(j, evaluation{candidate: candidate{ps: []int{2, 2}}}, []evaluation{{candidate: candidate{ps: []int{1, 2}}}}, load{}, restartCost{}, limits{})
	require.Contains(t, r, "src reads 24.8k rec/s, 100% of its learned ceiling (24.9k rec/s per subtask")

	// Reading well below it: not saturated, sized on what it reads.
	st, snap = legacyJob(30*time.Minute, 20000, 0.55)
	j = observe(st, &snap, cfg)
	require.False(t, j.blind)
	require.InDelta(t, 20000, j.demand(1)[0], 1e-9)
	require.Equal(t, 24900.0, j.vs[0].rate, "its capacity stays known: a scale-down prices its spare")
}

// A source without pendingRecords whose busy time under-reads (a FLIP-27
// reader bound by its fetcher thread: busy says 50 % at its ceiling, so
// busy time alone reads its capacity as 49.8k): the rate it worked off a
// restart's backlog at is learned as its ceiling like a legacy source's,
// replaces the busy-derived rate, and reading at it is saturation, probed.
// The old code learned nothing for a source that reports busy time and read
// it as half busy: "not saturated, offered = what it reads", kept for the
// rest of the run (sensor-failovers-nopending seed 24004: steady p99
// 2,691 s).
func TestUnderReadSourceCeilingLearnedFromCatchUp(t *testing.T) {
	cfg := Defaults()
	cfg.Settle = MeterSettle

	st, snap := blindSourceJob(30*time.Minute, 24800, 0.7, 0.5)
	require.Equal(t, Ceiling{PerSubtask: 24900, P: 1, Run: t0.Add(640 * time.Second)}, st.Ceilings["src"])
	j := observe(st, &snap, cfg)
	require.InDelta(t, 0.5, j.vs[0].est.busy, 0.01, "busy time shown")
	require.InDelta(t, 24900, j.vs[0].rate, 1e-9, "the ceiling, not the 49.8k busy time says")
	require.True(t, j.vs[0].atCeiling())
	require.True(t, j.blind, "a source at its learned ceiling is saturation")
	require.Greater(t, j.demand(1)[0], 24900.0, "probed above what it can read")
	r := rationale(j, evaluation{candidate: candidate{ps: []int{2, 2}}}, []evaluation{{candidate: candidate{ps: []int{1, 2}}}}, load{}, restartCost{}, limits{})
	require.Contains(t, r, "src reads 24.8k rec/s, 100% of its learned ceiling (24.9k rec/s per subtask")

	// A source whose busy time is right reads its ceiling as saturated
	// busy first; a learned ceiling above its busy-derived rate is not used.
	st, snap = blindSourceJob(30*time.Minute, 20000, 0.55, 1.2)
	j = observe(st, &snap, cfg)
	require.Zero(t, j.vs[0].ceiling)
	require.InDelta(t, 20750, j.vs[0].rate, 1, "busy time's rate (20k at 96 %)")
}

// What is not a ceiling: a catch-up held back by a saturated vertex
// downstream, a rise read long after the restart's backlog drained, and a
// ceiling read above (forgotten).
func TestLegacySourceCeilingNotLearned(t *testing.T) {
	st, _ := legacyJob(30*time.Minute, 20000, 0.97)
	require.Equal(t, 24900.0, st.Ceilings["src"].PerSubtask, "learned during the catch-up, before the map saturated")

	// The map saturated during the catch-up: the source read the map's
	// limit, not its own.
	restart := t0.Add(640 * time.Second)
	var w []Sample
	for at := 80 * time.Second; at <= 600*time.Second; at += 10 * time.Second {
		w = append(w, Sample{At: t0.Add(at), Epoch: t0, V: []VertexSample{{P: 1, BusyMax: -1, BusyAvg: -1, In: 20000, Pending: -1}, {P: 2, BusyMax: 0.6, BusyAvg: 0.6, In: 20000}}})
	}
	// the run from 650 s to sec: high rec/s until until, then low (the
	// first settled sample is at 710 s, the next a minute later at 770 s)
	at := func(sec int, high float64, until int, low, busy float64) State {
		ws := w[:len(w):len(w)]
		for a := 650; a <= sec; a += 10 {
			r, b := high, busy
			if a >= until {
				r, b = low, 0.55
			}
			ws = append(ws, Sample{At: t0.Add(time.Duration(a) * time.Second), Epoch: restart,
				V: []VertexSample{{P: 1, BusyMax: -1, BusyAvg: -1, In: r, Pending: -1}, {P: 2, BusyMax: b, BusyAvg: b, In: r}}})
		}
		return State{Epoch: restart, Window: ws}
	}
	src := vtx("src", 1, 0, 1, 1)
	src.BusyMsPerSecond, src.PendingRecords = nil, nil
	snap := snapAt(900, src, vtx("map", 2, 500, 1, 1, "src"))
	require.Equal(t, 24900.0, learned(at(900, 24900, 830, 20000, 0.7), snap).Ceilings["src"].PerSubtask)
	require.Empty(t, learned(at(820, 24900, 830, 20000, 0.7), snap).Ceilings, "not fallen back yet")
	// The third window still partly in the catch-up: two flat windows and
	// the fall are enough.
	ending := at(900, 24900, 830, 20000, 0.7)
	for k := range ending.Window {
		if s := &ending.Window[k]; s.At.Equal(t0.Add(830 * time.Second)) {
			s.V[0].In = 23800
		}
	}
	require.Equal(t, 24900.0, learned(ending, snap).Ceilings["src"].PerSubtask, "a third window partly caught up")
	require.Empty(t, learned(at(900, 24900, 830, 20000, 0.99), snap).Ceilings, "held back downstream")
	require.Empty(t, learned(at(900, 21000, 830, 20000, 0.6), snap).Ceilings, "within the load's noise")
	// One that rose during the outage and holds three windows is taken
	// for a ceiling (it cannot be told from one; a read above it later
	// forgets it); one that keeps rising is not.
	require.NotEmpty(t, learned(at(900, 24900, 2000, 20000, 0.7), snap).Ceilings, "held three windows")
	rising := at(900, 24900, 2000, 20000, 0.7)
	for k := range rising.Window {
		if s := &rising.Window[k]; s.Epoch.Equal(restart) {
			s.V[0].In = 22000 + 15*s.At.Sub(restart).Seconds()
		}
	}
	require.Empty(t, learned(rising, snap).Ceilings, "a rising load")
	// The first window high, the next lower: the catch-up ended within a
	// window, so it read less than its limit (a lower bound, not a
	// ceiling).
	require.Empty(t, learned(at(900, 24900, 730, 22500, 0.7), snap).Ceilings, "a catch-up that ended within a window")

	// Read 10 % above: the ceiling was not one.
	st = at(900, 24900, 830, 20000, 0.7)
	st.Ceilings = map[string]Ceiling{"src": {PerSubtask: 22000, P: 1, Run: t0}}
	st.Window[len(st.Window)-1].V[0].In = 24200
	require.Empty(t, learned(st, snap).Ceilings)
}

// Early in a run a blind source that reads well above what it read before
// the restart is working off the outage's backlog, which it cannot show:
// no decision sizes the job on it (the old code scaled downstream up for
// it: legacy-jms-day seed 12002 at 18m30s, "offered 28.0k" at a true
// 21k). The wait ends when the backlog would have drained at the rate
// read (20k × 40 s ÷ 4.9k = 163 s) plus the settle and the meters' window.
func TestBlindCatchUpIsNotLoad(t *testing.T) {
	cfg := Defaults()
	cfg.Settle = MeterSettle
	st, snap := legacyJob(640*time.Second+2*time.Minute, 24900, 0.7)
	j := observe(st, &snap, cfg)
	require.False(t, j.blind)
	msg := awaitBlindCatchUp(st, j, cfg)
	require.Contains(t, msg, "src reads 24.9k rec/s, 25% above the 20.0k it read before the restart")
	require.Contains(t, msg, "waiting 2m53s")

	st, snap = legacyJob(640*time.Second+5*time.Minute, 24900, 0.7)
	require.Empty(t, awaitBlindCatchUp(st, observe(st, &snap, cfg), cfg), "past the drain")
	st, snap = legacyJob(640*time.Second+2*time.Minute, 21000, 0.55)
	for k := range st.Window {
		if s := &st.Window[k]; s.Epoch.After(t0) {
			s.V[0].In = 21000
		}
	}
	require.Empty(t, awaitBlindCatchUp(st, observe(st, &snap, cfg), cfg), "within the load's noise")
}

// latePendingJob is a Kafka-like source on one subtask whose busy time is
// srcBusy × its true busy time and whose pendingRecords registers 2 min
// after each (re)start (FLINK-31299), feeding a map on 2 subtasks: a run
// read 20k rec/s with no backlog until 600 s, a 40 s outage, then a run
// that works off the outage's backlog at the source's limit (24.9k rec/s,
// the map 70 % busy); from 760 s its pendingRecords shows the backlog left
// (400k records, draining 1k/s). now is the latest sample.
func latePendingJob(now time.Duration, srcBusy float64) (State, events.Snapshot) {
	restart := t0.Add(640 * time.Second)
	busyAt := func(in float64) float64 { return math.Min(srcBusy*in/24900, 1) }
	var st State
	pendingAt := func(at time.Duration) float64 {
		if at < 760*time.Second {
			return -1
		}
		return 400000 - 1000*(at-760*time.Second).Seconds()
	}
	for at := 80 * time.Second; at <= 600*time.Second; at += 10 * time.Second {
		st.Window = append(st.Window, Sample{At: t0.Add(at), Epoch: t0, V: []VertexSample{
			{P: 1, BusyMax: busyAt(20000), BusyAvg: busyAt(20000), In: 20000, Out: 20000, Pending: 0},
			{P: 2, BusyMax: 0.55, BusyAvg: 0.55, In: 20000, Out: 20000, Pending: -1}}})
	}
	st.Epoch = restart
	for at := 650 * time.Second; at <= now; at += 10 * time.Second {
		st.Window = append(st.Window, Sample{At: t0.Add(at), Epoch: restart, V: []VertexSample{
			{P: 1, BusyMax: busyAt(24900), BusyAvg: busyAt(24900), In: 24900, Out: 24900, Pending: pendingAt(at)},
			{P: 2, BusyMax: 0.7, BusyAvg: 0.7, In: 24900, Out: 24900, Pending: -1}}})
	}
	src := vtx("src", 1, 1000*busyAt(24900), 24900, 24900)
	src.PendingRecords = ptr(pendingAt(now))
	snap := snapAt(int(now/time.Second), src, vtx("map", 2, 700, 24900, 24900, "src"))
	snap.RunningSince = &restart
	return st, snap
}

// A source whose busy time under-reads (40 % at its limit) and whose
// pendingRecords registers 2 min after each restart hides the outage's
// backlog from the run's first settled samples exactly as a source
// without pendingRecords does: its catch-up, read flat, is its ceiling,
// and once its pendingRecords shows the backlog still left, unthrottled,
// that read is its limit. The ceiling replaces the busy-derived rate
// (62k), so the job is sized for the source's real capacity and a drain
// at 24.9k is priced as one. The old code learned ceilings only for a
// source that shows no pendingRecords in the latest sample, so
// skewed-sources' source stayed at 4 subtasks while its lag waited 2 min
// to show (lag back 549 s).
func TestLatePendingSourceCeilingLearnedFromCatchUp(t *testing.T) {
	cfg := Defaults()
	cfg.Settle = MeterSettle

	st, snap := latePendingJob(760*time.Second, 0.4)
	require.Equal(t, Ceiling{PerSubtask: 24900, P: 1, Run: t0.Add(640 * time.Second)}, learnCeilings(st, &snap, cfg)["src"],
		"the backlog shown as it registers, the catch-up read flat since the first settled sample")
	// Its backlog draining, the observed true rate (a lag that grows) says
	// nothing; the ceiling does.
	st, snap = latePendingJob(800*time.Second, 0.4)
	st.Ceilings = learnCeilings(st, &snap, cfg)
	j := observe(st, &snap, cfg)
	require.Negative(t, j.vs[0].est.slope)
	require.InDelta(t, 24900, j.vs[0].rate, 1e-9, "the ceiling, not the 62k busy time says")
	require.True(t, j.vs[0].atCeiling())
	require.False(t, j.blind, "its backlog is shown: sized on it, not probed")

	// Before the backlog shows, one flat window is not enough.
	st, snap = latePendingJob(750*time.Second, 0.4)
	snap.Vertices[0].PendingRecords = nil
	require.Empty(t, learnCeilings(st, &snap, cfg))

	// A source whose busy time is right is saturated catching up: nothing
	// is learned.
	st, snap = latePendingJob(760*time.Second, 1)
	require.Empty(t, learnCeilings(st, &snap, cfg))

	// A ceiling within ceilingSlack of a pending source's busy-derived
	// rate is busy time's noise, not an under-read: not used.
	st, snap = latePendingJob(760*time.Second, 0.97)
	st.Ceilings = map[string]Ceiling{"src": {PerSubtask: 24900, P: 1, Run: st.Epoch}}
	j = observe(st, &snap, cfg)
	require.Zero(t, j.vs[0].ceiling)
	require.InDelta(t, 24900/0.97, j.vs[0].rate, 1)
}
