package policy

import (
	"fmt"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// pinBounds is a decision that changes nothing but the job's declared
// bounds: every vertex kept at the parallelism it runs at, declared as
// its lower and upper bound, once, when keeping is cheapest and no
// decision of ours has declared the job's requirements yet (State.Rescale,
// State.IdleRelease and State.Pinned unset). Nil outside adaptive and KEDA
// mode (reactive mode declares none, a session cluster's TaskManagers are
// not the job's) and when the job is not running.
//
// Why: a job submitted with parallelism p has Flink's default
// requirements, lower bound 1 and upper bound p. When it loses a
// TaskManager, Flink's adaptive scheduler waits
// resource-stabilization-timeout (10 s) for the slots left to stay, runs
// the job on them, and restarts it again when the replacement (and any
// TaskManager a fold asked for) registers: two outages and two replays
// (faults, every seed: the 20-minute loss, ~6–9 min before the lag was
// back). A fold decided while the job is down (foldIntoFailover) comes a
// snapshot after the loss, with actuate's put a second later: past the
// 10 s, so it shapes only the second restart. With the lower bounds at
// the parallelism the job runs at, the slots left do not hold them and
// Flink waits for the replacement: one restart, which the fold shapes.
// Every decision of ours declares its targets as lower bounds already;
// this covers the job's run before its first one. Declaring what runs
// restarts nothing: the scheduler rescales only when the parallelism the
// slots and requirements give differs from what runs. What it trades: a
// replacement that never registers leaves the job waiting (answered after
// stuckAfter, awaitingSlots) where it would have run short.
func pinBounds(g gateInput, st State, w weighed, snapshotID string) (*events.Decision, State) {
	s := g.snap
	if g.cfg.Mode != events.ModeAdaptive && g.cfg.Mode != events.ModeKEDA || s.JobState != "RUNNING" ||
		st.Rescale != nil || st.IdleRelease != nil || !st.Pinned.IsZero() {
		return nil, st
	}
	d := w.decision(g, snapshotID)
	d.TaskManagers = events.Count{Current: s.TaskManagers, Target: s.TaskManagers}
	d.Rationale = fmt.Sprintf("declare the parallelism the job runs at as its bounds, every vertex kept: 0 restarts (Flink gives exactly what runs) and 0 slots added, "+
		"so that a lost TaskManager's failover waits for its replacement and restarts once, instead of running on the slots left "+
		"and restarting again when the replacement registers (a second outage and replay, lag ~%.0f s each at the restart priced now), "+
		"traded against a job that waits for a replacement that never registers (answered after %s) where it would have run short; %s",
		w.rs.outage.Seconds(), stuckAfter, holdSentence(w.evs, w.ld, w.lim))
	st.Pinned = g.now
	return d, st
}
