package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// A job waiting for slots that never come is run at what the registered
// ones allow. It ran settled until 300 s at window 6; our decision at 200 s
// declared window 14 on 14 TaskManagers; a TaskManager was lost during the
// restart and its replacement never registers, so Flink waits for a 14th
// slot for ever (CREATED, every slot free). Before stuckAfter, and while
// our decision may still be under way, the job is left alone; then the
// decision lowers window to the 13 registered slots and drops the
// TaskManager that has not registered.
func TestWaitingForSlotsThatDoNotCome(t *testing.T) {
	cfg := noDelay()
	cfg.Slots.PerTaskManager = 1
	src, win := vtx("source", 3, 300, 30000, 30000), vtx("window", 6, 900, 30000, 6000, "source")
	ran := snapAt(300, src, win)
	st := State{Topology: fingerprint(&ran), Window: []Sample{{At: ran.ObservedAt, Epoch: t0, Offered: 30000}},
		Rescale: &Rescale{DecisionID: "d", At: t0.Add(200 * time.Second), Targets: map[string]int{"source": 3, "window": 14}}}
	waiting := func(sec int) events.Snapshot {
		s := snapAt(sec, vtx("source", 3, 0, 0, 0), vtx("window", 6, 0, 0, 0, "source"))
		s.JobState, s.TaskManagers, s.SlotsTotal, s.SlotsFree, s.Complete = "CREATED", 13, 13, 13, false
		return s
	}
	decide := func(sec int) Output {
		s := waiting(sec)
		return Decide(Input{Snapshot: s, State: st, Config: cfg, Now: s.ObservedAt, SnapshotID: "s"})
	}
	for _, sec := range []int{320, 470, 559} { // down 20 s; 170 s; decision 359 s ago, within RescaleTimeout + MinInterval
		o := decide(sec)
		require.Nil(t, o.Decision, "at %d s", sec)
		require.Equal(t, HoldNotRunning, o.HoldKind)
	}
	o := decide(570)
	require.NotNil(t, o.Decision, o.Hold)
	require.Equal(t, map[string]int{"source": 3, "window": 13}, targetsOf(o.Decision))
	require.Equal(t, events.Count{Current: 13, Target: 13}, o.Decision.TaskManagers)
	require.Contains(t, o.Decision.Rationale, "the job has waited 4m30s for slots since it last ran: 13 registered on 13 TaskManagers where its requirements need 14")
	require.Contains(t, o.Decision.Rationale, "window 14→13")
	require.Contains(t, o.Decision.Rationale, "(window 14→13): 0 restarts of its own (the job is down and starts at this size) and 1 slots of capacity less, "+
		"traded for the lag the wait adds (lag ~270 s added so far", "what it traded, in numbers")
	require.Equal(t, map[string]int{"source": 3, "window": 13}, o.NewState.Rescale.Targets)

	// With our decision applied long ago, the parallelism to fit is the
	// one the job last ran at (window 14), not the one a CREATED job shows
	// (window 6, as submitted), which the registered slots would fit: read
	// so, a job that lost a TaskManager whose replacement never registers
	// had waited for its 14th slot to the end of the run.
	ranAt := st
	ranAt.Window = []Sample{{At: ran.ObservedAt, Epoch: t0, Offered: 30000, V: []VertexSample{{P: 3}, {P: 14}}}}
	ranAt.Rescale = &Rescale{DecisionID: "d", At: t0.Add(200 * time.Second), Applied: t0.Add(260 * time.Second), Targets: map[string]int{"source": 3, "window": 14}}
	s := waiting(570)
	o = Decide(Input{Snapshot: s, State: ranAt, Config: cfg, Now: s.ObservedAt, SnapshotID: "s"})
	require.NotNil(t, o.Decision, o.Hold)
	require.Equal(t, map[string]int{"source": 3, "window": 13}, targetsOf(o.Decision))
	require.Contains(t, o.Decision.Rationale, "window 14→13")

	// A job that holds its slots (restoring) or is not CREATED is not waiting for slots.
	s = waiting(570)
	s.SlotsFree = 0
	require.Nil(t, Decide(Input{Snapshot: s, State: st, Config: cfg, Now: s.ObservedAt}).Decision)
	s = waiting(570)
	s.JobState = "RESTARTING"
	require.Nil(t, Decide(Input{Snapshot: s, State: st, Config: cfg, Now: s.ObservedAt}).Decision)
	// Reactive mode runs at whatever slots there are.
	rcfg := cfg
	rcfg.Mode = events.ModeReactive
	s = waiting(570)
	require.Nil(t, Decide(Input{Snapshot: s, State: st, Config: rcfg, Now: s.ObservedAt}).Decision)
	// A job whose restarts take long is given twice their mean outage
	// while the registered slots are enough for it (a restore still under
	// way keeps them free), and stuckAfter when they are too few: it waits
	// for a TaskManager, not for a restore (faults seed 124007: 7 of 8
	// slots, down 5 min where 3 tell).
	slow := st
	slow.Restarts = []RestartObs{{Downtime: 4 * time.Minute, Outage: 3 * time.Minute}}
	s = waiting(570)
	s.TaskManagers, s.SlotsTotal, s.SlotsFree = 14, 14, 14
	o = Decide(Input{Snapshot: s, State: slow, Config: cfg, Now: s.ObservedAt})
	require.Nil(t, o.Decision)
	require.True(t, strings.HasPrefix(o.Hold, "job is CREATED"), o.Hold)
	s = waiting(570)
	o = Decide(Input{Snapshot: s, State: slow, Config: cfg, Now: s.ObservedAt})
	require.NotNil(t, o.Decision, o.Hold)
	require.Equal(t, map[string]int{"source": 3, "window": 13}, targetsOf(o.Decision))
}

// A job whose declared parallelism fits the registered slots by the
// policy's count and still waits has slot-sharing groups it does not
// report (Flink 1.19, clearing-failover-storm seed 40005: "the parallelism
// last declared fits them", declared again every 6 min for 3 h). It ran
// at source 1, dedup 1, ledger 3 on 3 TaskManagers of 2 slots; our decision
// at 200 s declared 1, 3, 6: 6 slots in one group, 10 counted per vertex,
// and it waits with its 6 slots free. The job's slots are then counted per
// vertex (State.Unfit) and the declaration is asked again at once with the
// 5 TaskManagers that count needs (not run at what 6 slots hold and sized
// again once it runs, a restart more); at most MaxTaskManagers. Once a
// declaration counted per vertex still waits, it is declared what the
// registered slots hold, and after that every lower bound goes to 1
// instead of the same declaration again.
func TestWaitingOnHiddenGroups(t *testing.T) {
	cfg := noDelay()
	cfg.Slots.PerTaskManager = 2
	ran := snapAt(300, vtx("source", 1, 300, 30000, 30000), vtx("dedup", 1, 900, 30000, 30000, "source"), vtx("ledger", 3, 900, 30000, 0, "dedup"))
	last := Sample{At: ran.ObservedAt, Epoch: t0, Offered: 30000, V: []VertexSample{{P: 1}, {P: 1}, {P: 3}}}
	declared := map[string]int{"source": 1, "dedup": 3, "ledger": 6}
	st := State{Topology: fingerprint(&ran), Window: []Sample{last},
		Rescale: &Rescale{DecisionID: "d", At: t0.Add(200 * time.Second), Targets: declared}}
	waiting := func(sec int) events.Snapshot {
		s := snapAt(sec, vtx("source", 1, 0, 0, 0), vtx("dedup", 1, 0, 0, 0, "source"), vtx("ledger", 3, 0, 0, 0, "dedup"))
		s.JobState, s.TaskManagers, s.SlotsTotal, s.SlotsFree, s.Complete = "CREATED", 3, 6, 6, false
		return s
	}
	s := waiting(570)
	o := Decide(Input{Snapshot: s, State: st, Config: cfg, Now: s.ObservedAt, SnapshotID: "s"})
	require.NotNil(t, o.Decision, o.Hold)
	require.True(t, o.NewState.Unfit, "slots counted per vertex from now on")
	require.Equal(t, declared, targetsOf(o.Decision), "the declaration it waits on, asked again")
	require.Equal(t, events.Count{Current: 3, Target: 5}, o.Decision.TaskManagers, "10 slots counted per vertex on 2-slot TaskManagers")
	require.Equal(t, events.SlotSharingDedicated, o.Decision.Slots.Sharing)
	for _, v := range o.Decision.Vertices {
		require.Zero(t, v.Lower, "lower bound at the target: the job starts once the TaskManagers register")
	}
	require.Contains(t, o.Decision.Rationale, "it has groups the policy was not told of")
	require.Contains(t, o.Decision.Rationale, "asked again with the 5 TaskManagers that count needs (10 slots, 2 TaskManagers more")

	capped := cfg
	capped.MaxTaskManagers = 4
	c := Decide(Input{Snapshot: s, State: st, Config: capped, Now: s.ObservedAt, SnapshotID: "s"})
	require.NotNil(t, c.Decision, c.Hold)
	require.Equal(t, 4, c.Decision.TaskManagers.Target, "at most MaxTaskManagers")
	got := targetsOf(c.Decision)
	require.LessOrEqual(t, got["source"]+got["dedup"]+got["ledger"], 8, "fits 4 TaskManagers' slots counted per vertex")

	// The TaskManagers did not come and the job still waits on the
	// declaration counted per vertex: it is declared what the 6
	// registered slots hold.
	again := o.NewState
	again.Rescale = &Rescale{DecisionID: "d2", At: t0.Add(570 * time.Second), Targets: declared}
	s = waiting(570 + 400)
	o = Decide(Input{Snapshot: s, State: again, Config: cfg, Now: s.ObservedAt, SnapshotID: "s"})
	require.NotNil(t, o.Decision, o.Hold)
	got = targetsOf(o.Decision)
	require.LessOrEqual(t, got["source"]+got["dedup"]+got["ledger"], 6, "fits 6 slots counted per vertex")
	require.Equal(t, 3, o.Decision.TaskManagers.Target, "the TaskManagers that did not register are dropped")
	for _, v := range o.Decision.Vertices {
		require.Zero(t, v.Lower, "lower bound at the target: the fit runs under any groups")
	}
	require.Contains(t, o.Decision.Rationale, "where its requirements need 10")

	// A job that still waits on that declaration (counted per vertex it
	// fits) is declared lower bounds of 1: Flink runs it at what its slots
	// allow.
	third := o.NewState
	third.Rescale = &Rescale{DecisionID: "d3", At: t0.Add(970 * time.Second), Targets: got}
	s = waiting(970 + 400)
	o = Decide(Input{Snapshot: s, State: third, Config: cfg, Now: s.ObservedAt, SnapshotID: "s"})
	require.NotNil(t, o.Decision, o.Hold)
	for _, v := range o.Decision.Vertices {
		require.Equal(t, 1, v.Lower, v.ID)
		require.Equal(t, got[v.ID], v.Upper, v.ID)
	}
	require.Contains(t, o.Decision.Rationale, "every lower bound is declared 1")

	// Flink 1.20 reports every vertex's group: the count is Flink's, so
	// its slots are not counted per vertex, and a wait on a declaration
	// that fits it is answered with lower bounds of 1 at once.
	reported := waiting(570)
	for i := range reported.Vertices {
		reported.Vertices[i].SlotSharingGroup = "default"
	}
	o = Decide(Input{Snapshot: reported, State: st, Config: cfg, Now: reported.ObservedAt, SnapshotID: "s"})
	require.False(t, o.NewState.Unfit)
	require.NotNil(t, o.Decision, o.Hold)
	for _, v := range o.Decision.Vertices {
		require.Equal(t, 1, v.Lower, v.ID)
	}
}

// A job that ran at a parallelism for longer than hiddenGroupsAfter, its
// slots then compared with the policy's count and no groups found hidden,
// and that waits at that parallelism on as many slots, every one free, is
// restarting (a state restore, a failed restore and the restart after it),
// not waiting on groups the policy was not told of (faults seed 85003: a
// failover and a failed restore kept the job down 3m20s; read as hidden
// groups, its slots were counted per vertex to the end of the run). It
// ran source 3, window 6 for 300 s on 6 one-slot TaskManagers and waits
// with those 6 free: no decision, its slots still counted by its groups.
// A run shorter than that at the same parallelism is no evidence: the
// wait is taken as hidden groups as before.
func TestWaitAfterARunAtThatParallelismIsNoHiddenGroup(t *testing.T) {
	cfg := noDelay()
	cfg.Slots.PerTaskManager = 1
	ran := snapAt(300, vtx("source", 3, 300, 30000, 30000), vtx("window", 6, 900, 30000, 0, "source"))
	state := func(epoch time.Duration) State {
		return State{Topology: fingerprint(&ran), Epoch: t0.Add(epoch),
			Window: []Sample{{At: ran.ObservedAt, Epoch: t0.Add(epoch), Offered: 30000, V: []VertexSample{{P: 3}, {P: 6}}}}}
	}
	s := snapAt(570, vtx("source", 3, 0, 0, 0), vtx("window", 6, 0, 0, 0, "source"))
	s.JobState, s.TaskManagers, s.SlotsTotal, s.SlotsFree, s.Complete = "CREATED", 6, 6, 6, false

	o := Decide(Input{Snapshot: s, State: state(0), Config: cfg, Now: s.ObservedAt, SnapshotID: "s"})
	require.Nil(t, o.Decision, "a restart under way, not hidden groups")
	require.Equal(t, HoldNotRunning, o.HoldKind)
	require.False(t, o.NewState.Unfit, "slots still counted by the job's groups")

	o = Decide(Input{Snapshot: s, State: state(240 * time.Second), Config: cfg, Now: s.ObservedAt, SnapshotID: "s"})
	require.NotNil(t, o.Decision, "a run of 60 s showed nothing of its groups: %s", o.Hold)
	require.True(t, o.NewState.Unfit)
	require.Contains(t, o.Decision.Rationale, "it has groups the policy was not told of")
}

// A job waiting with no slot registered at all (its only TaskManager lost,
// the replacement pod never registering: sensor-failovers-nopending seed
// 115004 sat CREATED for 2 h) is asked again at the parallelism it last
// ran at, on the TaskManagers that needs, for actuate to replace the ones
// that have not registered. Not before stuckAfter; then again only 6 and
// 12 min after the ask before, at most maxReplacements times a wait, and
// then held saying why it gave up.
func TestWaitingWithNoSlotAsksForReplacements(t *testing.T) {
	cfg := noDelay()
	cfg.Slots.PerTaskManager = 4
	src, win := vtx("source", 1, 300, 20000, 20000), vtx("window", 3, 900, 20000, 6000, "source")
	ran := snapAt(300, src, win)
	st := State{Topology: fingerprint(&ran), Window: []Sample{{At: ran.ObservedAt, Epoch: t0, Offered: 20000, V: []VertexSample{{P: 1}, {P: 3}}}}}
	decide := func(st State, sec int) Output {
		s := snapAt(sec, vtx("source", 1, 0, 0, 0), vtx("window", 3, 0, 0, 0, "source"))
		s.JobState, s.TaskManagers, s.SlotsTotal, s.SlotsFree, s.Complete = "CREATED", 0, 0, 0, false
		return Decide(Input{Snapshot: s, State: st, Config: cfg, Now: s.ObservedAt, SnapshotID: "s"})
	}
	o := decide(st, 470) // down 170 s
	require.Nil(t, o.Decision)
	require.Equal(t, HoldNotRunning, o.HoldKind)

	asks := []int{480, 840, 1560} // 3 min down; 6 min after the first ask; 12 min after the second
	for i, sec := range asks {
		if i > 0 {
			early := decide(st, sec-10)
			require.Nil(t, early.Decision, "ask %d came early, at %d s", i+1, sec-10)
			require.Equal(t, HoldNotRunning, early.HoldKind)
		}
		o = decide(st, sec)
		require.NotNil(t, o.Decision, "ask %d at %d s: %s", i+1, sec, o.Hold)
		require.Equal(t, map[string]int{"source": 1, "window": 3}, targetsOf(o.Decision))
		require.Equal(t, events.Count{Current: 0, Target: 1}, o.Decision.TaskManagers)
		require.Contains(t, o.Decision.Rationale, "for slots since it last ran with none registered (0 TaskManagers registered)")
		require.Contains(t, o.Decision.Rationale, "actuate replaces those that have not registered (replacement "+[]string{"1", "2", "3"}[i]+" of at most 3)")
		require.Contains(t, o.Decision.Rationale, "traded for a pod deleted and started again")
		require.Equal(t, i+1, o.NewState.Rescale.Replacements)
		st = o.NewState
		st.Rescale.Applied = st.Rescale.At.Add(30 * time.Second)
	}
	o = decide(st, 3600)
	require.Nil(t, o.Decision)
	require.Equal(t, HoldNotRunning, o.HoldKind)
	require.Contains(t, o.Hold, "3 replacements of its TaskManagers were asked for and none registered: given up")

	// Reactive mode runs at whatever slots there are: no ask.
	rcfg := cfg
	rcfg.Mode = events.ModeReactive
	s := snapAt(480, vtx("source", 1, 0, 0, 0), vtx("window", 3, 0, 0, 0, "source"))
	s.JobState, s.TaskManagers, s.SlotsTotal, s.SlotsFree, s.Complete = "CREATED", 0, 0, 0, false
	require.Nil(t, Decide(Input{Snapshot: s, State: State{Topology: st.Topology, Window: st.Window}, Config: rcfg, Now: s.ObservedAt}).Decision)
}
