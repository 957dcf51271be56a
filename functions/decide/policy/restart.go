package policy

import (
	"fmt"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// restartStats is what the job's restarts took, from its own history.
type restartStats struct {
	// downtime is from a decision to the job running at its targets;
	// outage is the part the job did not run. Both are means over
	// State.Restarts, RestartDowntime before any was observed.
	downtime, outage time.Duration
	observed         int
}

// expectedRestart is the mean of the job's observed restarts.
func expectedRestart(st State, cfg Config) restartStats {
	rs := restartStats{downtime: cfg.RestartDowntime, outage: cfg.RestartDowntime}
	if len(st.Restarts) == 0 {
		return rs
	}
	var d, o time.Duration
	for _, r := range st.Restarts {
		d += r.Downtime
		o += r.Outage
	}
	n := time.Duration(len(st.Restarts))
	rs.downtime, rs.outage, rs.observed = d/n, min(o/n, d/n), len(st.Restarts)
	return rs
}

// checkpointWait is how long before a due checkpoint actuate holds a
// restart for it (its --checkpoint-wait default).
const checkpointWait = 30 * time.Second

// restartCost is what a restart decided now costs the job's lag.
type restartCost struct {
	restartStats
	// wait is the time from the decision to the stop, while the job still
	// runs at its current size (TaskManagers starting, the checkpoint).
	wait time.Duration
	// replay is the input read since the checkpoint the restart restores.
	replay time.Duration
	// later, when positive, is how long until the next checkpoint: a
	// restart decided then replays (almost) nothing.
	later time.Duration
	// why says where replay came from.
	why string
	// interval is the checkpoint interval, 0 when unknown.
	interval time.Duration
}

// restartFor prices a restart decided now. Replay is the time from the
// last completed checkpoint to the stop, when the job reports both it and
// its interval; a checkpoint due within checkpointWait of the stop is
// waited for (actuate does), and a later one is offered as a timed
// alternative. Without the last checkpoint, half an interval; without an
// interval, Replay.
func restartFor(st State, snap *events.Snapshot, cfg Config, now time.Time) restartCost {
	rc := restartCost{restartStats: expectedRestart(st, cfg)}
	rc.wait = rc.downtime - rc.outage
	interval := time.Duration(snap.CheckpointIntervalMs) * time.Millisecond
	rc.interval = max(interval, 0)
	switch {
	case interval <= 0:
		rc.replay = cfg.Replay
		rc.why = fmt.Sprintf("replay %s (no checkpoint interval reported)", rc.replay.Round(time.Second))
		return rc
	case snap.LastCheckpointAt == nil:
		rc.replay = interval / 2
		rc.why = fmt.Sprintf("replay %s (half the %s checkpoint interval)", rc.replay.Round(time.Second), interval)
		return rc
	}
	last := *snap.LastCheckpointAt
	if last.After(now) {
		last = now
	}
	stop := now.Add(rc.wait)
	since := stop.Sub(last) % interval
	if due := interval - since; due <= checkpointWait {
		rc.wait += due
		rc.replay = 0
		rc.why = "no replay (the restart waits for the checkpoint due then)"
		return rc
	}
	rc.replay = since
	rc.why = fmt.Sprintf("replay %s since the checkpoint %s before the stop", since.Round(time.Second), since.Round(time.Second))
	if next := interval - now.Sub(last)%interval; next > checkpointWait {
		rc.later = next
	}
	return rc
}
