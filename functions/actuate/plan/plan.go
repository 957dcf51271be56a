// Package plan turns a scaling decision and the job's current state into the
// ordered steps that apply it safely (docs/scaling-modes.md "Scaling modes",
// "Order of a rescale"). It is pure: no I/O, clock or logger; actuate
// executes the plan against Kubernetes and Flink (and the benchmark runs
// that same actuate code in virtual time).
//
// Order of the steps, by mode and direction of the TaskManager count:
//
//	mode       TMs up                                   TMs down                                 TMs equal
//	adaptive   scale → wait-slots → put → verify → wait  put → verify → wait → [mark] → scale      put → verify → wait
//	  (fold)                                            [mark] → scale → wait-released → put → verify → wait
//	keda       declare → wait-slots → put → verify → wait put → verify → wait → [mark] → declare  put → verify → wait
//	  (fold)                                            [mark] → declare → wait-released → put → verify → wait
//	reactive   scale → wait-slots → wait                  scale → wait                             (nothing)
//	session    put → verify → wait                       put → verify → wait                      put → verify → wait
//
// An adaptive or keda scale-up of a job that is down (Current.Down: a
// failover's restart, or waiting for slots) declares its requirements first
// as well (put → scale or declare → wait-slots → put → verify → wait):
// the down job's next graph is built from the requirements declared while
// it waits, so the decision shapes that restart instead of following it as
// a second one.
//
// An adaptive or keda scale-up of a RUNNING job that runs below its
// declared upper bounds (Current.Parallelism: the slots were short) first
// pins each such vertex's upper bound to the parallelism it runs at
// (pin → scale or declare → wait-slots → put → verify → wait). Flink's
// adaptive scheduler rescales a running job whenever new slots let it run
// closer to its declared bounds; without the pin the new TaskManagers
// would restart the job at its old bounds before the decision's put
// restarts it again. The pin itself restarts nothing: the scheduler
// rescales only when the parallelism the slots and requirements give
// differs from what runs, and it gives exactly what runs.
//
// scale = set TaskManager replicas; declare = publish the desired TM count for
// KEDA (in keda mode actuate never touches replicas); mark = set each
// TaskManager pod's controller.kubernetes.io/pod-deletion-cost to the
// subtasks its TaskManager runs, so the ReplicaSet that applies the lower
// count (actuate's scale, or KEDA's) deletes idle TaskManagers' pods first
// (Options.MarkPods); put = PUT
// /jobs/<id>/resource-requirements with the full map; verify = GET it back and
// compare; wait = the job is RUNNING with every vertex at its expected
// parallelism. The decision's mode says how the job scales; who owns the
// TaskManager replicas is actuate's setting (Options): when KEDA owns them
// (Options.DeclareTaskManagers) every scale step becomes a declare step, in
// any mode; when nobody here owns them (Flink's own ResourceManager in native
// Kubernetes mode, or a fixed cluster), adaptive plans drop scale and
// wait-slots and reactive plans are empty. A keda decision while actuate
// itself owns the replicas is refused: two owners would fight.
//
// KEDA reaches the replicas through an HPA, which ignores a change within its
// tolerance (|desired/current − 1| ≤ 0.1 by default). A declared count inside
// that band is moved out of it (Options.Tolerance): up to the smallest count
// beyond the band, or, going down, left at the current count.
//
// Options.FoldScaleDown folds an adaptive scale-down's TaskManager removal
// into the rescale's own restart: the TaskManagers go first (scaled, or
// declared for KEDA, whose HPA then lowers the replicas), and the
// requirements are declared while the job restarts on the ones left
// (wait-released = the JobManager no longer lists the removed TaskManagers).
// Removing them after the rescale, as the plain order does, fails the job
// over a second time whenever Flink left subtasks on them: its adaptive
// scheduler packs a scaled-down job onto the fewest TaskManagers only in
// application mode with jobmanager.adaptive-scheduler.prefer-minimal-taskmanagers
// (1.20.2+, 2.0.1+) and without local recovery, and spreads it otherwise
// (docs/scaling-modes.md "Scale-down and TaskManager removal").
//
// With Options.AlignCheckpoint and a job that checkpoints
// (Current.CheckpointInterval > 0), a wait-checkpoint step goes right before
// the step that restarts the job: before put (every mode), or before scale
// (or declare) in a reactive or folded scale-down. A rescale restores the
// latest completed checkpoint and replays the input read since; restarting
// just after a checkpoint completes replays almost nothing. A reactive
// scale-up restarts when the new slots register, which no step times, so it
// gets no wait-checkpoint; nor does a put to a job that rescales on its next
// completed checkpoint (Current.RescalesOnCheckpoint, Flink 2), nor a put
// that keeps what runs (keepsWhatRuns: a release of idle TaskManagers, which
// is not folded either).
//
// With Options.TriggerCheckpoint, such a job (running) gets a
// trigger-checkpoint step right before the wait for its new parallelism,
// after a put or a reactive scale-up's slots: Flink rescales it on that
// checkpoint's completion, not on the next periodic one.
package plan

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/slots"
)

// ErrInvalid is returned for a decision that can never be applied: an unknown
// mode, a vertex the job does not have, a non-positive target, bounds out of
// order or a slot layout that cannot be computed.
var ErrInvalid = errors.New("invalid decision")

// Kind names a step; the names appear in events.Step.Name.
type Kind string

// Step kinds.
const (
	KindScaleTaskManagers   Kind = "scale-taskmanagers"
	KindDeclareTaskManagers Kind = "declare-taskmanagers"
	KindWaitSlots           Kind = "wait-slots"
	KindPutRequirements     Kind = "put-requirements"
	KindVerifyRequirements  Kind = "verify-requirements"
	KindWaitParallelism     Kind = "wait-parallelism"
	KindWaitCheckpoint      Kind = "wait-checkpoint"
	KindWaitReleased        Kind = "wait-released"
	KindMarkTaskManagers    Kind = "mark-taskmanagers"
	KindPinRequirements     Kind = "pin-requirements"
	KindTriggerCheckpoint   Kind = "trigger-checkpoint"
)

// Directions of a plan.
const (
	DirectionUp    = "up"    // more TaskManagers
	DirectionDown  = "down"  // fewer TaskManagers
	DirectionLevel = "level" // same TaskManagers, requirements change
	DirectionNone  = "none"  // already at target
)

// Bounds is one vertex's declared parallelism range.
type Bounds struct {
	Lower int `json:"lower"`
	Upper int `json:"upper"`
}

// Current is the job as actuate found it before acting.
type Current struct {
	// TaskManagers is the replica count of the TM workload, or the TMs
	// registered with the JobManager when actuate owns no workload.
	TaskManagers int
	// Requirements is what GET /jobs/<id>/resource-requirements answered:
	// every vertex of the job. Empty in reactive mode.
	Requirements map[string]Bounds
	// MaxParallelism per vertex (optional; caps reactive parallelism).
	MaxParallelism map[string]int
	// CheckpointInterval is the job's periodic checkpoint interval; zero
	// when checkpointing is off or unknown.
	CheckpointInterval time.Duration
	// RescalesOnCheckpoint is true when the job's Flink rescales a running
	// job for new requirements only on its next completed checkpoint
	// (events.RescalesOnCheckpoint: Flink 2): a put needs no
	// wait-checkpoint step before it.
	RescalesOnCheckpoint bool
	// Down is true when the job is not running (restarting after a
	// failover, or waiting for its slots): its next graph is built from the
	// requirements declared while it is down.
	Down bool
	// Parallelism is the parallelism each vertex runs at; nil unless the
	// job is RUNNING.
	Parallelism map[string]int
}

// Options says what actuate controls.
type Options struct {
	// OwnsTaskManagers is true when actuate has a TaskManager backend
	// (kubernetes or emulator) and sets the replicas itself. Ignored in
	// session mode.
	OwnsTaskManagers bool
	// DeclareTaskManagers is true when KEDA owns the replicas: actuate
	// declares the desired count (declare steps) instead of scaling, whatever
	// the decision's mode.
	DeclareTaskManagers bool
	// Tolerance is the tolerance of the HPA that applies a declared count
	// (0.1 is the HPA's default; 0 when the HPA's behavior sets tolerance 0,
	// Kubernetes 1.33+). A declared change within it is moved out of the
	// band. Only declare steps use it.
	Tolerance float64
	// AlignCheckpoint puts a wait-checkpoint step before the restart.
	AlignCheckpoint bool
	// TriggerCheckpoint puts a trigger-checkpoint step before the wait
	// for the new parallelism of a job that rescales on a completed
	// checkpoint (Current.RescalesOnCheckpoint).
	TriggerCheckpoint bool
	// FoldScaleDown removes an adaptive scale-down's TaskManagers before
	// its requirements are declared (scale or declare → wait-released →
	// put), so the removal and the rescale share one restart. Only when
	// the requirements change.
	FoldScaleDown bool
	// MarkPods puts a mark step before an adaptive scale-down's scale or
	// declare step: the ReplicaSet that applies the lower replica count
	// (actuate's, or KEDA's HPA's) picks which pods go, and the mark makes
	// it pick those whose TaskManagers run the fewest subtasks. Set it only
	// when the workload's pods are removed by a ReplicaSet (a Deployment's),
	// not a StatefulSet's highest ordinals.
	MarkPods bool
}

// Step is one action of a plan.
type Step struct {
	Kind Kind `json:"kind"`
	// TaskManagers is the replica count to set or declare (scale, declare),
	// the registered TaskManagers to wait down to (wait-released), or the
	// TaskManagers that stay (mark).
	TaskManagers int `json:"taskManagers,omitempty"`
	// Slots is the registered slots to wait for (wait-slots).
	Slots int `json:"slots,omitempty"`
	// Requirements is the full map to PUT and verify (put, verify).
	Requirements map[string]Bounds `json:"requirements,omitempty"`
	// Parallelism is the per-vertex parallelism to wait for (wait).
	Parallelism map[string]int `json:"parallelism,omitempty"`
	// CheckpointInterval is the job's checkpoint interval (wait-checkpoint):
	// the wait ends when a checkpoint completed within a small fraction of
	// it, and lasts at most about one interval.
	CheckpointInterval time.Duration `json:"checkpointInterval,omitempty"`
	// Patient marks a wait-checkpoint step of a decision that raises no
	// vertex: nothing falls behind while it waits, so it may wait a whole
	// interval for the next checkpoint (CheckpointLimit) rather than restart
	// unaligned and replay up to an interval of input.
	Patient bool `json:"patient,omitempty"`
	// Early marks the put of a down job's scale-up declared before the
	// TaskManagers are asked (Current.Down); the put after the slot wait
	// declares the same requirements, or what the registered slots allow.
	Early bool `json:"early,omitempty"`
	// Pinned names the vertices a pin step (KindPinRequirements) lowers to
	// the parallelism they run at, with their declared bounds before it.
	Pinned map[string]Bounds `json:"pinned,omitempty"`
}

// Plan is the ordered steps that take the job from Current to the decision.
type Plan struct {
	Mode         string       `json:"mode"`
	Direction    string       `json:"direction"`
	TaskManagers events.Count `json:"taskManagers"`
	// Slots is the slots the job needs at the target.
	Slots int    `json:"slots"`
	Steps []Step `json:"steps"`
	// Reason says why the plan is empty, when it is.
	Reason string `json:"reason,omitempty"`
}

// TaskManagers returns the TaskManagers a decision needs by the slot
// arithmetic of docs/scaling-modes.md: slots for the vertices' upper bounds under the decision's slot
// layout, divided by slots per TM, plus standby. It wraps ErrInvalid.
func TaskManagers(d events.Decision) (tms, slotsNeeded int, err error) {
	layout, err := layoutOf(d.Slots)
	if err != nil {
		return 0, 0, err
	}
	upper := map[string]int{}
	for _, v := range d.Vertices {
		b, err := boundsOf(v)
		if err != nil {
			return 0, 0, err
		}
		upper[v.ID] = b.Upper
	}
	if d.Mode == events.ModeReactive {
		// One parallelism for every vertex: the slots are its largest value.
		layout.Dedicated, layout.Groups = false, nil
	}
	n, err := layout.Needed(upper)
	if err != nil {
		return 0, 0, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return slots.ForSlots(n, layout.PerTaskManager) + layout.Standby, n, nil
}

// For returns the plan that applies d to a job in state cur. It wraps
// ErrInvalid for a decision that can never be applied.
func For(d events.Decision, cur Current, opt Options) (Plan, error) {
	switch d.Mode {
	case events.ModeReactive, events.ModeAdaptive, events.ModeKEDA, events.ModeSession:
	default:
		return Plan{}, fmt.Errorf("%w: mode %q is not reactive, adaptive, session or keda", ErrInvalid, d.Mode)
	}
	if len(d.Vertices) == 0 {
		return Plan{}, fmt.Errorf("%w: no vertices", ErrInvalid)
	}
	if d.Mode == events.ModeKEDA && opt.OwnsTaskManagers {
		return Plan{}, fmt.Errorf("%w: decision mode keda has KEDA own the TaskManagers, but actuate owns them "+
			"(--taskmanagers kubernetes or emulator): set decide's policy mode to adaptive, "+
			"or let KEDA own them (actuate --taskmanagers keda)", ErrInvalid)
	}
	p := Plan{Mode: d.Mode, TaskManagers: events.Count{Current: cur.TaskManagers, Target: cur.TaskManagers}}
	var err error
	switch {
	case d.Mode == events.ModeSession:
		p, err = requirementsOnly(p, d, cur)
	case BoundsOnly(d, cur):
		// what runs declared as the bounds, no TaskManager asked: the
		// TaskManagers stay whatever the decision's slot layout would
		// count (a job with slot-sharing groups it does not report holds
		// more than the layout counts)
		p, err = requirementsOnly(p, d, cur)
	case d.Mode == events.ModeReactive, d.Mode == events.ModeAdaptive, d.Mode == events.ModeKEDA:
		var tms int
		if tms, p.Slots, err = TaskManagers(d); err != nil {
			return Plan{}, err
		}
		if d.Mode == events.ModeReactive {
			p, err = reactive(p, d, cur, opt, tms)
		} else {
			p, err = adaptive(p, d, cur, opt, tms)
		}
	}
	if err != nil || cur.CheckpointInterval <= 0 || BoundsOnly(d, cur) {
		return p, err
	}
	if opt.TriggerCheckpoint && cur.RescalesOnCheckpoint && !cur.Down {
		p = triggerCheckpoint(p, cur)
	}
	if !opt.AlignCheckpoint {
		return p, nil
	}
	return alignCheckpoint(p, cur, !raises(d)), nil
}

// triggerCheckpoint inserts a trigger-checkpoint step right before the
// wait for the new parallelism of a plan that changes it without a
// failover: by a put, or by new slots (a reactive scale-up); not after a
// put that keeps what runs (keepsWhatRuns). A job that
// rescales only on a completed checkpoint then rescales on the one
// triggered, not on the next periodic one up to an interval later. A
// folded scale-down's restart is the failover of its TaskManagers'
// removal, which waits for no checkpoint.
func triggerCheckpoint(p Plan, cur Current) Plan {
	has := func(k Kind) bool { return slices.ContainsFunc(p.Steps, func(s Step) bool { return s.Kind == k }) }
	if has(KindWaitReleased) || !has(KindPutRequirements) && (p.Mode != events.ModeReactive || p.Direction != DirectionUp) {
		return p
	}
	if put := slices.IndexFunc(p.Steps, func(s Step) bool { return s.Kind == KindPutRequirements }); put >= 0 && keepsWhatRuns(p.Steps[put].Requirements, cur) {
		return p // nothing to rescale on the checkpoint
	}
	at := slices.IndexFunc(p.Steps, func(s Step) bool { return s.Kind == KindWaitParallelism })
	if at < 0 {
		return p
	}
	p.Steps = slices.Insert(p.Steps, at, Step{Kind: KindTriggerCheckpoint})
	return p
}

// BoundsOnly reports whether d only declares the parallelism a running
// adaptive or KEDA job runs at, asking for no TaskManager (its count's
// target its current): decide's pin of a job's bounds before its first
// decision. Its plan is requirements only (put → verify → wait). Flink's
// adaptive scheduler rescales only when the parallelism the slots and
// requirements give differs from what runs, so such a put restarts
// nothing: it waits for no checkpoint and does not start actuate's rate
// limit (KeepsParallelism).
func BoundsOnly(d events.Decision, cur Current) bool {
	return d.TaskManagers.Target == d.TaskManagers.Current && KeepsParallelism(d, cur)
}

// KeepsParallelism reports whether d keeps every vertex of a running adaptive
// or KEDA job at the parallelism it runs at, whatever it asks of the
// TaskManagers: decide's pin of the job's bounds (BoundsOnly) or its
// release of idle TaskManagers (bounds at what runs, then the TaskManagers
// without subtasks removed). Neither restarts the job, so neither starts
// actuate's rate limit: the limit guards the job against restarts
// following each other, and decide's own minimum interval does not count
// such a decision either. Counted, a release at 1m50s had the job's first
// scale-up skipped as rate limited 20 s later, unseen by decide, which
// waited five minutes for it on a lag past the SLO
// (cdr-rating-kinesis-ms-119, seed 206001).
func KeepsParallelism(d events.Decision, cur Current) bool {
	if d.Mode != events.ModeAdaptive && d.Mode != events.ModeKEDA || cur.Down || len(cur.Parallelism) == 0 || len(d.Vertices) == 0 {
		return false
	}
	for _, v := range d.Vertices {
		if run, ok := cur.Parallelism[v.ID]; !ok || run != v.Target {
			return false
		}
	}
	return true
}

// keepsWhatRuns reports whether declaring req to the running job cur
// restarts nothing: every vertex runs at its declared upper bound, at or
// above its lower. Flink's adaptive scheduler rescales only when the
// parallelism the slots and requirements give differs from what runs. Such
// a put re-declares bounds (decide's releaseIdle declares lower = upper =
// what runs where the job was submitted with Flink's default lower bound
// 1): it is not a restart to fold a TaskManager removal into or to align
// with a checkpoint.
func keepsWhatRuns(req map[string]Bounds, cur Current) bool {
	if cur.Down || len(cur.Parallelism) == 0 || len(req) == 0 {
		return false
	}
	for id, b := range req {
		if run, ok := cur.Parallelism[id]; !ok || run != b.Upper || b.Lower > run {
			return false
		}
	}
	return true
}

// raises reports whether d takes any vertex above its current parallelism.
func raises(d events.Decision) bool {
	return slices.ContainsFunc(d.Vertices, func(v events.VertexDecision) bool { return v.Target > v.Current })
}

// alignCheckpoint inserts a wait-checkpoint step before the step that
// restarts the job, if the plan has one; patient as Step.Patient. A put
// that keeps what runs (keepsWhatRuns) restarts nothing and gets none. A put
// to a job that rescales on its next completed checkpoint
// (Current.RescalesOnCheckpoint) gets none: Flink waits for that
// checkpoint itself, so a put declared after one completes lands an
// interval later than one declared at once, and replays no less
// (chains-windows: a scale-up declared 20 s before a checkpoint landed
// 80 s later, on the one after). A restart by the removal of
// TaskManagers is a failover, which waits for no checkpoint, and keeps
// the step.
func alignCheckpoint(p Plan, cur Current, patient bool) Plan {
	at := slices.IndexFunc(p.Steps, func(s Step) bool { return s.Kind == KindPutRequirements })
	if cur.RescalesOnCheckpoint || at >= 0 && keepsWhatRuns(p.Steps[at].Requirements, cur) {
		at = -1
	}
	if p.Direction == DirectionDown && slices.ContainsFunc(p.Steps, func(s Step) bool { return s.Kind == KindWaitReleased }) {
		// A folded scale-down restarts the job when the TaskManagers go:
		// right before they are scaled or declared (after the mark, which
		// reads where the subtasks run now).
		at = slices.IndexFunc(p.Steps, func(s Step) bool {
			return s.Kind == KindScaleTaskManagers || s.Kind == KindDeclareTaskManagers
		})
	}
	if p.Mode == events.ModeReactive && p.Direction == DirectionDown {
		at = slices.IndexFunc(p.Steps, func(s Step) bool {
			return s.Kind == KindScaleTaskManagers || s.Kind == KindDeclareTaskManagers
		})
	}
	if at < 0 {
		return p
	}
	p.Steps = slices.Insert(p.Steps, at, Step{Kind: KindWaitCheckpoint, CheckpointInterval: cur.CheckpointInterval, Patient: patient})
	return p
}

// requirementsOnly is the session plan, and any plan whose TMs nobody here owns.
func requirementsOnly(p Plan, d events.Decision, cur Current) (Plan, error) {
	req, changed, err := Requirements(d, cur.Requirements)
	if err != nil {
		return Plan{}, err
	}
	if !changed {
		return none(p, "requirements already declared"), nil
	}
	p.Direction = DirectionLevel
	p.Steps = putSteps(req)
	return p, nil
}

// declares reports whether d's TaskManager count is declared for KEDA
// rather than set by actuate.
func declares(d events.Decision, opt Options) bool {
	return d.Mode == events.ModeKEDA || opt.DeclareTaskManagers
}

// tmStep is the step that sets the TaskManager count to tms, and tms moved
// out of the HPA's tolerance band when it is declared.
func tmStep(d events.Decision, cur Current, opt Options, tms int) Step {
	if declares(d, opt) {
		return Step{Kind: KindDeclareTaskManagers, TaskManagers: OutsideTolerance(tms, cur.TaskManagers, opt.Tolerance)}
	}
	return Step{Kind: KindScaleTaskManagers, TaskManagers: tms}
}

// OutsideTolerance returns the count to declare so that an HPA with
// tolerance tol moves from current replicas toward target: target itself
// when the change leaves the band |target/current − 1| ≤ tol; else, going
// up, the smallest count beyond the band (a few spare slots rather than no
// step at all), and going down, current (a removal the HPA would ignore is
// not declared).
func OutsideTolerance(target, current int, tol float64) int {
	if tol <= 0 || current <= 0 || target == current {
		return target
	}
	ratio := float64(target) / float64(current)
	switch {
	case ratio > 1 && ratio <= 1+tol:
		n := target
		for float64(n)/float64(current) <= 1+tol {
			n++
		}
		return n
	case ratio < 1 && ratio >= 1-tol:
		return current
	}
	return target
}

func adaptive(p Plan, d events.Decision, cur Current, opt Options, tms int) (Plan, error) {
	if !declares(d, opt) && !opt.OwnsTaskManagers {
		return requirementsOnly(p, d, cur)
	}
	req, changed, err := Requirements(d, cur.Requirements)
	if err != nil {
		return Plan{}, err
	}
	tmStep := tmStep(d, cur, opt, tms)
	tms = tmStep.TaskManagers
	p.TaskManagers.Target = tms
	switch {
	case tms > cur.TaskManagers:
		p.Direction = DirectionUp
		p.Steps = append([]Step{tmStep, {Kind: KindWaitSlots, Slots: p.Slots}}, putSteps(req)...)
		switch {
		case cur.Down && changed:
			p.Steps = slices.Insert(p.Steps, 0, Step{Kind: KindPutRequirements, Requirements: req, Early: true})
		case changed:
			if pin, ok := pinStep(cur); ok {
				p.Steps = slices.Insert(p.Steps, 0, pin)
			}
		}
	case tms < cur.TaskManagers:
		p.Direction = DirectionDown
		var mark []Step
		if opt.MarkPods {
			mark = []Step{{Kind: KindMarkTaskManagers, TaskManagers: tms}}
		}
		if opt.FoldScaleDown && changed && !keepsWhatRuns(req, cur) {
			// The removal's failover (if Flink left subtasks on the removed
			// TaskManagers) is the restart the new requirements need.
			p.Steps = append(append(mark, tmStep, Step{Kind: KindWaitReleased, TaskManagers: tms}), putSteps(req)...)
			break
		}
		// Removed TMs must be idle: wait for the job at its (new) parallelism
		// even when the requirements do not change.
		p.Steps = putSteps(req)
		if !changed {
			p.Steps = p.Steps[2:]
		}
		p.Steps = append(append(p.Steps, mark...), tmStep)
	case changed:
		p.Direction = DirectionLevel
		p.Steps = putSteps(req)
	default:
		return none(p, "TaskManagers and requirements already at target"), nil
	}
	return p, nil
}

// pinStep returns the step that pins a running job's declared upper bounds
// to the parallelism it runs at, for every vertex running below its upper
// bound (lower bounds kept at or below it), and whether any vertex does.
func pinStep(cur Current) (Step, bool) {
	if cur.Down || len(cur.Parallelism) == 0 {
		return Step{}, false
	}
	req := maps.Clone(cur.Requirements)
	was := map[string]Bounds{}
	for id, b := range cur.Requirements {
		if p := cur.Parallelism[id]; p > 0 && p < b.Upper {
			req[id] = Bounds{Lower: min(b.Lower, p), Upper: p}
			was[id] = b
		}
	}
	if len(was) == 0 {
		return Step{}, false
	}
	return Step{Kind: KindPinRequirements, Requirements: req, Pinned: was}, true
}

func reactive(p Plan, d events.Decision, cur Current, opt Options, tms int) (Plan, error) {
	if !opt.OwnsTaskManagers && !declares(d, opt) {
		return none(p, "reactive mode scales only through TaskManagers, and neither actuate nor KEDA owns them here"), nil
	}
	step := tmStep(d, cur, opt, tms)
	tms = step.TaskManagers
	p.TaskManagers.Target = tms
	if tms == cur.TaskManagers {
		return none(p, "TaskManagers already at target"), nil
	}
	perTM := d.Slots.PerTaskManager
	want := map[string]int{}
	for _, v := range d.Vertices {
		want[v.ID] = tms * perTM
		if m := cur.MaxParallelism[v.ID]; m > 0 && m < want[v.ID] {
			want[v.ID] = m
		}
	}
	p.Steps = []Step{step}
	p.Direction = DirectionDown
	if tms > cur.TaskManagers {
		p.Direction = DirectionUp
		p.Steps = append(p.Steps, Step{Kind: KindWaitSlots, Slots: tms * perTM})
	}
	p.Steps = append(p.Steps, Step{Kind: KindWaitParallelism, Parallelism: want})
	return p, nil
}

func none(p Plan, reason string) Plan {
	p.Direction, p.Reason, p.Steps = DirectionNone, reason, nil
	p.TaskManagers.Target = p.TaskManagers.Current
	return p
}

// putSteps declares req, reads it back and waits for the job to run at the
// upper bounds.
func putSteps(req map[string]Bounds) []Step {
	want := make(map[string]int, len(req))
	for id, b := range req {
		want[id] = b.Upper
	}
	return []Step{
		{Kind: KindPutRequirements, Requirements: req},
		{Kind: KindVerifyRequirements, Requirements: req},
		{Kind: KindWaitParallelism, Parallelism: want},
	}
}

// Requirements returns the full map to PUT: the current requirements with the
// decision's vertices replaced (lower = upper = target unless the decision
// gives bounds), and whether it differs from current. A decision vertex the
// job does not have wraps ErrInvalid.
func Requirements(d events.Decision, current map[string]Bounds) (map[string]Bounds, bool, error) {
	req := maps.Clone(current)
	if req == nil {
		req = map[string]Bounds{}
	}
	for _, v := range d.Vertices {
		if _, ok := current[v.ID]; !ok && len(current) > 0 {
			known := slices.Sorted(maps.Keys(current))
			return nil, false, fmt.Errorf("%w: vertex %s is not in the job (vertices %v)", ErrInvalid, v.ID, known)
		}
		b, err := boundsOf(v)
		if err != nil {
			return nil, false, err
		}
		req[v.ID] = b
	}
	return req, !maps.Equal(req, current), nil
}

func boundsOf(v events.VertexDecision) (Bounds, error) {
	b := Bounds{Lower: v.Target, Upper: v.Target}
	if v.Lower != 0 || v.Upper != 0 {
		b = Bounds{Lower: v.Lower, Upper: v.Upper}
		if b.Upper == 0 {
			b.Upper = v.Target
		}
		if b.Lower == 0 {
			b.Lower = min(v.Target, b.Upper)
		}
	}
	if b.Lower < 1 || b.Upper < b.Lower {
		return Bounds{}, fmt.Errorf("%w: vertex %s: bounds [%d, %d] (target %d) need 1 <= lower <= upper",
			ErrInvalid, v.ID, b.Lower, b.Upper, v.Target)
	}
	return b, nil
}

func layoutOf(s events.Slots) (slots.Layout, error) {
	l := slots.Layout{PerTaskManager: s.PerTaskManager, Groups: s.Groups, Standby: s.Standby}
	switch s.Sharing {
	case "", events.SlotSharingShared:
	case events.SlotSharingDedicated:
		l.Dedicated = true
	default:
		return l, fmt.Errorf("%w: slot sharing %q is not shared or dedicated", ErrInvalid, s.Sharing)
	}
	if s.PerTaskManager <= 0 {
		return l, fmt.Errorf("%w: %d slots per TaskManager", ErrInvalid, s.PerTaskManager)
	}
	if s.Standby < 0 {
		return l, fmt.Errorf("%w: %d standby TaskManagers", ErrInvalid, s.Standby)
	}
	return l, nil
}

// Fit returns steps that apply plan p's remaining steps (those after the
// slot wait) at what slots registered slots allow, when fewer slots
// registered than p needs: the put and verify steps declare requirements
// whose upper bounds fit the slots under the decision's slot layout
// (standby TaskManagers' slots left free; the largest upper bound lowered
// first, lower bounds kept at or below the upper), and the wait expects the
// parallelism that fits (in reactive mode: at most the slots, standby's
// included, as Flink runs it). It wraps ErrInvalid when even parallelism 1 for
// every vertex does not fit.
func Fit(d events.Decision, steps []Step, slots int) ([]Step, error) {
	layout, err := layoutOf(d.Slots)
	if err != nil {
		return nil, err
	}
	avail := slots - layout.Standby*layout.PerTaskManager
	if d.Mode == events.ModeReactive {
		// Reactive mode runs every vertex on all the slots, standby included.
		layout.Dedicated, layout.Groups, avail = false, nil, slots
	}
	out := slices.Clone(steps)
	for i, s := range out {
		switch s.Kind {
		case KindPutRequirements, KindVerifyRequirements:
			if out[i].Requirements, err = fitBounds(layout, s.Requirements, avail); err != nil {
				return nil, err
			}
		case KindWaitParallelism:
			upper := make(map[string]Bounds, len(s.Parallelism))
			for id, p := range s.Parallelism {
				upper[id] = Bounds{Lower: p, Upper: p}
			}
			fit, err := fitBounds(layout, upper, avail)
			if err != nil {
				return nil, err
			}
			out[i].Parallelism = make(map[string]int, len(fit))
			for id, b := range fit {
				out[i].Parallelism[id] = b.Upper
			}
		}
	}
	return out, nil
}

// fitBounds lowers the upper bounds until they need at most avail slots
// (slots.Layout.Fit), keeping each lower bound at or below its upper.
func fitBounds(layout slots.Layout, req map[string]Bounds, avail int) (map[string]Bounds, error) {
	upper := make(map[string]int, len(req))
	for id, b := range req {
		upper[id] = b.Upper
	}
	fit, err := layout.Fit(upper, avail)
	if err != nil {
		return nil, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	out := make(map[string]Bounds, len(req))
	for id, b := range req {
		out[id] = Bounds{Lower: min(b.Lower, fit[id]), Upper: fit[id]}
	}
	return out, nil
}
