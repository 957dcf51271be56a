package policy

import (
	"fmt"
	"time"
)

// A job that rescales only on a completed checkpoint (Flink 2:
// restartCost.source replayOnCheckpoint) lands a scale-up on the first
// checkpoint completed after its restart could start: after its
// TaskManagers' start-up, or at once within the slots registered. actuate
// declares the change then (it aligns no put of such a job with a
// checkpoint: Flink waits for one anyway) and asks for a checkpoint
// (--trigger-checkpoint), so the change lands about that checkpoint's
// duration later (restartCost.triggered), sooner than on the periodic
// one, up to an interval later.
//
// When the periodic checkpoint is due sooner than a triggered one would
// complete, or actuate triggers none, a scale-up decided any earlier than
// the last poll that still makes that checkpoint lands no sooner; it only
// fixes its size on a rise read for less time. Decided on a rise shorter
// than the wait it runs after the rise, on the load the rise came from,
// and its release minutes later undoes it on the same load: a decided
// flap (tenant-metrics-microspikes 192002, session 23, before actuate
// triggered the checkpoint: 18 in 3 h, every one a scale-up that stopped
// the job 70–130 s after it was decided on a 40-s flush).
//
// So a scale-up that would land on the same periodic checkpoint decided
// at the next poll, with its preparation's spread to spare
// (landMargin), is held (awaitLanding, hold checkpoint_wait) and the
// load is read again then: a rise that outlasts the wait is scaled up on
// the same checkpoint, sized on the backlog and rate read then; one that
// is over by then is not answered with a restart. One that lands on the
// checkpoint actuate triggers is never held: decided later, it triggers
// its own, later. A failover's restart (the job is down) is not held.
// What it trades: a preparation slower than its spread misses the
// checkpoint and lands an interval later; a rise that ends before the
// landing leaves its backlog to drain on the current size, where the
// late raise would have drained it faster (and then been released: the
// flap).

// landSpread is the least spread allowed for when a restart's
// preparation ends: a TaskManager's start-up varies by tens of seconds
// around its mean (15–40 s, 20–50 s in the scenarios), and actuate's
// steps take a few seconds each. Half the preparation when longer.
const landSpread = 10 * time.Second

// landing is when a scale-up decided now lands (from now: its
// preparation, then the checkpoint completed after it) and how much later
// it could be decided and still land then (spare: rc.slack, the time from
// the preparation's end to that checkpoint).
func landing(rc restartCost) (lands, spare time.Duration) {
	if rc.triggered {
		// one decided later triggers its own checkpoint, later
		return rc.wait, 0
	}
	return rc.wait, rc.slack
}

// landMargin is the least spare a held scale-up is made with: the spread
// of its preparation's end.
func landMargin(rc restartCost) time.Duration {
	return max(landSpread, (rc.wait-rc.slack)/2)
}

// awaitLanding says why a scale-up best, whose restart is rc, waits for
// the next poll (after poll): it would land on the same checkpoint
// decided then. Empty when it does not.
func awaitLanding(best evaluation, rc restartCost, poll time.Duration) string {
	if !checkpointGated(best, rc) || poll <= 0 {
		return ""
	}
	lands, spare := landing(rc)
	m := landMargin(rc)
	if spare <= poll+m {
		return ""
	}
	return fmt.Sprintf("a scale-up decided now lands on the checkpoint due in ~%s (Flink %s rescales on a completed checkpoint), as one decided at the next poll would, with %s to spare after its restart's preparation (~%s): the load is read again then; traded: a rise that is over by then is not answered with a restart that would run after it, against the risk of a preparation over %s slower than seen missing that checkpoint (%s)",
		lands.Round(time.Second), rc.release, spare.Round(time.Second), (rc.wait - rc.slack).Round(time.Second), m.Round(time.Second), best.summary())
}

// landedNote is what a scale-up held by awaitLanding since since says when
// it is made now; empty when it was not held, or could not have been:
// one that lands on the checkpoint actuate triggers is never held for it.
func landedNote(best evaluation, rc restartCost, since, now time.Time) string {
	if !checkpointGated(best, rc) || rc.triggered || since.IsZero() || !since.Before(now) {
		return ""
	}
	lands, _ := landing(rc)
	return fmt.Sprintf("; chosen %s ago and made at the last poll that lands on the checkpoint due in ~%s: sized on the backlog and rate read then, not when the rise was first seen, at no later landing",
		now.Sub(since).Round(time.Second), lands.Round(time.Second))
}

// checkpointGated reports whether best is a scale-up whose restart rc
// lands on a completed checkpoint (Flink 2, the job running): the
// changes awaitLanding may hold.
func checkpointGated(best evaluation, rc restartCost) bool {
	return best.raises() && !rc.down && rc.source == replayOnCheckpoint && rc.interval > 0
}
