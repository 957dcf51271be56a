package policy

import (
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// registrationRestart prices a scale-up in reactive mode. There the job
// restarts by itself when the new TaskManagers' slots register, a
// TaskManager start-up (wait) after the decision, and actuate has no step
// that could hold that restart for a checkpoint: it replays the input read
// between the last checkpoint and the registration, whatever is due just
// after it. What decide can do is time the decision: one made later, so
// that the registration follows the next checkpoint, replays only what
// the snapshot interval makes it miss that moment by (at most one
// interval between snapshots). Without a checkpoint interval or a
// completed checkpoint, as restartFor.
func registrationRestart(st State, snap *events.Snapshot, cfg Config, now time.Time) restartCost {
	interval := time.Duration(snap.CheckpointIntervalMs) * time.Millisecond
	if interval <= 0 || snap.LastCheckpointAt == nil {
		return restartFor(st, snap, cfg, now)
	}
	rc := restartCost{restartStats: expectedRestart(st, cfg), interval: interval}
	rc.wait = rc.downtime - rc.outage
	last := *snap.LastCheckpointAt
	if last.After(now) {
		last = now
	}
	since := now.Add(rc.wait).Sub(last) % interval
	rc.replay, rc.source, rc.stop = since, replayAtRegistration, now.Add(rc.wait)
	if rc.laterReplay = pollInterval(st); since > rc.laterReplay {
		rc.later = interval - since
	}
	return rc
}

// pollInterval is the time between the last two samples: how far a
// decision may fall after the moment it was timed for.
func pollInterval(st State) time.Duration {
	n := len(st.Window)
	if n < 2 {
		return 0
	}
	return max(st.Window[n-1].At.Sub(st.Window[n-2].At), 0)
}

// forChange is the restart a candidate that raises some vertex (raises)
// or not makes.
func (rc restartCost) forChange(raises bool) restartCost {
	if raises && rc.up != nil {
		return *rc.up
	}
	return rc
}

// timedLater is rc for the decision made rc.later from now.
func (rc restartCost) timedLater() restartCost {
	later := rc
	later.wait = rc.later + rc.wait
	later.replay, later.stop, later.span = rc.wait+rc.took, time.Time{}, 0
	if rc.source == replayAtRegistration {
		later.replay = rc.laterReplay
	}
	return later
}
