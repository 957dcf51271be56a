package policy

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/slots"
)

// On a session cluster of 24 slots, a candidate sized at +33 % for
// 60k rec/s (source 12 and enrich 20 sharing the default group, an
// aggregate of 8 in its own, a sink of 2 in a third: 30 slots) is cut to
// the 24 there are a slot at a time where it costs the bottleneck least:
// enrich 16, aggregate 7, sink 1 carry ≥ +6 % everywhere. Lowering the
// largest vertex alone (before session 17) left enrich at 14, 7 % short.
// Outside session mode maxTaskManagers binds the same way; without
// either nothing changes.
func TestCapSlotsTakesSlotsWhereTheyCostTheBottleneckLeast(t *testing.T) {
	j := jobView{vs: []vertexView{
		{id: "src", name: "src", source: true, cur: 1, maxPar: 128, rate: 50000},
		{id: "enrich", name: "enrich", cur: 3, maxPar: 128, rate: 4000, inputs: []int{0}},
		{id: "agg", name: "agg", cur: 2, maxPar: 128, rate: 10000, inputs: []int{1}},
		{id: "sink", name: "sink", cur: 1, maxPar: 128, rate: 20000, inputs: []int{2}},
	}}
	for i := range j.vs {
		j.vs[i].est.in = 1
	}
	caps := newCapMemos(j, []scaling{{a: 1}, {a: 1}, {a: 1}, {a: 1}})
	dem := []float64{60000, 60000, 60000, 18000}
	lim := limits{lo: []int{1, 1, 1, 1}, hi: []int{128, 128, 128, 128}, session: true, slotCap: 24,
		layout: slots.Layout{PerTaskManager: 4}, ids: []string{"src", "enrich", "agg", "sink"},
		group: []int{0, 0, 1, 2}, groups: 3}
	var notes []string
	add := func(i int, n note) { notes = append(notes, j.vs[i].name+": "+n.String()) }

	ps := []int{12, 20, 8, 2}
	capSlots(ps, j, lim, dem, caps, add)
	require.Equal(t, []int{12, 16, 7, 1}, ps)
	require.Equal(t, 24, lim.slots(ps))
	require.ElementsMatch(t, []string{"enrich: " + sessionCapNote, "agg: " + sessionCapNote, "sink: " + sessionCapNote}, notes, "each lowered vertex noted once")

	tms := lim
	tms.session, tms.slotCap, tms.maxTMs = false, 0, 6
	notes = nil
	ps = []int{12, 20, 8, 2}
	capSlots(ps, j, tms, dem, caps, add)
	require.Equal(t, []int{12, 16, 7, 1}, ps, "six 4-slot TaskManagers")
	require.Contains(t, notes, "enrich: "+tmCapNote)

	free := lim
	free.slotCap = 0
	ps = []int{12, 20, 8, 2}
	capSlots(ps, j, free, dem, caps, add)
	require.Equal(t, []int{12, 20, 8, 2}, ps, "no bound")
}

// A session job's bound is the cluster's free slots plus those it holds
// (other jobs hold the rest), at most maxTaskManagers' slots.
func TestSessionSlots(t *testing.T) {
	j := jobView{vs: []vertexView{{id: "a", cur: 3}, {id: "b", cur: 2}}}
	lim := limits{session: true, layout: slots.Layout{PerTaskManager: 4}, group: []int{0, 1}, groups: 2}
	snap := snapAt(100)
	snap.SlotsTotal, snap.SlotsFree = 24, 10 // 5 ours, 9 another job's
	require.Equal(t, 15, sessionSlots(lim, j, &snap))
	lim.maxTMs = 3
	require.Equal(t, 12, sessionSlots(lim, j, &snap), "maxTaskManagers' 12 slots")
	snap.SlotsTotal, snap.SlotsFree = 0, 0
	require.Equal(t, 12, sessionSlots(lim, j, &snap), "no overview: maxTaskManagers'")
	lim.session = false
	require.Zero(t, sessionSlots(lim, j, &snap), "not a session cluster")
}

// A decision whose demand the slots there are cannot carry says so, with
// what the most that fit carry and the seconds over the SLO that leaves.
func TestCapSentenceSaysTheSLOCannotBeMet(t *testing.T) {
	capped := candidate{ps: []int{12, 16, 7, 1}, headroom: 0.5, notes: [][]note{nil, {{format: sessionCapNote}}, nil, nil}}
	evs := []evaluation{
		{candidate: candidate{ps: []int{1, 3, 2, 1}, headroom: -1}, h: -0.6, slots: 6},
		{candidate: capped, h: -0.14, slots: 24, over: 312},
	}
	ld := load{offered: 40000, forecast: 1.1}
	got := string(capSentence(nil, evs, ld, limits{session: true}))
	require.Equal(t, "; the 24 slots the session cluster has for the job carry ~37.8k of the 44.0k rec/s it needs: ~312 s over the SLO at best; the SLO cannot be met within them", got)
	require.Contains(t, string(capSentence(nil, evs, ld, limits{maxTMs: 6})), "the 6 TaskManagers maxTaskManagers allows (24 slots) carry")
	require.Contains(t, evs[1].summary(), "24 slots (the most that fit: -14% headroom)")

	evs[1].h = 0.2
	require.Empty(t, capSentence(nil, evs, ld, limits{session: true}), "the slots carry the demand")
	evs[1].notes = nil
	evs[1].h = -0.14
	require.Empty(t, capSentence(nil, evs, ld, limits{session: true}), "nothing was capped")
}

// A session job already at the most its cluster's slots fit, lagging:
// every candidate is cut back to what runs, so keeping is the choice, and
// the hold says the SLO cannot be met within the slots.
func TestSessionJobAtItsSlotsHoldsSayingTheSLOCannotBeMet(t *testing.T) {
	cfg := Defaults()
	cfg.Mode = events.ModeSession
	var o Output
	for sec := 80; sec <= 300; sec += 10 {
		s := growing(sec, vtx("source", 2, 500, 10000, 10000), vtx("map", 2, 1000, 10000, 10000, "source"))
		s.TaskManagers, s.SlotsTotal, s.SlotsFree, s.SlotsPerTaskManager = 1, 2, 0, 2
		o = Decide(Input{Snapshot: s, State: o.NewState, Config: cfg, Now: s.ObservedAt})
		require.Nil(t, o.Decision, "at %d s: nothing more fits", sec)
	}
	require.Equal(t, HoldNoChange, o.HoldKind, o.Hold)
	require.Contains(t, o.Hold, "the 2 slots the session cluster has for the job carry ~", o.Hold)
	require.Contains(t, o.Hold, "the SLO cannot be met within them", o.Hold)
}
