package policy

import (
	"fmt"
	"time"
)

// A job that rescales only on a completed checkpoint (Flink 2:
// restartCost.source replayOnCheckpoint) lands a scale-up on the first
// checkpoint completed after its restart could start: after its
// TaskManagers' start-up, or at once within the slots registered. Decided
// any earlier than the last poll that still makes that checkpoint, the
// scale-up lands no sooner; it only fixes its size on a rise read for
// less time. Decided on a rise shorter than the wait (tenant metrics'
// 40-s flushes against a 1-minute schedule and a 35-s start-up; an
// on-sale spike of 5 minutes against 4-minute checkpoints; an hourly
// batch of 4 minutes against 6-minute ones) it runs after the rise, on
// the load the rise came from, adds its outage and replay to the backlog
// the rise left, and its release minutes later undoes it on the same
// load: a decided flap (tenant-metrics-microspikes 192002: 18 in 3 h,
// every one a scale-up that stopped the job 70–130 s after it was decided
// on a flush, at about a third of the rate it was sized for).
//
// So a scale-up whose checkpoint is due more than a poll and landMargin
// after its restart's preparation is held (awaitLanding) and the load is
// read again at the next poll: a rise that outlasts the wait is scaled up
// on the same checkpoint, sized on the backlog and rate then (what will
// be left to drain when it lands); one that is over by then is not
// answered with a restart. A failover's restart (the job is down) is not
// held.

// landMargin is the least time between the end of a held scale-up's
// preparation and the checkpoint it lands on, when it is finally made:
// a TaskManager's start-up varies by tens of seconds around its mean
// (15–40 s, 20–50 s in the scenarios), and one that registers after the
// checkpoint lands the change an interval later. Half the preparation,
// and at least actuate's own checkpoint wait.
func landMargin(rc restartCost) time.Duration {
	return max(checkpointWait, (rc.wait-rc.slack)/2)
}

// awaitLanding says why a scale-up best, whose restart is rc, waits for
// the next poll (after poll): it would land on the same checkpoint
// decided then. Empty when it does not.
func awaitLanding(best evaluation, rc restartCost, poll time.Duration) string {
	if !best.raises() || rc.down || rc.source != replayOnCheckpoint || poll <= 0 {
		return ""
	}
	m := landMargin(rc)
	if rc.slack <= poll+m {
		return ""
	}
	return fmt.Sprintf("a scale-up decided now lands on the checkpoint due in ~%s (Flink %s rescales on a completed checkpoint), as one decided at the next poll would, %s after its restart's preparation (~%s) with %s to spare: the load is read again then; traded: a rise that is over by then is not answered with a restart that would run after it, against the risk of a TaskManager start %s slower than seen missing that checkpoint (%s)",
		rc.wait.Round(time.Second), rc.release, rc.slack.Round(time.Second), (rc.wait - rc.slack).Round(time.Second), m.Round(time.Second), m.Round(time.Second), best.summary())
}

// landedNote is what a scale-up held by awaitLanding since since says when
// it is made now; empty when it was not held.
func landedNote(best evaluation, rc restartCost, since, now time.Time) string {
	if !best.raises() || rc.down || rc.source != replayOnCheckpoint || since.IsZero() || !since.Before(now) {
		return ""
	}
	return fmt.Sprintf("; chosen %s ago and made at the last poll that lands on the checkpoint due in ~%s: sized on the backlog and rate read then, not when the rise was first seen, at no later landing",
		now.Sub(since).Round(time.Second), rc.wait.Round(time.Second))
}
