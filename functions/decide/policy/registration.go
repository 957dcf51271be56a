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
// completed checkpoint, as restartFor. A last checkpoint older than the
// run (State.Epoch) is the previous run's (registrationFirst).
func registrationRestart(st State, snap *events.Snapshot, cfg Config, now time.Time) restartCost {
	interval := time.Duration(snap.CheckpointIntervalMs) * time.Millisecond
	if interval <= 0 || snap.LastCheckpointAt == nil {
		return restartFor(st, snap, cfg, now)
	}
	rc := restartCost{restartStats: registrationStats(st, cfg), interval: interval}
	rc.wait = rc.downtime - rc.outage
	last := *snap.LastCheckpointAt
	if last.After(now) {
		last = now
	}
	rc.source, rc.stop, rc.laterReplay = replayAtRegistration, now.Add(rc.wait), pollInterval(st)
	if last.Before(st.Epoch) && !st.Epoch.After(now) {
		return registrationFirst(rc, st.Epoch, last, now)
	}
	since := rc.stop.Sub(last) % interval
	rc.replay = since
	if since > rc.laterReplay {
		rc.later = interval - since
	}
	return rc
}

// registrationStats is what a reactive scale-up's restart is priced
// from: the mean of all the job's restarts (expectedRestart), or of its
// scale-ups' alone (raisedRestart, each observed from its decision to the
// run at its targets, its outage from the first stop: firstStop) when
// those stopped the job longer. A scale-up of two or more TaskManagers
// restarts the job once per registration wave, a release or a failover
// once: priced from the mean of all, the scale-ups' second restart was
// averaged away (ledger-enrich-reactive-standby 185001 at 52m: 8→20
// priced at a 2m11s restart, five restarts, lag 370 s against a 90-s
// SLO). Not from the scale-ups' alone whatever they showed: where they
// restart once (cosine-day-reactive, TaskManagers that start in a fixed
// 20 s) the releases' restarts are the dearer, and priced from the
// scale-ups' the drains, sized to end at 2m50s, ended past 3 minutes on
// 2 of 10 seeds (session 7). What it trades: a job whose scale-ups
// restarted twice prices a scale-up that adds one TaskManager (one wave)
// as two until its last maxRestarts restarts say otherwise.
func registrationStats(st State, cfg Config) restartStats {
	all := expectedRestart(st, cfg)
	if up := restartsOf(st.Restarts, cfg, raisedRestart); up.observed > 0 && up.outage > all.outage {
		return up
	}
	return all
}

// registrationFirst prices a reactive scale-up decided before the run's
// first checkpoint, the last completed one (last) the previous run's:
// Flink starts the run's schedule when the run begins (at a random delay
// within an interval), so the previous run's schedule says nothing of
// when the next is due, and until the run's first completes a restart
// restores last and replays all since (read by the previous run's
// schedule, a registration minutes after the run began could be priced
// as replaying seconds). The first is due at the latest an interval after
// the run began (epoch): a registration after that is priced on the
// schedule from then; one before it replays all since last, and the
// decision timed to register then is offered, replaying what is left of
// the first checkpoint's spread since now (half of it on average: not
// seen yet, it is due at any time up to then).
func registrationFirst(rc restartCost, epoch, last, now time.Time) restartCost {
	first := epoch.Add(rc.interval)
	if !rc.stop.Before(first) {
		rc.replay = rc.stop.Sub(first) % rc.interval
		if rc.replay > rc.laterReplay {
			rc.later = rc.interval - rc.replay
		}
		return rc
	}
	rc.replay = rc.stop.Sub(last)
	if d := first.Sub(rc.stop); d > rc.laterReplay {
		rc.later = d
		rc.laterReplay = max(rc.laterReplay, first.Sub(now)/2)
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
// or not makes, one that asks for more TaskManagers than are registered
// (starts) from the restarts that started some (restartCost.start) once
// the job has shown one.
func (rc restartCost) forChange(raises, starts bool) restartCost {
	switch {
	case raises && starts && rc.start != nil:
		return *rc.start
	case raises && rc.up != nil:
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
