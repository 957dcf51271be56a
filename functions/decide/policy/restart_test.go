package policy

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// stepRestartCost on a scale-down 5 → 4 subtasks (one slot per TaskManager,
// shared): it saves 1 slot over the 5 min window, 300 slot-s, and costs
// downtime × (5 + 0.99 × 4) = downtime × 8.96. An ordinary scale-down pays
// the last decision-to-running time (52 s → 465.9 slot-s: held); a planned
// release or drop pays the last outage (30 s → 268.8: made; 40 s → 358.4:
// held), or RestartDowntime (30 s) before one was observed.
func TestRestartCostOfScaleDown(t *testing.T) {
	cases := []struct {
		name     string
		released bool
		outage   time.Duration
		hold     bool
	}{
		{name: "ordinary scale-down pays decision to running", outage: 30 * time.Second, hold: true},
		{name: "release pays the outage", released: true, outage: 30 * time.Second},
		{name: "release with a long outage", released: true, outage: 40 * time.Second, hold: true},
		{name: "release before any outage observed", released: true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := &run{
				cfg:      Defaults(),
				snap:     &events.Snapshot{Vertices: []events.VertexSnapshot{{ID: "v"}}},
				st:       State{Outage: c.outage},
				vs:       []vplan{{id: "v", name: "v", cur: 5, p: 4}},
				util:     0.99,
				downtime: 52 * time.Second,
				released: c.released,
			}
			h := stepRestartCost(r)
			require.Equal(t, c.hold, h != nil, "%+v", h)
			want := 4
			if c.hold {
				require.Equal(t, HoldRestart, h.kind)
				want = 5
			}
			require.Equal(t, want, r.vs[0].p)
		})
	}
}

// stoppedAfter: decided at 0 s, snapshots every 10 s saw the job running
// until 20 s (TaskManagers starting, then a checkpoint wait), running again
// at 52 s: the outage is 32 s, the downtime 52 s.
func TestStoppedAfter(t *testing.T) {
	w := []Sample{{At: t0.Add(-10 * time.Second)}, {At: t0.Add(10 * time.Second)}, {At: t0.Add(20 * time.Second)}, {At: t0.Add(60 * time.Second)}}
	require.Equal(t, t0.Add(20*time.Second), stoppedAfter(w, t0, t0.Add(52*time.Second)))
	require.Equal(t, t0, stoppedAfter(w, t0, t0.Add(5*time.Second)), "never seen running after the decision")
}

// The rationale names the utilization target the change was sized for:
// VolatilityFactor 3, Max 1, Min 0.6. The window's volatility 0.26 (a step
// counted as noise) gives 1/(1 + 0.78) = 56 % → 60 %; a scale-up on a young
// level is sized with the noise before the step, 0.002 → 1/1.006 = 99 %; a
// scale-down with the level's, 0.1 → 1/1.3 = 77 %.
func TestRationaleNamesSizedTarget(t *testing.T) {
	cases := []struct {
		name   string
		cur, p int
		want   string
	}{
		{name: "scale-up", cur: 2, p: 3, want: "utilization target 99% (load volatility 0.2%)"},
		{name: "scale-down", cur: 3, p: 2, want: "utilization target 77% (load volatility 10.0%)"},
		{name: "no change", cur: 2, p: 2, want: "utilization target 60% (load volatility 26.0%)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := &run{cfg: Defaults(), vs: []vplan{{name: "v", cur: c.cur, p: c.p}}, cv: 0.26, upCV: 0.002, downCV: 0.1}
			r.util = r.utilTarget(r.cv)
			require.Contains(t, r.rationale(), c.want)
		})
	}
}

// On Flink 2 a rescale lands on the next completed checkpoint, which
// actuate triggers once the change is declared: with a 6 min interval and
// the last checkpoint (of no measured duration) a minute ago, a restart
// decided now waits the trigger's ~2 s, not the periodic one's ~5 min,
// and replays nothing; a decision not yet shown after 5m30s is still in
// flight (RescaleTimeout 5 min + the interval: the trigger may be refused
// and the periodic checkpoint land it). Flink 1.20 restarts at once,
// replays the minute, and the wait times out.
func TestFlink2RescaleWaitsForCheckpoint(t *testing.T) {
	cfg := Defaults()
	last := t0.Add(-time.Minute)
	for _, c := range []struct {
		release  string
		wait     time.Duration
		replay   time.Duration
		inFlight bool
	}{
		{release: "2.0.1", wait: checkpointTrigger, inFlight: true},
		{release: "1.20.1", replay: time.Minute},
	} {
		t.Run(c.release, func(t *testing.T) {
			snap := &events.Snapshot{ObservedAt: t0, FlinkVersion: c.release, CheckpointIntervalMs: 360_000, LastCheckpointAt: &last,
				Vertices: []events.VertexSnapshot{{ID: "v", Parallelism: 2}}}
			rc := restartFor(State{}, snap, cfg, t0)
			require.Equal(t, c.wait, rc.wait)
			require.Equal(t, c.replay, rc.replay)
			st := State{Rescale: &Rescale{DecisionID: "d", At: t0.Add(-330 * time.Second), Targets: map[string]int{"v": 4}}}
			next, h := gateInFlight(gateInput{snap: snap, cfg: cfg, now: t0}, st)
			require.Equal(t, c.inFlight, h != nil && h.kind == HoldInFlight)
			require.Equal(t, c.inFlight, next.Rescale != nil)
		})
	}
	require.Contains(t, string(restartFor(State{}, &events.Snapshot{FlinkVersion: "2.0.1", CheckpointIntervalMs: 360_000, LastCheckpointAt: &last}, cfg, t0).
		describe(nil)), "Flink 2.0.1 rescales on the next completed checkpoint")
}

// A Flink 2 rescale whose next checkpoint fails lands on the one after,
// two intervals after it was declared: decide waits for it as long as
// actuate does (events.CheckpointGate: two intervals and a tenth), so with
// 6-minute checkpoints a decision not shown after 11m30s is still in
// flight (before: dropped at 11 min, and decided over at ~12 while the
// change landed), and is dropped after RescaleTimeout and the gate
// (17m36s). Flink 1.20 waits for no checkpoint: dropped after 5 min.
func TestFlink2RescaleOutlastsAFailedCheckpoint(t *testing.T) {
	cfg := Defaults()
	for _, c := range []struct {
		release  string
		age      time.Duration
		inFlight bool
	}{
		{release: "2.0.1", age: 11*time.Minute + 30*time.Second, inFlight: true},
		{release: "2.0.1", age: 17*time.Minute + 30*time.Second, inFlight: true},
		{release: "2.0.1", age: 17*time.Minute + 40*time.Second},
		{release: "1.20.1", age: 5*time.Minute + 10*time.Second},
	} {
		t.Run(c.release+" "+c.age.String(), func(t *testing.T) {
			snap := &events.Snapshot{ObservedAt: t0, FlinkVersion: c.release, CheckpointIntervalMs: 360_000,
				Vertices: []events.VertexSnapshot{{ID: "v", Parallelism: 2}}}
			st := State{Rescale: &Rescale{DecisionID: "d", At: t0.Add(-c.age), Targets: map[string]int{"v": 4}}}
			next, h := gateInFlight(gateInput{snap: snap, cfg: cfg, now: t0}, st)
			require.Equal(t, c.inFlight, h != nil && h.kind == HoldInFlight)
			require.Equal(t, c.inFlight, next.Rescale != nil)
		})
	}
}

// A Flink 2 scale-up that asked for TaskManagers none of which has
// registered was never declared (actuate raises the requirements once the
// new slots register), so no checkpoint can be landing it: it is dropped
// after RescaleTimeout, not RescaleTimeout and the checkpoint gate
// (email-blast-clickthrough-flink2: a scale-up rolled back after actuate's
// 2-minute slot wait held decide 15m30s with the job at a fifth of its
// load). Once one of them registered, the gate is waited for as before.
func TestUnregisteredScaleUpSkipsTheCheckpointGate(t *testing.T) {
	cfg := Defaults()
	for _, c := range []struct {
		name       string
		registered int // the snapshot's TaskManagers
		age        time.Duration
		inFlight   bool
	}{
		{name: "none registered, before RescaleTimeout", registered: 2, age: 4*time.Minute + 50*time.Second, inFlight: true},
		{name: "none registered, after RescaleTimeout", registered: 2, age: 5*time.Minute + 10*time.Second},
		{name: "one registered", registered: 3, age: 5*time.Minute + 10*time.Second, inFlight: true},
		{name: "one registered, after the gate", registered: 3, age: 15*time.Minute + 40*time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			snap := &events.Snapshot{ObservedAt: t0, FlinkVersion: "2.0.1", CheckpointIntervalMs: 300_000, TaskManagers: c.registered,
				Vertices: []events.VertexSnapshot{{ID: "v", Parallelism: 2}}}
			d := &events.Decision{DecisionID: "d", Vertices: []events.VertexDecision{{ID: "v", Current: 2, Target: 8}},
				TaskManagers: events.Count{Current: 2, Target: 4}}
			st := afterDecision(State{}, d, t0.Add(-c.age))
			next, h := gateInFlight(gateInput{snap: snap, cfg: cfg, now: t0}, st)
			require.Equal(t, c.inFlight, h != nil && h.kind == HoldInFlight)
			require.Equal(t, c.inFlight, next.Rescale != nil)
		})
	}
}

// Before the job's first checkpoint: its schedule starts with the run, so
// with a 60 s interval a restart decided 50 s into the run waits for the
// checkpoint due 10 s later and replays nothing (actuate waits for it:
// plan.CheckpointWait), where half an interval (30 s) was priced and the
// start's drain on constant-noise and wordcount-flatmap sized for a 30 s
// larger backlog. Due later than actuate waits (a 10-minute interval),
// half an interval as before; on Flink 2 the checkpoint-gated rescale's
// own pricing.
func TestRestartBeforeTheFirstCheckpoint(t *testing.T) {
	cfg := Defaults()
	st := State{Epoch: t0}
	snap := &events.Snapshot{CheckpointIntervalMs: 60_000}
	rc := restartFor(st, snap, cfg, t0.Add(50*time.Second))
	require.Equal(t, replayWaited, rc.source)
	require.Zero(t, rc.replay)
	require.Equal(t, 10*time.Second, rc.wait)

	snap.CheckpointIntervalMs = 600_000
	rc = restartFor(st, snap, cfg, t0.Add(50*time.Second))
	require.Equal(t, replayFromInterval, rc.source)
	require.Equal(t, 5*time.Minute, rc.replay)

	// the first checkpoint overdue (failing): as without one
	snap.CheckpointIntervalMs = 60_000
	rc = restartFor(st, snap, cfg, t0.Add(3*time.Minute))
	require.Equal(t, replayFromInterval, rc.source)

	snap.FlinkVersion = "2.0.1"
	rc = restartFor(st, snap, cfg, t0.Add(50*time.Second))
	require.NotEqual(t, replayWaited, rc.source)
}

// A restored checkpoint holds the sources' positions at its trigger: a
// restart replays from there, not from its completion. With 3-minute
// checkpoints that took 32 s (clickstream-bursts' checkpoints of 8 s take
// 4× as long with aligned barriers behind a back-pressured job, which is
// when a scale-up waits for one), a restart that waits for the checkpoint
// due replays its 32 s (priced as none before), one restoring the
// checkpoint acknowledged 2 min ago replays 2m32s, one timed after the
// next checkpoint replays the 32 s, and on Flink 2 the rescale that lands
// on the next checkpoint replays it too.
func TestRestartReplaysFromTheCheckpointsTrigger(t *testing.T) {
	cfg := Defaults()
	last := t0.Add(-2*time.Minute - 50*time.Second)
	snap := &events.Snapshot{CheckpointIntervalMs: 180_000, LastCheckpointAt: &last, LastCheckpointDurationMs: 32_000}
	rc := restartFor(State{}, snap, cfg, t0)
	require.Equal(t, replayWaited, rc.source)
	require.Equal(t, 32*time.Second, rc.replay)
	require.Contains(t, string(rc.describe(nil)), "restores the input from its trigger: the last took 32s")

	require.Equal(t, 10*time.Second, rc.wait, "the checkpoint due in 10 s is waited for")

	last = t0.Add(-2 * time.Minute)
	rc = restartFor(State{}, snap, cfg, t0)
	require.Equal(t, replayFromCheckpoint, rc.source)
	require.Equal(t, 2*time.Minute+32*time.Second, rc.replay)
	require.Equal(t, time.Minute, rc.later)
	require.Equal(t, 32*time.Second, rc.timedLater().replay)

	snap.FlinkVersion = "2.0.1"
	rc = restartFor(State{}, snap, cfg, t0)
	require.Equal(t, replayOnCheckpoint, rc.source)
	require.Equal(t, 32*time.Second, rc.replay)
	// the periodic checkpoint is due in 1 min; actuate triggers one at
	// once, which takes as long as the last (32 s)
	require.True(t, rc.triggered)
	require.Equal(t, 32*time.Second+checkpointTrigger, rc.wait)
	require.Contains(t, string(rc.describe(nil)), "rescales on the next completed checkpoint, which actuate triggers, so the change lands in ~34s")
	// the periodic one due sooner than a triggered one would complete
	last = t0.Add(-2*time.Minute - 40*time.Second)
	rc = restartFor(State{}, snap, cfg, t0)
	require.False(t, rc.triggered)
	require.Equal(t, 20*time.Second, rc.wait)
}

// A scale-up's restart waits for the TaskManagers it asks for to start; a
// scale-down's does not. Each change is priced from the job's observed
// restarts of its kind (splitRestarts), from all of them while none of
// its kind was seen. Observed: two scale-ups (downtime 90 s, outage 50 s:
// a 40 s wait) and a scale-down (downtime 60 s, outage 50 s). The mean of
// all three waits 30 s, replaying from the checkpoint 25 s before the
// decision 55 s; priced by kind, a change that raises a vertex waits 40 s
// (replay 65 s), one that does not 10 s (replay 35 s).
func TestScaleUpPricedFromTheScaleUpsRestarts(t *testing.T) {
	now := t0.Add(time.Hour)
	last := now.Add(-25 * time.Second)
	snap := &events.Snapshot{CheckpointIntervalMs: (10 * time.Minute).Milliseconds(), LastCheckpointAt: &last}
	up := RestartObs{Downtime: 90 * time.Second, Outage: 50 * time.Second, Raised: true}
	down := RestartObs{Downtime: 60 * time.Second, Outage: 50 * time.Second}
	st := State{Restarts: []RestartObs{up, down, up}}
	cfg := Defaults()

	all := restartWith(expectedRestart(st, cfg), st, snap, cfg, now, false)
	require.Equal(t, 30*time.Second, all.wait, "the mean of all three")
	require.Equal(t, 55*time.Second, all.replay)
	rc := restartFor(st, snap, cfg, now)
	raise, lower := rc.forChange(true, false), rc.forChange(false, false)
	require.Equal(t, 40*time.Second, raise.wait)
	require.Equal(t, 65*time.Second, raise.replay)
	require.Equal(t, 2, raise.observed)
	require.Equal(t, 10*time.Second, lower.wait)
	require.Equal(t, 35*time.Second, lower.replay)
	require.Equal(t, 1, lower.observed)

	// no scale-up seen yet: a raise is priced from every restart seen
	only := restartFor(State{Restarts: []RestartObs{down}}, snap, cfg, now)
	require.Nil(t, only.up)
	require.Equal(t, 10*time.Second, only.forChange(true, false).wait)
}

// learnAfterGates records whether a restart seen through was a
// scale-up's: its decision raised some vertex above where it ran.
func TestRestartObservedAsAScaleUps(t *testing.T) {
	run := t0.Add(90 * time.Second)
	g := gateInput{snap: &events.Snapshot{RunningSince: &run}, cfg: Defaults(), now: t0.Add(2 * time.Minute)}
	for _, c := range []struct {
		name     string
		from, to int
		raised   bool
	}{{"scale-up", 2, 4, true}, {"scale-down", 4, 2, false}} {
		t.Run(c.name, func(t *testing.T) {
			prev := State{Rescale: &Rescale{At: t0, Targets: map[string]int{"v": c.to, "w": 1}, From: map[string]int{"v": c.from, "w": 1}}}
			st := prev
			applied := *prev.Rescale
			applied.Applied = g.now
			st.Rescale, st.Downtime, st.Outage = &applied, 90*time.Second, 40*time.Second
			st = learnAfterGates(prev, st, g)
			require.Equal(t, []RestartObs{{Downtime: 90 * time.Second, Outage: 40 * time.Second, Raised: c.raised}}, st.Restarts)
		})
	}
}

// A decision that asks for more TaskManagers than are registered records
// when a snapshot first showed them registered (halfway from the snapshot
// before), and the restart seen through keeps that part of its wait as
// the TaskManagers' start-up apart from actuate's checkpoint wait
// (RestartObs.Startup). Decided at t0 with 2 TaskManagers registered,
// asking for 3: snapshots every 10 s show 2, 2, then 3 at t0+30s (Ready
// t0+25s), the job running at its targets from t0+70s after a 15 s outage
// (a 55 s wait: 25 s of start-up, 30 s for the checkpoint).
func TestRestartObservedWithItsTaskManagersStartup(t *testing.T) {
	for _, c := range []struct {
		name         string
		tmsNow, want int
		shownAt      time.Duration // when snapshots first show want registered (0: never)
		started      bool
		startup      time.Duration
	}{
		{"TaskManagers started", 2, 3, 30 * time.Second, true, 25 * time.Second},
		{"within the TaskManagers registered", 3, 3, 10 * time.Second, false, 0},
		{"none shown before the job ran: the whole wait", 2, 3, 0, true, 55 * time.Second},
	} {
		t.Run(c.name, func(t *testing.T) {
			d := &events.Decision{DecisionID: "d", Vertices: []events.VertexDecision{{ID: "v", Current: 2, Target: 4}},
				TaskManagers: events.Count{Current: c.tmsNow, Target: c.want}}
			st := afterDecision(State{LastObservedAt: t0}, d, t0)
			for at := 10 * time.Second; at < 70*time.Second; at += 10 * time.Second {
				tms := c.tmsNow
				if c.shownAt > 0 && at >= c.shownAt {
					tms = c.want
				}
				g := gateInput{snap: &events.Snapshot{TaskManagers: tms, JobState: "RESTARTING"}, cfg: Defaults(), now: t0.Add(at)}
				next := st
				next.LastObservedAt = g.now
				st = learnAfterGates(st, next, g)
			}
			if c.shownAt == 30*time.Second {
				require.Equal(t, t0.Add(25*time.Second), st.Rescale.Ready)
			}
			run := t0.Add(70 * time.Second)
			g := gateInput{snap: &events.Snapshot{TaskManagers: c.want, RunningSince: &run, JobState: "RUNNING"}, cfg: Defaults(), now: run.Add(5 * time.Second)}
			next := st
			applied := *st.Rescale
			applied.Applied = g.now
			next.Rescale, next.Downtime, next.Outage, next.LastObservedAt = &applied, 70*time.Second, 15*time.Second, g.now
			next = learnAfterGates(st, next, g)
			require.Equal(t, []RestartObs{{Downtime: 70 * time.Second, Outage: 15 * time.Second, Raised: true, Started: c.started, Startup: c.startup}}, next.Restarts)
		})
	}
}

// A change that asks for more TaskManagers than are registered is priced
// from the restarts that started some (restartCost.start): their
// TaskManagers' start-up is the wait before actuate's checkpoint wait,
// which is priced from the schedule now, not taken from the restarts
// observed. Interval 60 s, the last checkpoint 20 s before the decision
// (the next due 40 s after it). Observed: two restarts that started
// TaskManagers (25 s of start-up, then 30 s for their checkpoint: waits of
// 55 s) and a scale-up within the slots held (a 5 s wait). From the
// start-up, the stop comes 25 s on, the checkpoint is due 15 s after it
// and is waited for: a 40 s wait, no replay. Priced from the scale-ups'
// whole waits, as a change within the slots is, the 55 s waits stop 15 s
// after the checkpoint due then and replay it (and the 5 s one 25 s).
func TestStartingTaskManagersPricedFromTheirStartup(t *testing.T) {
	now := t0.Add(time.Hour)
	last := now.Add(-20 * time.Second)
	snap := &events.Snapshot{CheckpointIntervalMs: time.Minute.Milliseconds(), LastCheckpointAt: &last}
	started := RestartObs{Downtime: 70 * time.Second, Outage: 15 * time.Second, Raised: true, Started: true, Startup: 25 * time.Second}
	within := RestartObs{Downtime: 20 * time.Second, Outage: 15 * time.Second, Raised: true}
	st := State{Restarts: []RestartObs{started, within, started}}
	rc := restartFor(st, snap, Defaults(), now)
	require.NotNil(t, rc.start)
	start := rc.forChange(true, true)
	require.Equal(t, 40*time.Second, start.wait)
	require.Equal(t, time.Duration(0), start.replay)
	require.Equal(t, replayWaited, start.source)
	require.Equal(t, 15*time.Second, start.outage)
	require.Contains(t, string(start.describe(nil)), "its TaskManagers start in ~25s, from the 2 observed that started some")

	up := rc.forChange(true, false)
	require.Equal(t, rc.up.wait, up.wait)
	require.Greater(t, up.replay, 15*time.Second, "the whole waits stop after the checkpoint due")

	// none that started TaskManagers seen: as any scale-up
	only := restartFor(State{Restarts: []RestartObs{within, within}}, snap, Defaults(), now)
	require.Nil(t, only.start)
	require.Equal(t, only.forChange(true, false), only.forChange(true, true))

	// one seen: one draw of the start-up, priced as any scale-up
	one := restartFor(State{Restarts: []RestartObs{within, started}}, snap, Defaults(), now)
	require.Nil(t, one.start)
}

// A candidate starts TaskManagers when it raises some vertex and needs
// more than are registered, outside reactive and session modes.
func TestCandidateStartsTaskManagers(t *testing.T) {
	lim := limits{held: 3}
	require.True(t, lim.starts(true, 4))
	require.False(t, lim.starts(true, 3), "within the TaskManagers registered")
	require.False(t, lim.starts(false, 4), "raises no vertex")
	require.False(t, limits{held: 3, reactive: true}.starts(true, 4))
	require.False(t, limits{held: 3, session: true}.starts(true, 4))
}

// A decision folded into a failover's restart (foldIntoFailover) is
// observed down for the failover's whole outage: the lost TaskManager's
// replacement, the whole state's restore, a failed restore run again
// (faults: 2m18s–3m39s). The job's own changes, raising or not, are priced
// from its own rescales (here one scale-up out 1m30s of its 3m), or from
// the fold while it is all that was seen; the failovers the job rides from
// every observed restart, the fold's included. Priced from the mean of
// both, faults' release after its load fell was priced at ~2.5 min of
// outage and never made.
func TestOwnRestartNotPricedFromAFailoversRestart(t *testing.T) {
	now := t0.Add(time.Hour)
	last := now.Add(-25 * time.Second)
	snap := &events.Snapshot{CheckpointIntervalMs: time.Minute.Milliseconds(), LastCheckpointAt: &last}
	fold := RestartObs{Downtime: 219 * time.Second, Outage: 219 * time.Second, Raised: true, Failover: true}
	up := RestartObs{Downtime: 3 * time.Minute, Outage: 90 * time.Second, Raised: true}
	cfg := Defaults()

	rc := restartFor(State{Restarts: []RestartObs{fold, up}}, snap, cfg, now)
	for _, raises := range []bool{false, true} {
		own := rc.forChange(raises, false)
		require.Equal(t, 90*time.Second, own.outage, "raises %v: from the scale-up alone (old: the mean of both, 2m34s)", raises)
		require.Equal(t, 1, own.observed)
		require.Equal(t, (219*time.Second+90*time.Second)/2, own.riddenOutage(), "a failover ridden: from both")
	}

	only := restartFor(State{Restarts: []RestartObs{fold}}, snap, cfg, now).forChange(true, false)
	require.Equal(t, 219*time.Second, only.outage, "the fold alone: all there is to price from")
	require.Equal(t, 219*time.Second, only.riddenOutage())

	none := restartFor(State{Restarts: []RestartObs{up}}, snap, cfg, now).forChange(false, false)
	require.Zero(t, none.ridden, "no fold seen: a failover is priced at the restart's outage, as before")
	require.Equal(t, 90*time.Second, none.riddenOutage())
}

// learnAfterGates records the restart of a decision folded into a
// failover's (Rescale.Failover) as such.
func TestRestartObservedAsAFailovers(t *testing.T) {
	run := t0.Add(90 * time.Second)
	g := gateInput{snap: &events.Snapshot{RunningSince: &run}, cfg: Defaults(), now: t0.Add(2 * time.Minute)}
	prev := State{Rescale: &Rescale{At: t0, Targets: map[string]int{"v": 4}, From: map[string]int{"v": 2}, Failover: true}}
	st := prev
	applied := *prev.Rescale
	applied.Applied = g.now
	st.Rescale, st.Downtime, st.Outage = &applied, 90*time.Second, 90*time.Second
	st = learnAfterGates(prev, st, g)
	require.Equal(t, []RestartObs{{Downtime: 90 * time.Second, Outage: 90 * time.Second, Raised: true, Failover: true}}, st.Restarts)
}
