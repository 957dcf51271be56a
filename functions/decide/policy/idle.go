package policy

import (
	"fmt"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// IdleRelease is the last TaskManager-only release decided (releaseIdle):
// idle TaskManagers let go with every vertex kept.
type IdleRelease struct {
	DecisionID string    `json:"decisionId"`
	At         time.Time `json:"at"`
	// TaskManagers is the count it asked for.
	TaskManagers int `json:"taskManagers"`
}

// releaseIdle is a TaskManager-only decision when keeping every vertex is
// cheapest and the cluster has more TaskManagers than the job's slots need
// (standby included), some of them idle (Snapshot.IdleTaskManagers: no
// slot taken): the idle surplus goes, and no vertex changes. Nil when there
// is none, outside adaptive mode (reactive mode's TaskManagers are its
// parallelism, session mode owns none, and KEDA's HPA ignores a small
// change), or while the last such release has not taken and is younger
// than rescaleTimeout (a cluster whose TaskManagers nobody removes is not
// asked again every interval).
//
// Why: a job started on more TaskManagers than it needs (the scenario's,
// the Deployment's initial count) kept them until its first rescale, since
// decide made a decision only when a parallelism changed. Flink's own
// resource manager releases a TaskManager whose slots have idled
// resourcemanager.taskmanager-timeout (30 s) in native Kubernetes mode; a
// TaskManager workload scaled by actuate has no one else to do it. Removing
// an idle TaskManager restarts nothing; what it trades is a later scale-up
// into those slots, which then waits for a TaskManager's start-up.
func releaseIdle(g gateInput, st State, w weighed, snapshotID string) (*events.Decision, State) {
	s := g.snap
	if g.cfg.Mode != events.ModeAdaptive || s.IdleTaskManagers <= 0 || s.JobState != "RUNNING" {
		return nil, st
	}
	need := w.lim.taskManagers(currentsOf(w.view))
	if need <= 0 {
		return nil, st
	}
	target := s.TaskManagers - min(s.TaskManagers-need, s.IdleTaskManagers)
	if target >= s.TaskManagers {
		return nil, st
	}
	if last := st.IdleRelease; last != nil && s.TaskManagers > last.TaskManagers && g.now.Sub(last.At) < rescaleTimeout(g.cfg, s) {
		return nil, st
	}
	d := w.decision(g, snapshotID)
	d.TaskManagers = events.Count{Current: s.TaskManagers, Target: target}
	per := w.lim.layout.PerTaskManager
	freed := (s.TaskManagers - target) * per
	d.Rationale = fmt.Sprintf("release %d idle TaskManager(s), %d → %d, every vertex kept: none of their %d slots is taken, so no restart; "+
		"%d slots (%d slot-s/h) saved, traded against a later scale-up into those slots waiting for a TaskManager's start-up; %s",
		s.TaskManagers-target, s.TaskManagers, target, freed, freed, freed*3600, holdSentence(w.evs, w.ld, w.lim))
	st.IdleRelease = &IdleRelease{DecisionID: d.DecisionID, At: g.now, TaskManagers: target}
	return d, st
}
