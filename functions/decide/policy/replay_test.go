package policy

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// peakThenTrough is a minute history of 90,000 rec/s for 14 minutes, then
// 30,000 for the 6 minutes up to t0 (the minute being averaged at t0 at
// 30,000 too).
func peakThenTrough() *Series {
	m := t0.Unix() / 60
	s := &Series{Start: m - 20, Minute: m, Mean: 30000, N: 1}
	for i := range 20 {
		r := 90000.0
		if i >= 14 {
			r = 30000
		}
		s.Rates = append(s.Rates, r)
	}
	return s
}

// A restart restores the records offered since the checkpoint's trigger,
// and the lag is priced in seconds of the rate now: a release 6 minutes
// after a 90,000 rec/s peak fell to 30,000 replays the 8m8s since its last
// checkpoint's trigger, 2m8s of them at the peak's rate, so 12m24s of
// today's input (2m8s × 3 + 6m), not 8m8s. Without a minute history, or a
// rate now, the replay is left in seconds of input; the time after now is
// at the rate now.
func TestReplayIsTheRecordsOfferedAtTheRateNow(t *testing.T) {
	cfg := Defaults()
	last := t0.Add(-8 * time.Minute)
	snap := &events.Snapshot{CheckpointIntervalMs: 600_000, LastCheckpointAt: &last, LastCheckpointDurationMs: 8_000}
	rc := restartFor(State{}, snap, cfg, t0)
	require.Equal(t, replayFromCheckpoint, rc.source)
	require.Equal(t, 8*time.Minute+8*time.Second, rc.replay)

	got := rc.replayedAt(peakThenTrough(), 30000, t0)
	require.Equal(t, 12*time.Minute+24*time.Second, got.replay)
	require.Equal(t, 8*time.Minute+8*time.Second, got.span)
	require.Contains(t, string(got.describe(nil)), "replay 8m8s since the last checkpoint: 12m24s at the rate now, its input offered at 1.52× it")

	require.Equal(t, rc.replay, rc.replayedAt(nil, 30000, t0).replay, "no minute history")
	require.Equal(t, rc.replay, rc.replayedAt(peakThenTrough(), 0, t0).replay, "no rate now")
	require.NotContains(t, string(rc.describe(nil)), "at the rate now")

	// a stop 40 s ahead: those 40 s at the rate now
	rc.stop, rc.replay = t0.Add(40*time.Second), rc.replay+40*time.Second
	require.Equal(t, 13*time.Minute+4*time.Second, rc.replayedAt(peakThenTrough(), 30000, t0).replay)

	// at the same rate throughout, the same replay and no note
	flat := peakThenTrough()
	for i := range flat.Rates {
		flat.Rates[i] = 30000
	}
	same := rc.replayedAt(flat, 30000, t0)
	require.Equal(t, rc.replay, same.replay)
	require.NotContains(t, string(same.describe(nil)), "at the rate now")
}

// A failover's restart (the stop past) replays the records from the
// checkpoint's trigger to the stop; the lag its sources had then (behind)
// is in seconds already. A scale-up's own restart (up) is converted too.
func TestFailoverReplayIsTheRecordsOfferedAtTheRateNow(t *testing.T) {
	rc := restartCost{replay: 4*time.Minute + 20*time.Second, behind: 20 * time.Second, stop: t0.Add(-4 * time.Minute), source: replayFromCheckpoint}
	up := rc
	rc.up = &up
	got := rc.replayedAt(peakThenTrough(), 30000, t0)
	// the 4 min from 8 min to 4 min before t0: 2 min at 90,000, 2 at 30,000
	require.Equal(t, 8*time.Minute+20*time.Second, got.replay)
	require.Equal(t, 8*time.Minute+20*time.Second, got.up.replay)
}

// Flink starts a run's checkpoint schedule when the run begins, not an
// interval after the last checkpoint. With 5-minute checkpoints, the last
// (8 s) acknowledged 5m20s ago and the run begun 1m20s after it (a restart
// since), no checkpoint of this run has completed: a restart now restores
// that one and replays the 5m28s since its trigger, not the 28 s the
// previous run's schedule would leave, and the run's first checkpoint is
// due at the latest a minute from now (an interval after the run began)
// and complete 8 s later, offered as a restart timed after it. Due within
// actuate's wait of the stop, it is still not counted on while the
// interval is longer than slo.recovery (3 min): not seen yet, it may fail,
// and the restart would replay all since; the restart timed after it is
// offered. Once its latest completion has passed unseen, the next on the
// run's schedule is offered. With 2-minute checkpoints (within
// slo.recovery) a restart waits for the run's first due within actuate's
// wait of the stop. A checkpoint overdue within the run (one failed)
// replays all since, and the schedule that goes on brings the next.
func TestRestartBeforeTheRunsFirstCheckpoint(t *testing.T) {
	cfg := Defaults()
	last := t0.Add(-5*time.Minute - 20*time.Second)
	snap := &events.Snapshot{CheckpointIntervalMs: 300_000, LastCheckpointAt: &last, LastCheckpointDurationMs: 8_000}
	st := State{Epoch: t0.Add(-4 * time.Minute)}
	rc := restartFor(st, snap, cfg, t0)
	require.Equal(t, replayFromCheckpoint, rc.source)
	require.Equal(t, 5*time.Minute+28*time.Second+rc.wait, rc.replay)
	require.Equal(t, time.Minute+8*time.Second, rc.later)
	require.Equal(t, 8*time.Second+rc.wait, rc.timedLater().replay)

	st.Epoch = t0.Add(-4*time.Minute - 40*time.Second)
	rc = restartFor(st, snap, cfg, t0)
	require.Equal(t, replayFromCheckpoint, rc.source, "the run's first checkpoint due 20 s after the stop, not seen yet")
	require.Equal(t, 5*time.Minute+28*time.Second+rc.wait, rc.replay)
	require.Equal(t, 28*time.Second, rc.later)

	st.Epoch = t0.Add(-5*time.Minute - 10*time.Second)
	rc = restartFor(st, snap, cfg, t0)
	require.Equal(t, 5*time.Minute+28*time.Second+rc.wait, rc.replay, "the run's first checkpoint due 10 s ago, not seen: failed")
	require.Equal(t, 4*time.Minute+58*time.Second, rc.later, "the next on the run's schedule")

	// 2-minute checkpoints, within slo.recovery: the run's first (begun
	// 1m40s ago) due 20 s after the stop is waited for
	short := *snap
	short.CheckpointIntervalMs = 120_000
	st.Epoch = t0.Add(-time.Minute - 40*time.Second)
	rc = restartFor(st, &short, cfg, t0)
	require.Equal(t, replayWaited, rc.source, "the run's first checkpoint due 20 s after the stop")
	require.Equal(t, 8*time.Second, rc.replay)
	require.Equal(t, 20*time.Second, rc.wait)

	// within the run: one overdue (failed), the next on its schedule
	st.Epoch = t0.Add(-30 * time.Minute)
	last = t0.Add(-11 * time.Minute)
	rc = restartFor(st, snap, cfg, t0)
	require.Equal(t, replayFromCheckpoint, rc.source)
	require.Equal(t, 11*time.Minute+8*time.Second+rc.wait, rc.replay)
	require.Equal(t, 4*time.Minute, rc.later)
}

// When the stop comes is not known to the second: a scale-up's wait for
// its TaskManagers varies, and actuate waits at most 30 s for a due
// checkpoint. With 5-minute checkpoints (12 s each), the last completed
// 3m40s ago and the job's scale-ups seen to wait 40, 60 and 80 s (the mean
// 60 s brings the stop 20 s before the next checkpoint: "waited for, replay
// 12s"), the 40 s wait restarts 40 s before it and replays 4m20s and 12 s,
// the 60 s one waits for it and the 80 s one comes just after it: 1m39s on
// average, the wait 1m7s. With one observed restart, its wait alone.
func TestRestartReplayAveragedOverTheObservedWaits(t *testing.T) {
	cfg := Defaults()
	last := t0.Add(-3*time.Minute - 40*time.Second)
	snap := &events.Snapshot{CheckpointIntervalMs: 300_000, LastCheckpointAt: &last, LastCheckpointDurationMs: 12_000}
	up := func(wait time.Duration) RestartObs {
		return RestartObs{Downtime: wait + time.Minute, Outage: time.Minute, Raised: true}
	}
	st := State{Restarts: []RestartObs{up(40 * time.Second), up(60 * time.Second), up(80 * time.Second)}}
	base := restartFor(st, snap, cfg, t0)
	require.Equal(t, replayWaited, base.source, "a change that raises no vertex: the stop the mean wait brings (actuate waits a whole interval for it)")
	rc := base.forChange(true, false)
	require.Equal(t, replayFromCheckpoint, rc.source)
	require.Equal(t, (272+12+12)*time.Second/3, rc.replay)
	require.Equal(t, (40+80+80)*time.Second/3, rc.wait)
	require.Contains(t, string(rc.describe(nil)), "since the last checkpoint (its due checkpoint waited for after 1 of the 3 observed waits)")
	require.Equal(t, 80*time.Second, rc.later, "a restart timed after the next checkpoint is offered")

	st.Restarts = st.Restarts[1:2]
	rc = restartFor(st, snap, cfg, t0).forChange(true, false)
	require.Equal(t, replayWaited, rc.source, "one observed wait: the stop it brings")
	require.Equal(t, 12*time.Second, rc.replay)
	require.Equal(t, 80*time.Second, rc.wait)
}
