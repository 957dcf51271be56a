package policy

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// In reactive mode a scale-up restarts the job when the new TaskManagers
// register, 20 s after the decision here, and actuate has no step that
// could hold that restart for a checkpoint. Checkpoints complete on the
// minute and 10 s; snapshots come every 10 s from 80 s (settled from
// 90 s). Deciding at 90 s or 100 s would register at 110 s or 120 s and
// replay 40–50 s of input; the decision waits for 110 s (registering at
// 130 s, just after a checkpoint), and the time it was held for its timing
// counts towards the scale-up delay, so it is not put off once more when
// that moment comes.
func TestReactiveScaleUpTimedForCheckpoint(t *testing.T) {
	cfg := Defaults()
	cfg.Mode = events.ModeReactive
	st := State{Restarts: []RestartObs{{Downtime: 50 * time.Second, Outage: 30 * time.Second}}}
	mk := func(s int) events.Snapshot {
		snap := growing(s, vtx("src", 2, 500, 41000, 41000), vtx("counter", 2, 1000, 41000, 0, "src"))
		snap.Vertices[0].PendingRecords = ptr(float64(s-80) * 400)
		snap.CheckpointIntervalMs = time.Minute.Milliseconds()
		c := snap.ObservedAt.Add(-10 * time.Second).Truncate(time.Minute).Add(10 * time.Second)
		snap.LastCheckpointAt = &c
		return snap
	}
	o := Output{NewState: st}
	var at time.Time
	for k := range 8 {
		s := mk(80 + 10*k)
		o = Decide(Input{Snapshot: s, State: o.NewState, Config: cfg, Now: s.ObservedAt})
		if o.Decision != nil {
			at = s.ObservedAt
			break
		}
		require.Contains(t, []string{HoldSettling, HoldCheckpoint}, o.HoldKind, "at %s: %s", s.ObservedAt.Sub(t0), o.Hold)
	}
	require.NotNil(t, o.Decision, o.Hold)
	require.Greater(t, targetsOf(o.Decision)["counter"], 2)
	require.Equal(t, 110*time.Second, at.Sub(t0), "decided so that the TaskManagers register right after the checkpoint")
	require.True(t, strings.Contains(o.Decision.Rationale, "replay 0s since the last checkpoint when the new TaskManagers register"), o.Decision.Rationale)
}

// registrationRestart prices the replay at the registration, a TaskManager
// start-up after the decision, and offers the decision timed so the
// registration follows the next checkpoint; outside reactive scale-ups
// actuate waits for a checkpoint due within its bound (restartFor).
func TestRegistrationRestart(t *testing.T) {
	now := t0.Add(time.Hour)
	st := State{Restarts: []RestartObs{{Downtime: 50 * time.Second, Outage: 30 * time.Second}},
		Window: []Sample{{At: now.Add(-10 * time.Second)}, {At: now}}}
	last := now.Add(-10 * time.Second)
	snap := &events.Snapshot{CheckpointIntervalMs: time.Minute.Milliseconds(), LastCheckpointAt: &last}
	rc := registrationRestart(st, snap, Defaults(), now)
	require.Equal(t, 30*time.Second, rc.replay, "registration 20 s from now, 30 s after the checkpoint")
	require.Equal(t, 20*time.Second, rc.wait)
	require.Equal(t, 30*time.Second, rc.later)
	require.Equal(t, 10*time.Second, rc.timedLater().replay, "a decision misses its moment by up to a snapshot interval")
	waited := restartFor(st, snap, Defaults(), now)
	require.Equal(t, time.Duration(0), waited.replay, "actuate waits for the checkpoint due 30 s after the stop")

	up := waited
	up.up = &rc
	require.Equal(t, rc, up.forChange(true, false))
	require.Equal(t, waited.replay, up.forChange(false, false).replay)
}

// A reactive scale-up decided before the run's first checkpoint, the last
// completed one the previous run's (9 min before the run began): until
// the run's first completes, a restart restores that one and replays all
// since, however the previous run's schedule reads (its modulo put the
// registration 2m20s after a checkpoint). The run's first is due at the
// latest an interval after the run began: the decision timed to register
// then is offered, replaying half of what is left until then on average
// (the first is not seen yet). Once the registration comes after that,
// the schedule from it is read.
func TestRegistrationRestartBeforeTheRunsFirstCheckpoint(t *testing.T) {
	epoch := t0.Add(time.Hour)
	now := epoch.Add(3 * time.Minute)
	st := State{Epoch: epoch, Restarts: []RestartObs{{Downtime: 50 * time.Second, Outage: 30 * time.Second}},
		Window: []Sample{{At: now.Add(-10 * time.Second)}, {At: now}}}
	last := epoch.Add(-9 * time.Minute)
	snap := &events.Snapshot{CheckpointIntervalMs: (10 * time.Minute).Milliseconds(), LastCheckpointAt: &last}
	rc := registrationRestart(st, snap, Defaults(), now)
	require.Equal(t, 12*time.Minute+20*time.Second, rc.replay, "the registration 12m20s after the previous run's last checkpoint")
	require.Equal(t, 6*time.Minute+40*time.Second, rc.later, "registering when the run's first checkpoint is due at the latest")
	require.Equal(t, 3*time.Minute+30*time.Second, rc.timedLater().replay, "half of the 7 min the first may still come in")

	now = epoch.Add(9*time.Minute + 50*time.Second)
	st.Window = []Sample{{At: now.Add(-10 * time.Second)}, {At: now}}
	rc = registrationRestart(st, snap, Defaults(), now)
	require.Equal(t, 10*time.Second, rc.replay, "registering 10 s after the run's first checkpoint is due at the latest")
	require.Equal(t, time.Duration(0), rc.later)
}

// A reactive scale-up of several TaskManagers restarts the job once per
// registration wave: decided at 0 s, the run the decision was made in
// (epoch −1 h) seen until 30 s, the first TaskManager registered and the
// job ran again from 60 s on its slots (seen at 70 s and 90 s), the rest
// registered and the job restarted once more, running at the targets from
// 150 s. The job was behind from the first stop: the 90 s run between
// restores the checkpoint the first restart restored, so the scale-up's
// outage is 120 s, not the last restart's 60 s (stoppedAfter). A
// checkpoint completed in the run between keeps what came before it.
func TestFirstStop(t *testing.T) {
	pre, mid := t0.Add(-time.Hour), t0.Add(60*time.Second)
	w := []Sample{{At: t0.Add(-10 * time.Second), Epoch: pre}, {At: t0.Add(30 * time.Second), Epoch: pre},
		{At: t0.Add(70 * time.Second), Epoch: mid}, {At: t0.Add(90 * time.Second), Epoch: mid}}
	run := t0.Add(150 * time.Second)
	require.Equal(t, t0.Add(90*time.Second), stoppedAfter(w, t0, run))
	require.Equal(t, t0.Add(30*time.Second), firstStop(w, t0, run, nil))
	old := t0.Add(-time.Minute)
	require.Equal(t, t0.Add(30*time.Second), firstStop(w, t0, run, &old), "the checkpoint restored is older than the first stop")
	ck := t0.Add(80 * time.Second)
	require.Equal(t, ck, firstStop(w, t0, run, &ck), "a checkpoint completed in the run between")
	require.Equal(t, t0, firstStop(w[2:], t0, run, nil), "the decision's run never seen after it")
}

// A reactive scale-up is priced from the job's scale-ups' restarts when
// they stopped it longer than its mean restart (registrationStats): a
// release's or a failover's single restart does not average the
// registration waves away; scale-ups that restarted once, quicker than
// the releases, are priced from all.
func TestRegistrationStatsFromScaleUps(t *testing.T) {
	down := RestartObs{Downtime: 60 * time.Second, Outage: 55 * time.Second}
	up := RestartObs{Downtime: 170 * time.Second, Outage: 140 * time.Second, Raised: true}
	fold := RestartObs{Downtime: 90 * time.Second, Outage: 90 * time.Second, Raised: true, Failover: true}
	st := State{Restarts: []RestartObs{down, up, down, fold}}
	rs := registrationStats(st, Defaults())
	require.Equal(t, 140*time.Second, rs.outage)
	require.Equal(t, 170*time.Second, rs.downtime)
	st.Restarts = []RestartObs{down, fold}
	require.Equal(t, expectedRestart(st, Defaults()), registrationStats(st, Defaults()), "no scale-up of its own seen: all restarts")
	once := RestartObs{Downtime: 50 * time.Second, Outage: 30 * time.Second, Raised: true}
	st.Restarts = []RestartObs{down, once, down}
	require.Equal(t, expectedRestart(st, Defaults()), registrationStats(st, Defaults()), "one wave, quicker than the releases: all restarts")
}
