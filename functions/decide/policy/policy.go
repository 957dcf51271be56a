// Package policy is decide's pure core: a snapshot, the job's State, its
// Config and the event time go in; a new State and, when the targets change,
// an events.Decision with absolute targets and readable reasons come out. No
// I/O, clock, logger or randomness: a recorded stream of snapshots replays to
// the same decisions.
//
// Ours (Decide, ours.go) accepts a snapshot through the gates every policy
// shares, then runs typed steps that read their inputs and return their
// outputs; nothing is shared between them but what their signatures name.
// The previous version (V1) is kept as a baseline.
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
	HoldCheckpoint = "checkpoint_wait"
)

// NameV1 is the previous version of our policy, kept as a baseline: the
// steps listed in V1's comment.
const NameV1 = "flinkscaler-v1"

// V1 is the previous version of our policy (the 21 steps below), kept to
// compare against in the benchmark:
//
//  1. order      drop duplicate, out-of-order and far-future snapshots
//  2. validate   job RUNNING, topology sane, every needed metric finite and plausible
//  3. topology   vertices changed → history reset
//  4. epoch      a new run starts a new epoch
//  5. record     append the sample to the bounded window
//  6. inflight   a previous decision not yet visible in snapshots → wait (bounded)
//  7. paused     per-job pause
//  8. cooldown   the run or the last decision younger than MinInterval
//  9. settle     the run must be Settle old with ≥ 2 fresh samples
//  10. estimate   per vertex: rates, busy, true rate per subtask (DS2: in ÷ busy)
//  11. learn      scaling efficiency from the rates before and after the last rescale
//  12. propagate  sources' offered rate and backlog catch-up through the DAG
//  13. size       utilization target from the load's volatility; up only when a
//     vertex cannot keep up, down to the target, never back to a floor
//  14. clamp      per-vertex and per-job bounds, key groups, source partitions
//  15. stepcap    at most MaxStepFactor per rescale
//  16. align      fewest subtasks giving the same key-group bottleneck
//  17. reactive   one parallelism for all vertices in reactive mode
//  18. tmcap      fit MaxTaskManagers
//  19. stabilize  scale-up after ScaleUpDelay; scale-down after ScaleDownWindow
//  20. restart    ride a backlog out, or skip a scale-down that saves less than its restart
//  21. emit       a decision only when a target differs from the current parallelism
type V1 struct{}

var _ Policy = V1{}

// Name implements Policy.
func (V1) Name() string { return NameV1 }

// Decide implements Policy.
func (V1) Decide(in Input) Output {
	return decideWith(in, NameV1, in.Config, false, v1Gates, v1Steps)
}

// step is one sizing stage of V1 or a baseline, after the gates; a non-nil
// hold ends the run.
type step func(*run) *hold

// v1Gates are ours: sharedGates, then settle (V1 validates strictly).
var v1Gates = oursGates

var v1Steps = []step{
	stepEstimate, stepLearn, stepPropagate, stepSize, stepClamp,
	stepStepCap, stepAlign, stepReactive, stepTMCap, stepStabilize, stepRestartCost,
	stepEmit,
}

// sharedGates are the gates V1 and most baselines run before they size
// anything, in this order (each order is a contract, TestGateOrder):
//
//	order     before validate: an invalid snapshot still moves LastObservedAt,
//	          so its redelivery is a duplicate
//	validate  before topology: an invalid snapshot never becomes the topology
//	topology  before epoch: a reset history starts its epoch now
//	epoch     before record: the sample belongs to the run it was taken in
//	record    before in-flight: a snapshot taken while waiting is kept
//	in-flight before paused: a rescale is seen applied while paused
//	paused    before cooldown: a paused job says it is paused
//	cooldown  before settle (ours, V1): the binding wait is named
var sharedGates = []gate{
	gateOrder, gateValidate, gateTopology, gateEpoch, gateRecord, gateInFlight, gatePaused, gateCooldown,
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
