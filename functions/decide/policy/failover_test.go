package policy

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/slots"
)

// A failover's drain is folded into its own restart. The job ran settled at
// source 3, window 3 (12,000 rec/s per subtask, 30,000 offered: 20 %
// spare), sink 1, checkpointing every minute; at 300 s a TaskManager is
// lost and the job is CREATED, waiting for its replacement (Flink shows the
// submission-time parallelism meanwhile). At 20 % spare the failover's
// backlog (its outage and the replay since the last checkpoint) takes many
// minutes to drain, and a scale-up decided once the job runs again would be
// a second restart; decided now, the job comes back at the larger size in
// the failover's own restart. Not while our own decision may be under way,
// not twice for one failover, not in reactive mode, not when the slots
// registered hold the job (Flink builds the failover's graph at once, so a
// change would be a second restart).
func TestFailoverFoldsTheDrain(t *testing.T) {
	cfg := noDelay()
	cfg.Slots.PerTaskManager = 1
	ck := 60 * time.Second
	running := func(sec int) events.Snapshot {
		return failoverJob(sec, ck, t0.Add(time.Duration(sec)*time.Second).Truncate(ck))
	}
	o := feedOurs(t, cfg, pinned, 23, running) // 80 s … 300 s
	require.Nil(t, o.Decision, o.Hold)
	ran := o.NewState
	down := failoverDown
	decide := func(st State, c Config, sec int) Output {
		s := down(sec)
		return Decide(Input{Snapshot: s, State: st, Config: c, Now: s.ObservedAt, SnapshotID: "s"})
	}
	o = decide(ran, cfg, 310)
	require.NotNil(t, o.Decision, o.Hold)
	got := targetsOf(o.Decision)
	require.Greater(t, got["window"], 3, "the drain's spare")
	require.Equal(t, got["window"], got["source"], "raised with its slot-sharing group: no slot more")
	require.Equal(t, 3, o.Decision.Vertices[1].Current, "the parallelism the job ran at, not the one Flink shows while CREATED")
	require.Greater(t, o.Decision.TaskManagers.Target, 3)
	require.Contains(t, o.Decision.Rationale, "decided while the job is CREATED after a failover (down 10s, 2 of the 3 slots it ran on registered): it comes back at this size in the failover's own restart (or, if Flink already runs it on the slots left, in the restart Flink makes when the TaskManagers register)")
	require.Contains(t, o.Decision.Rationale, "traded against")
	require.Contains(t, o.Decision.Rationale, "since the last checkpoint")
	require.True(t, o.NewState.Rescale.Failover)
	require.Len(t, o.NewState.Failovers, 1)

	// recorded as a scale-up: once it ran, a release back to the size
	// the job ran at before, on the same 30,000 rec/s within undoWindow,
	// undoes it (a decided flap on the scorecard) and is priced as one,
	// at the release's own restart, not at the failover's the fold rode
	fold := o.NewState
	require.InDelta(t, 30000, fold.Rescale.Offered, 3000)
	require.Positive(t, fold.Rescale.Need)
	require.Zero(t, fold.Rescale.Stop, "the fold added no restart of its own")
	applied := *fold.Rescale
	applied.Applied = t0.Add(400 * time.Second)
	fold.Rescale = &applied
	at := jobView{offered: 30000, vs: []vertexView{{id: "source", cur: got["source"]}, {id: "window", cur: got["window"]}, {id: "sink", cur: got["sink"]}}}
	lim := limits{layout: slots.Layout{PerTaskManager: 1}, ids: []string{"source", "window", "sink"}}
	release := evaluation{candidate: candidate{ps: []int{3, 3, 1}, headroom: 0.2}, paid: 3}
	u := undoOf(release, fold, at, lim, 3, 40*time.Second, cfg, t0.Add(600*time.Second))
	require.True(t, u.undoes, "the fold's release on the load it was made on")
	require.Zero(t, u.sized)
	require.Equal(t, 200*time.Second, u.since)

	// a CREATED job may list its vertices in another order than it ran
	// with (real Flink 1.20): they are read by ID, not by index
	reordered := func(sec int) events.Snapshot {
		s := down(sec)
		slices.Reverse(s.Vertices)
		return s
	}
	rs := reordered(310)
	ro := Decide(Input{Snapshot: rs, State: ran, Config: cfg, Now: rs.ObservedAt, SnapshotID: "s"})
	require.NotNil(t, ro.Decision, ro.Hold)
	require.Equal(t, got, targetsOf(ro.Decision), "the same decision whatever order Flink lists the vertices in")
	require.Equal(t, o.Decision.Rationale, ro.Decision.Rationale)

	// once: the next snapshot of the same outage leaves the decision be
	again := decide(o.NewState, cfg, 320)
	require.Nil(t, again.Decision)
	require.Equal(t, HoldNotRunning, again.HoldKind)

	// our own decision under way: the restart may be its own
	mine := ran
	mine.Rescale = &Rescale{DecisionID: "d", At: t0.Add(280 * time.Second), Targets: map[string]int{"source": 3, "window": 4, "sink": 1}}
	require.Nil(t, decide(mine, cfg, 310).Decision)
	// reactive mode sizes by TaskManagers; PUT is rejected
	rcfg := cfg
	rcfg.Mode = events.ModeReactive
	require.Nil(t, decide(ran, rcfg, 310).Decision)
	// the registered slots hold the parallelism the job ran at (the
	// replacement registered, or the failover lost no slot): Flink builds
	// the failover's graph at once, at the requirements declared, and a
	// change now would be a second restart once the job runs
	held := down(310)
	held.TaskManagers, held.SlotsTotal, held.SlotsFree = 3, 3, 3
	o = Decide(Input{Snapshot: held, State: ran, Config: cfg, Now: held.ObservedAt, SnapshotID: "s"})
	require.Nil(t, o.Decision, "no fold when the slots hold the job: its change would be a second restart")
	require.Equal(t, HoldNotRunning, o.HoldKind)
	// down longer than slo.recovery: no drain can meet it, and awaitingSlots answers a job that waits for ever
	// (the 3 subtasks it ran at do not fit the 2 slots registered)
	o = decide(ran, cfg, 300+int(cfg.SLO.Recovery.Seconds())+10)
	require.NotNil(t, o.Decision, o.Hold)
	require.False(t, o.NewState.Rescale.Failover)
	require.Equal(t, map[string]int{"source": 2, "window": 2, "sink": 1}, targetsOf(o.Decision))
	require.Contains(t, o.Decision.Rationale, "for slots since it last ran")
}

// A failover of a job checkpointing every 8 minutes replays about 4 of
// them: more than slo.recovery, so no size drains it in time and the
// policy's answer is a scale-up that drains it anyway. It is folded into
// the failover's own restart instead of following as a second restart
// that replays again. The job of TestFailoverFoldsTheDrain (window 3 at
// 12,000 rec/s per subtask, 30,000 offered), its last checkpoint 5 minutes
// before the TaskManager was lost.
func TestFailoverFoldsTheAnswerToALongReplay(t *testing.T) {
	o := foldAfterFailover(t, 8*time.Minute, t0.Add(-5*time.Minute))
	require.Contains(t, o.Decision.Rationale, "no change drains the restart's")
	require.Contains(t, o.Decision.Rationale, "the failover replays half the 8m0s checkpoint interval on average, longer than 3m0s (slo.recovery), so no size drains it in time and its answer is a scale-up: made now, not as a second restart that replays again")
	require.Contains(t, o.Decision.Rationale, "decided while the job is CREATED after a failover")
	require.True(t, o.NewState.Rescale.Failover)
}

// A failover restores the last checkpoint the job completed, however long
// ago: with 3-minute checkpoints whose last one completed 7 minutes before
// the TaskManager was lost (the ones due since failed, or the run's first
// was not yet due: Flink restarts the schedule at a random delay with every
// run), it replays 7 minutes, not the minute an unbroken schedule would
// leave (7 mod 3). Half the interval is under slo.recovery, yet this
// failover's replay is over it: no size drains it in time, and its answer,
// a scale-up, is folded into the failover's own restart. The job of
// TestFailoverFoldsTheDrain.
func TestFailoverReplaysAllSinceTheLastCheckpoint(t *testing.T) {
	o := foldAfterFailover(t, 3*time.Minute, t0.Add(300*time.Second-7*time.Minute))
	require.Contains(t, o.Decision.Rationale, "replay 7m0s since the last checkpoint")
	require.Contains(t, o.Decision.Rationale, "this failover replays 7m0s since the last checkpoint, longer than 3m0s (slo.recovery), so no size drains it in time and its answer is a scale-up")
	require.Contains(t, o.Decision.Rationale, "decided while the job is CREATED after a failover")
	require.True(t, o.NewState.Rescale.Failover)
}

// On Flink 2 a rescale lands on the next completed checkpoint, up to an
// interval after the decision (two when that checkpoint fails): the job
// going down 7 minutes after our
// decision, with 6-minute checkpoints, is that rescale's restart, not a
// failover to fold a drain into (a job down reports no checkpoints: the
// interval is the one it reported running). The last checkpoint just
// before the stop, so a drain would meet slo.recovery.
func TestOurFlink2RescaleIsNotAFailover(t *testing.T) {
	cfg := noDelay()
	cfg.Slots.PerTaskManager = 1
	cfg.Disturbances = 0 // running, the job keeps its size
	ck := 6 * time.Minute
	running := func(sec int) events.Snapshot {
		s := failoverJob(sec, ck, t0.Add(295*time.Second))
		s.FlinkVersion = "2.0.1"
		return s
	}
	o := feedOurs(t, cfg, pinned, 23, running) // 80 s … 300 s
	require.Nil(t, o.Decision, o.Hold)
	ran := o.NewState
	down := failoverDown(310)
	down.FlinkVersion = "2.0.1"
	decide := func(st State) Output {
		return Decide(Input{Snapshot: down, State: st, Config: cfg, Now: down.ObservedAt, SnapshotID: "s"})
	}
	// a failover: the drain is folded
	o = decide(ran)
	require.NotNil(t, o.Decision, o.Hold)
	require.Contains(t, o.Decision.Rationale, "after a failover")
	// our scale-down decided 7 minutes before, not seen applied: its restart
	mine := ran
	mine.Rescale = &Rescale{DecisionID: "d", At: down.ObservedAt.Add(-7 * time.Minute), Targets: map[string]int{"source": 3, "window": 2, "sink": 1}}
	o = decide(mine)
	require.Nil(t, o.Decision)
	require.Equal(t, HoldNotRunning, o.HoldKind)
	// … 13 minutes after: still ours, its next checkpoint may have failed
	// and the one after landed it (events.CheckpointGate)
	mine.Rescale.At = down.ObservedAt.Add(-13 * time.Minute)
	require.Nil(t, decide(mine).Decision)
	// … past the rescale's timeout and two intervals and a tenth, it is a
	// failover again
	mine.Rescale.At = down.ObservedAt.Add(-(cfg.RescaleTimeout + 2*ck + ck/10 + cfg.MinInterval + time.Second))
	require.NotNil(t, decide(mine).Decision)
}

// foldAfterFailover feeds TestFailoverFoldsTheDrain's job (1-slot
// TaskManagers, no disturbances priced, checkpoints every ck, the last
// completed at last) for 80 s … 300 s without a decision, then the
// snapshot of its failover at 310 s, and returns that decision: a
// scale-up of the window past 3.
func foldAfterFailover(t *testing.T, ck time.Duration, last time.Time) Output {
	t.Helper()
	cfg := noDelay()
	cfg.Slots.PerTaskManager = 1
	cfg.Disturbances = 0 // running, the job keeps its size
	running := func(sec int) events.Snapshot { return failoverJob(sec, ck, last) }
	o := feedOurs(t, cfg, pinned, 23, running)
	require.Nil(t, o.Decision, o.Hold)
	down := failoverDown(310)
	o = Decide(Input{Snapshot: down, State: o.NewState, Config: cfg, Now: down.ObservedAt, SnapshotID: "s"})
	require.NotNil(t, o.Decision, o.Hold)
	require.Greater(t, targetsOf(o.Decision)["window"], 3)
	return o
}

// failoverJob is the job of the failover tests running settled at sec:
// source 3, window 3 (12,000 rec/s per subtask, 30,000 offered: 20 %
// spare), sink 1, on three one-slot TaskManagers, checkpointing every ck,
// the last checkpoint at last.
func failoverJob(sec int, ck time.Duration, last time.Time) events.Snapshot {
	s := snapAt(sec, vtx("source", 3, 300, 30000, 30000), vtx("window", 3, 833, 30000, 6000, "source"), vtx("sink", 1, 150, 6000, 0, "window"))
	s.CheckpointIntervalMs, s.LastCheckpointAt = ck.Milliseconds(), &last
	s.TaskManagers, s.SlotsTotal, s.SlotsFree = 3, 3, 0
	return s
}

// failoverDown is that job at sec, CREATED after a TaskManager was lost:
// Flink shows the submission-time parallelism, and the two slots left are
// registered and free.
func failoverDown(sec int) events.Snapshot {
	s := snapAt(sec, vtx("source", 2, 0, 0, 0), vtx("window", 2, 0, 0, 0, "source"), vtx("sink", 1, 0, 0, 0, "window"))
	s.JobState, s.RunningSince, s.Complete = "CREATED", nil, false
	s.TaskManagers, s.SlotsTotal, s.SlotsFree = 2, 2, 2
	return s
}

// A failover restores the sources' positions at the last checkpoint's
// trigger: a job 20 s behind its input then, and caught up since, goes back
// 20 s behind besides the input read since. With 2-minute checkpoints, the
// last triggered at 150 s (it took 10 s) and the stop at 300 s, the replay
// is the 150 s since its trigger plus those 20 s. A window that starts
// after the trigger shows no lag then, and the replay is the 150 s alone.
func TestFailoverReplaysTheLagItsCheckpointHeld(t *testing.T) {
	cfg := noDelay()
	src := vtx("source", 2, 300, 30000, 30000)
	snap := snapAt(300, src, vtx("sink", 2, 300, 30000, 0, "source"))
	snap.CheckpointIntervalMs = (2 * time.Minute).Milliseconds()
	last := t0.Add(160 * time.Second)
	snap.LastCheckpointAt, snap.LastCheckpointDurationMs = &last, 10_000
	sample := func(sec int, pending float64) Sample {
		return Sample{At: t0.Add(time.Duration(sec) * time.Second), Offered: 30000,
			V: []VertexSample{{P: 2, Pending: pending}, {P: 2, Pending: -1}}}
	}
	st := State{Window: []Sample{sample(140, 600_000), sample(150, 600_000), sample(200, 90_000), sample(300, 0)}}
	rc := failoverRestart(st, &snap, cfg, t0.Add(310*time.Second), t0.Add(300*time.Second))
	require.Equal(t, 20*time.Second, rc.behind)
	require.Equal(t, 170*time.Second, rc.replay, "150 s since the trigger and the 20 s the sources were behind then")
	require.Contains(t, string(rc.describe(nil)), "replay 2m50s since the last checkpoint, its sources 20s further behind their input then than at the stop")

	st.Window = st.Window[2:]
	rc = failoverRestart(st, &snap, cfg, t0.Add(310*time.Second), t0.Add(300*time.Second))
	require.Zero(t, rc.behind)
	require.Equal(t, 150*time.Second, rc.replay)
}

// A checkpoint an unbroken schedule would have brought has not completed:
// with 5-minute checkpoints, the last acknowledged 11 minutes ago (the ones
// due since failed, or Flink restarted the schedule with a run at a random
// delay). Which one comes next is not known, and a restart before it
// restores the last one: it replays the 11 minutes and the 8 s that
// checkpoint took, not the minute an unbroken schedule would leave
// (11 mod 5), nor nothing for a checkpoint taken to be due 4 minutes
// before it. Within an interval (and the wait for one) of the last, the
// schedule is read as before.
func TestRestartAfterACheckpointOverdueReplaysAllSinceTheLast(t *testing.T) {
	cfg := Defaults()
	last := t0.Add(-11 * time.Minute)
	snap := &events.Snapshot{CheckpointIntervalMs: 300_000, LastCheckpointAt: &last, LastCheckpointDurationMs: 8_000}
	rc := restartFor(State{}, snap, cfg, t0)
	require.Equal(t, replayFromCheckpoint, rc.source)
	require.Equal(t, 11*time.Minute+8*time.Second+rc.wait, rc.replay)
	require.Zero(t, rc.later, "no later checkpoint offered: when it comes is not known")

	last = t0.Add(-9*time.Minute - 50*time.Second)
	rc = restartFor(State{}, snap, cfg, t0)
	require.Equal(t, replayFromCheckpoint, rc.source)
	require.Greater(t, rc.replay, 9*time.Minute, "not the checkpoint an unbroken schedule would have due in 10 s")

	last = t0.Add(-4*time.Minute - 50*time.Second)
	rc = restartFor(State{}, snap, cfg, t0)
	require.Equal(t, replayWaited, rc.source, "within an interval: the checkpoint due in 10 s is waited for")
}
