// Package policy is decide's pure core: a snapshot, the job's State, its
// Config and the event time go in; a new State and, when the targets change,
// an events.Decision with absolute targets and readable reasons come out. No
// I/O, clock, logger or randomness: a recorded stream of snapshots replays to
// the same decisions.
//
// Ours (Decide) runs these steps in this order; each may hold, which ends the
// run with Output.Hold set and no decision:
//
//  1. order      drop duplicate, out-of-order and far-future snapshots
//  2. validate   job RUNNING, topology sane, every needed metric finite and plausible
//  3. topology   vertices changed → history reset
//  4. epoch      a new run (timestamps.RUNNING moved, parallelism changed) starts a new epoch
//  5. record     append the sample to the bounded window
//  6. inflight   a previous decision not yet visible in snapshots → wait (bounded)
//  7. paused     per-job pause
//  8. cooldown   the run or the last decision younger than MinInterval
//  9. settle     the run must be Settle old with ≥ 2 fresh samples; learn efficiency and downtime
//  10. estimate   per vertex: rates, busy, true rate per subtask (DS2: in ÷ busy)
//  11. learn      scaling efficiency from the rates before and after our last rescale
//  12. propagate  sources' offered rate (pending growth shows a step at once) + backlog catch-up
//     and the backlog a restart will find, through the DAG by selectivity
//  13. size       utilization target from the load's volatility (over the current level once it
//     has held a scale-down window, for scale-downs once it has held a rate
//     window or, after a drop far beyond the noise, half a rate window, so a
//     step is not noise); up only when a vertex
//     cannot keep up, sized for catch-up (and, when the job lags past the SLO
//     now or will after the restart, for draining the restart's backlog within
//     two SLOs), every vertex the restart would leave short going up with it;
//     down to the utilization target, never back to a parallelism
//     a scale-up left at the same rate (floors)
//  14. clamp      per-vertex and per-job bounds, key groups, source partitions
//  15. stepcap    at most MaxStepFactor per rescale
//  16. align      fewest subtasks giving the same key-group (or partition) bottleneck
//  17. reactive   one parallelism for all vertices in reactive mode
//  18. tmcap      fit MaxTaskManagers
//  19. stabilize  scale-up after ScaleUpDelay; scale-down after ScaleDownWindow, to the window's
//     highest since the rate's current level began, except a scale-up's planned release (its backlog drained, and its
//     rate level, if young then, held a window) or a drop far beyond the noise (a lower level begun in this run
//     that held half a rate window): to the current recommendation
//  20. restart    a scale-up is not made while riding the backlog out spends no longer above the
//     SLO than the restart would; a scale-down that saves fewer slot-seconds
//     than its restart costs is not made (a release's or drop's restart costs
//     the last outage, an ordinary one's the last decision-to-running time)
//  21. emit       a decision only when a target differs from the current parallelism
package policy

import (
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// Policy decides for one job. Ours and the baselines implement it, so decide
// and the benchmark drive them alike. Decide must be pure.
type Policy interface {
	Name() string
	Decide(Input) Output
}

// Input is everything a decision depends on.
type Input struct {
	Snapshot events.Snapshot
	// SnapshotID is the snapshot event's id, copied into the decision.
	SnapshotID string
	State      State
	// Config must have passed Validate.
	Config Config
	// Now is event time: the snapshot's observedAt.
	Now time.Time
	// Truth is the optimal parallelism per vertex id from an emulator's
	// ground truth; only the oracle reads it.
	Truth map[string]int
}

// Output is a decision, or a hold with its reason, and the state to store.
type Output struct {
	NewState State
	// Decision is nil when holding or when nothing changes.
	Decision *events.Decision
	// HoldKind is a short stable label for counting (HoldDuplicate, ...);
	// empty when a decision was made.
	HoldKind string
	// Hold says in words why no decision was made.
	Hold string
}

// Hold kinds.
const (
	HoldDuplicate  = "duplicate"
	HoldOutOfOrder = "out_of_order"
	HoldTimeJump   = "time_jump"
	HoldInvalid    = "invalid"
	HoldIncomplete = "incomplete"
	HoldNotRunning = "not_running"
	HoldTopology   = "topology_changed"
	HoldInFlight   = "in_flight"
	HoldPaused     = "paused"
	HoldCooldown   = "cooldown"
	HoldSettling   = "settling"
	HoldIdle       = "idle"
	HoldNoChange   = "no_change"
	HoldStabilize  = "stabilizing"
	HoldRestart    = "restart_cost"
)

// Name of our policy in decisions.
const Name = "flinkscaler"

// Ours is flinkscaler's own policy.
type Ours struct{}

var _ Policy = Ours{}

// Name implements Policy.
func (Ours) Name() string { return Name }

// Decide implements Policy.
func (Ours) Decide(in Input) Output { return Decide(in) }

// Decide runs our policy's steps (see the package comment) on in.
func Decide(in Input) Output {
	r := newRun(in, Name)
	return r.runSteps(oursSteps)
}

// step is one stage of a policy; a non-nil hold ends the run.
type step func(*run) *hold

var oursSteps = []step{
	stepOrder, stepValidate, stepTopology, stepEpoch, stepRecord, stepInFlight,
	stepPaused, stepCooldown, stepSettle, stepEstimate, stepLearn, stepPropagate, stepSize, stepClamp,
	stepStepCap, stepAlign, stepReactive, stepTMCap, stepStabilize, stepRestartCost,
	stepEmit,
}

// acceptSteps are the steps every policy shares before it sizes anything.
var acceptSteps = []step{
	stepOrder, stepValidate, stepTopology, stepEpoch, stepRecord, stepInFlight, stepPaused, stepCooldown,
}

type hold struct{ kind, msg string }

func holdf(kind, msg string) *hold { return &hold{kind: kind, msg: msg} }

func (r *run) runSteps(steps []step) Output {
	for _, s := range steps {
		if h := s(r); h != nil {
			return Output{NewState: r.st, HoldKind: h.kind, Hold: h.msg}
		}
	}
	return Output{NewState: r.st, Decision: r.decision}
}
