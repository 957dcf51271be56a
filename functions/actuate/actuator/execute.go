package actuator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"maps"
	"slices"
	"time"

	"github.com/flinkscaler/flinkscaler/functions/actuate/kedascaler"
	"github.com/flinkscaler/flinkscaler/functions/actuate/plan"
	"github.com/flinkscaler/flinkscaler/functions/actuate/taskmanagers"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flink"
)

// cleanupTimeout bounds a rollback and the last writes after a failure.
const cleanupTimeout = 30 * time.Second

// jobState is what actuate last saw of the job.
type jobState struct {
	name    string
	running bool
}

// current reads the job's TaskManagers, requirements and max parallelism.
// Errors wrap ErrTransient, ErrNotAdaptive, ErrReactive or ErrRefused.
func (a *Actuator) current(ctx context.Context, fl Flink, d events.Decision, workload string) (plan.Current, jobState, error) {
	var cur plan.Current
	details, err := fl.JobDetails(ctx, d.JobID)
	if err != nil {
		return cur, jobState{}, classifyFlink("read job", err)
	}
	job := jobState{name: details.Name, running: details.State == flink.StateRunning}
	cur.Down = details.State == flink.StateCreated || details.State == flink.StateRestarting
	cur.MaxParallelism = map[string]int{}
	if job.running {
		cur.Parallelism = map[string]int{}
	}
	for _, v := range details.Vertices {
		cur.MaxParallelism[v.ID] = v.MaxParallelism
		if job.running {
			cur.Parallelism[v.ID] = v.Parallelism
		}
	}
	if a.deps.TaskManagers != nil && (d.Mode == events.ModeAdaptive || d.Mode == events.ModeReactive) {
		if cur.TaskManagers, err = a.deps.TaskManagers.Replicas(ctx, d.Cluster, workload); err != nil {
			return cur, job, classifyTMs("read TaskManager replicas", err)
		}
	} else {
		ov, err := fl.Overview(ctx)
		if err != nil {
			return cur, job, classifyFlink("read cluster overview", err)
		}
		cur.TaskManagers = ov.TaskManagers
	}
	if d.Mode != events.ModeReactive {
		req, err := fl.GetResourceRequirements(ctx, d.JobID)
		if err != nil {
			return cur, job, classifyFlink("read resource requirements", err)
		}
		cur.Requirements = fromFlink(req)
	}
	return cur, job, nil
}

// paused reports whether the job's policy entry (events.ReadPolicy) says
// paused. An entry that does not parse counts as paused: decide holds such
// a job too, and applying a decision the operator may have meant to stop
// is worse than waiting for a fixed entry.
func (a *Actuator) paused(ctx context.Context, d events.Decision) (bool, string, error) {
	if a.deps.Policy == nil {
		return false, "", nil
	}
	entry, key, err := events.ReadPolicy(ctx, a.deps.Policy, d.Cluster, d.JobID, d.JobName)
	if err != nil {
		return false, "", fmt.Errorf("%w: %w", ErrTransient, err)
	}
	sw, err := events.PolicySwitchesOf(entry)
	if err != nil {
		return true, fmt.Sprintf("the job's policy entry %s is invalid (%v); not applying until it is fixed", key, err), nil
	}
	if sw.Paused {
		return true, fmt.Sprintf("scaling is paused for this job (policy \"paused\" in %s)", key), nil
	}
	return false, "", nil
}

// execution runs one plan and keeps what it did.
type execution struct {
	a        *Actuator
	fl       Flink
	d        events.Decision
	p        plan.Plan
	workload string
	tms      int  // TaskManager count in effect now
	running  bool // job RUNNING when last seen
	steps    []events.Step
	tmsMoved bool // a scale or declare step changed the count
	reqMoved bool // a PUT changed the requirements
	early    bool // only an early put (Step.Early) changed them
	// before is what the job declared before the plan (GET
	// resource-requirements); a failed plan whose only change of them was
	// its early put declares them again (rollback).
	before map[string]plan.Bounds
	// registered and slots are the TaskManagers and slots the slot wait
	// last saw registered.
	registered, slots int
	// short says why the plan ran at fewer TaskManagers than it asked for
	// (keepRegistered); the outcome is then partial.
	short string
	// slotsTook is the longest a slot wait of the job took to see its
	// slots (record.SlotsTook), raised by this plan's waits; nil: not
	// kept.
	slotsTook *time.Duration
	// replaced is set once the TaskManagers that had not registered were
	// replaced (replaceUnregistered): at most once per plan.
	replaced bool
	// unfolded says why a scale-down removes its TaskManagers after the
	// rescale rather than with it (foldable); "" when it folds or is no
	// scale-down.
	unfolded string
}

// run executes the plan's steps in order. When the slot wait times out with
// some of the new TaskManagers registered, it replaces those that did not
// and waits once more (replaceUnregistered); when that is not done or the
// second wait times out too, it keeps the registered ones and runs the rest
// of the plan at what their slots allow (keepRegistered), reporting partial.
// On another failure it stops, rolls the TaskManagers back when requirements
// were not touched, and reports partial (something stayed changed) or
// failed. It returns an error only for a transient failure of the first
// change, which changed nothing.
func (x *execution) run(ctx context.Context) (events.Result, bool, error) {
	for i := 0; i < len(x.p.Steps); i++ {
		s := x.p.Steps[i]
		err := x.step(ctx, s)
		if err == nil {
			continue
		}
		if s.Kind == plan.KindWaitSlots && errors.Is(err, ErrTimeout) && x.replaceUnregistered(ctx) {
			i-- // the slot wait again, for the replacements
			continue
		}
		if s.Kind == plan.KindWaitSlots && errors.Is(err, ErrTimeout) && x.keepRegistered(ctx, i, err) {
			continue
		}
		if !x.tmsMoved && !x.reqMoved && errors.Is(err, ErrTransient) {
			return events.Result{}, false, err
		}
		for _, rest := range x.p.Steps[i+1:] {
			x.steps = append(x.steps, events.Step{Name: string(rest.Kind), Status: "skipped", StartedAt: x.a.deps.Clock.Now().UTC(), Detail: "not run: an earlier step failed"})
		}
		// Undo and report even when ctx ended (shutdown) mid-plan.
		cleanup, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
		defer cancel()
		x.rollback(cleanup)
		x.publishDesired(cleanup)
		out := events.OutcomeFailed
		if x.tmsMoved || x.reqMoved {
			out = events.OutcomePartial
		}
		return events.Result{Outcome: out, Steps: x.steps, Error: err.Error()}, x.tmsMoved || x.reqMoved, nil
	}
	x.publishDesired(ctx)
	if x.short != "" {
		return events.Result{Outcome: events.OutcomePartial, Steps: x.steps, Error: x.short}, true, nil
	}
	return events.Result{Outcome: events.OutcomeApplied, Steps: x.steps}, true, nil
}

// keepRegistered handles a slot wait that timed out (waitErr) after the
// scale-up of step i-1: when more TaskManagers registered than the plan
// started with, it sets the TaskManager count to the registered ones (a
// Deployment's ReplicaSet removes its pending pods first) and rewrites the
// rest of the plan to the parallelism their slots allow (plan.Fit), so the
// job rescales now instead of waiting for the next decision. It records a
// keep-taskmanagers step and returns false, changing nothing, when nothing
// new registered, the slots fit no parallelism, or the count cannot be set:
// the plan then fails and rolls back.
func (x *execution) keepRegistered(ctx context.Context, i int, waitErr error) bool {
	before, asked, kept := x.p.TaskManagers.Current, x.tms, x.registered
	if !x.tmsMoved || x.reqMoved && !x.early || kept <= before || kept >= asked {
		return false
	}
	rest, err := plan.Fit(x.d, x.p.Steps[i+1:], x.slots)
	if err != nil {
		return false
	}
	start := x.a.deps.Clock.Now()
	st := events.Step{Name: "keep-taskmanagers", Status: "done", StartedAt: start.UTC(),
		Detail: fmt.Sprintf("%d of %d TaskManagers registered (%d slots): kept them, TaskManagers %d → %d; the job runs at what %d slots allow",
			kept, asked, x.slots, asked, kept, x.slots)}
	if err := x.setTaskManagers(ctx, kept); err != nil {
		st.Status, st.Detail = "failed", fmt.Sprintf("keep the %d registered TaskManagers: %v", kept, err)
		x.record(st, start)
		return false
	}
	x.tms = kept
	x.record(st, start)
	x.p.Steps = append(x.p.Steps[:i+1:i+1], rest...)
	x.short = fmt.Sprintf("%v; kept the %d registered TaskManagers of %d asked (%d before) and declared what their %d slots allow",
		waitErr, kept, asked, before, x.slots)
	return true
}

// replaceUnregistered handles a slot wait that timed out after a scale-up
// (Options.ReplaceUnregistered), before keepRegistered: when some of the
// new TaskManagers registered and the others did not, the others are taken
// as never coming (a pod that never started or cannot reach the
// JobManager, while its peers started in the time) and replaced, once per
// plan, the count unchanged (replacer). It records a replace-taskmanagers
// step and returns true for the slot wait to run again; it returns false,
// changing nothing, when the option is off, the plan declares its count
// for KEDA or nothing can replace, nothing new or everything registered,
// or it replaced already. A replacement that fails is recorded as a failed
// step and returns false: the registered TaskManagers are then kept
// (keepRegistered sets the count to them, whatever the failed replacement
// left).
func (x *execution) replaceUnregistered(ctx context.Context) bool {
	replace := x.replacer()
	before, asked, registered := x.p.TaskManagers.Current, x.tms, x.registered
	if replace == nil || !x.a.opt.ReplaceUnregistered || x.replaced || !x.tmsMoved || x.reqMoved && !x.early ||
		registered <= before || registered >= asked ||
		slices.ContainsFunc(x.p.Steps, func(s plan.Step) bool { return s.Kind == plan.KindDeclareTaskManagers }) {
		return false
	}
	x.replaced = true
	n := asked - registered
	start := x.a.deps.Clock.Now()
	st := events.Step{Name: "replace-taskmanagers", Status: "done", StartedAt: start.UTC()}
	did, err := replace(ctx, n)
	if err != nil {
		st.Status, st.Detail = "failed", fmt.Sprintf("replace the %d TaskManagers not registered: %v", n, err)
		x.record(st, start)
		return false
	}
	st.Detail = fmt.Sprintf("%d of %d TaskManagers registered (%d before) when the slot wait ran out: replaced the %d that did not (%s); waiting for their slots once more",
		registered, asked, before, n, did)
	x.record(st, start)
	return true
}

// replacer is how the TaskManagers that did not register are replaced:
// a Deployment's pods that run no registered TaskManager deleted, for its
// ReplicaSet to start new ones (deletePods), when actuate has the pods
// (Deps.Pods); else the backend's own way (Replacer); nil when neither.
func (x *execution) replacer() func(ctx context.Context, n int) (string, error) {
	if d, ok := x.a.deps.Pods.(PodDeleter); ok && taskmanagers.ReadsDeletionCost(x.workload) {
		return func(ctx context.Context, n int) (string, error) { return x.deletePods(ctx, d, n) }
	}
	if r, ok := x.a.deps.TaskManagers.(Replacer); ok {
		return func(ctx context.Context, n int) (string, error) {
			return r.ReplaceUnregistered(ctx, x.d.Cluster, x.workload, n)
		}
	}
	return nil
}

// deletePods deletes the workload's pods in which no registered
// TaskManager runs (runsIn: by pod name, or pod IP = the TaskManager's
// address), at most n of them. It deletes nothing and fails when none or
// more than n such pods are found (the pods cannot be told apart: a pod
// without an IP yet counts as not registered, as do pods no TaskManager
// matches for how the cluster names them), or the pods or Flink's
// TaskManagers cannot be read. A pod already gone is counted as replaced.
func (x *execution) deletePods(ctx context.Context, d PodDeleter, n int) (string, error) {
	pods, err := x.a.deps.Pods.List(ctx, x.workload)
	if err != nil {
		return "", fmt.Errorf("list the pods of %s: %w", x.workload, err)
	}
	tms, err := x.fl.TaskManagers(ctx)
	if err != nil {
		return "", fmt.Errorf("read Flink's TaskManagers: %w", err)
	}
	var stale []taskmanagers.Pod
	for _, pod := range pods {
		if !slices.ContainsFunc(tms, func(tm flink.TaskManager) bool { return runsIn(tm, pod) }) {
			stale = append(stale, pod)
		}
	}
	if len(stale) == 0 || len(stale) > n {
		return "", fmt.Errorf("%w: %d of the %d pods of %s run no registered TaskManager, where %d did not register: not told apart, none deleted",
			ErrRefused, len(stale), len(pods), x.workload, n)
	}
	names := make([]string, 0, len(stale))
	for _, pod := range stale {
		if err := d.Delete(ctx, pod); err != nil && !errors.Is(err, taskmanagers.ErrPodGone) {
			return "", fmt.Errorf("%d of %d pods deleted (%v), then: %w", len(names), len(stale), names, err)
		}
		names = append(names, pod.Name)
	}
	return fmt.Sprintf("pods %v deleted, their ReplicaSet starts new ones", names), nil
}

// setTaskManagers sets the TaskManager count the way the plan does: declared
// for KEDA, or scaled.
func (x *execution) setTaskManagers(ctx context.Context, n int) error {
	if slices.ContainsFunc(x.p.Steps, func(s plan.Step) bool { return s.Kind == plan.KindDeclareTaskManagers }) {
		return x.declare(ctx, n)
	}
	return x.a.deps.TaskManagers.Scale(ctx, x.d.Cluster, x.workload, n)
}

// step runs one step and records it with its timing.
func (x *execution) step(ctx context.Context, s plan.Step) error {
	start := x.a.deps.Clock.Now()
	detail, err := x.do(ctx, s)
	st := events.Step{Name: string(s.Kind), Status: "done", StartedAt: start.UTC(), Detail: detail}
	if err != nil {
		st.Status, st.Detail = "failed", err.Error()
	}
	x.record(st, start)
	return err
}

func (x *execution) record(st events.Step, start time.Time) {
	dur := x.a.deps.Clock.Now().Sub(start)
	st.DurationMs = dur.Milliseconds()
	x.steps = append(x.steps, st)
	x.a.deps.Metrics.step(st.Name, st.Status, dur)
}

func (x *execution) do(ctx context.Context, s plan.Step) (string, error) {
	switch s.Kind {
	case plan.KindScaleTaskManagers:
		return x.scale(ctx, s.TaskManagers)
	case plan.KindDeclareTaskManagers:
		from := x.tms
		if err := x.declare(ctx, s.TaskManagers); err != nil {
			return "", err
		}
		x.tms, x.tmsMoved = s.TaskManagers, true
		return fmt.Sprintf("desired TaskManagers %d → %d for KEDA%s", from, s.TaskManagers, foldNote(x.p, x.unfolded)), nil
	case plan.KindWaitSlots:
		return x.waitSlots(ctx, s.Slots)
	case plan.KindPutRequirements:
		early := !x.reqMoved && s.Early
		detail, err := x.put(ctx, s.Requirements)
		x.reqMoved = x.reqMoved || err == nil
		x.early = early || x.early && s.Early
		return detail, err
	case plan.KindPinRequirements:
		// Not a move of the requirements (reqMoved): the job runs at
		// what it declares, and its graph stays as it is.
		detail, err := x.put(ctx, s.Requirements)
		if err != nil {
			return "", err
		}
		return detail + pinNote(s), nil
	case plan.KindVerifyRequirements:
		return x.verify(ctx, s.Requirements)
	case plan.KindWaitParallelism:
		return x.waitParallelism(ctx, s.Parallelism)
	case plan.KindWaitCheckpoint:
		return x.waitCheckpoint(ctx, s)
	case plan.KindTriggerCheckpoint:
		return x.triggerCheckpoint(ctx)
	case plan.KindWaitReleased:
		return x.waitReleased(ctx, s.TaskManagers)
	case plan.KindMarkTaskManagers:
		return x.mark(ctx), nil
	}
	return "", fmt.Errorf("%w: unknown step %q", ErrRefused, s.Kind)
}

func (x *execution) scale(ctx context.Context, n int) (string, error) {
	from := x.tms
	if err := x.a.deps.TaskManagers.Scale(ctx, x.d.Cluster, x.workload, n); err != nil {
		return "", classifyTMs(fmt.Sprintf("scale TaskManagers %d → %d", from, n), err)
	}
	x.tms, x.tmsMoved = n, true
	return fmt.Sprintf("TaskManagers %d → %d (%s)%s", from, n, x.workloadName(), foldNote(x.p, x.unfolded)), nil
}

func (x *execution) workloadName() string {
	if x.workload == "" {
		return "cluster " + x.d.Cluster
	}
	return x.workload
}

// rollbackEarly undoes a down job's early put when the plan failed after
// it and nothing else changed the requirements: the job declares again
// what it declared before, so it does not wait, down, for slots the
// TaskManagers that never came would have brought (its lower bounds are the
// decision's), and the TaskManagers roll back as for any plan that left the
// requirements untouched. Without what the job declared before (a failed
// read, reactive mode) the early put stays.
func (x *execution) rollbackEarly(ctx context.Context) {
	if !x.early || !x.reqMoved || len(x.before) == 0 {
		return
	}
	start := x.a.deps.Clock.Now()
	st := events.Step{Name: "rollback-requirements", Status: "rolled-back", StartedAt: start.UTC()}
	detail, err := x.put(ctx, x.before)
	if err != nil {
		st.Status, st.Detail = "failed", fmt.Sprintf("declare again what the job declared before the plan: %v", err)
	} else {
		x.reqMoved, x.early = false, false
		st.Detail = detail + ": what the job declared before the plan, whose TaskManagers did not come"
	}
	x.record(st, start)
}

// rollback returns the TaskManagers to their count before the plan, unless
// the requirements were changed (the job may already use the new slots) or
// the plan folded a scale-down: its removal already restarted the job on
// the TaskManagers left, and bringing the others back would restart it
// once more for a size the decision left.
func (x *execution) rollback(ctx context.Context) {
	x.rollbackEarly(ctx)
	before := x.p.TaskManagers.Current
	if !x.tmsMoved || x.reqMoved || x.tms == before || x.folded() {
		return
	}
	start := x.a.deps.Clock.Now()
	st := events.Step{Name: "rollback-taskmanagers", Status: "rolled-back", StartedAt: start.UTC(),
		Detail: fmt.Sprintf("TaskManagers %d → %d", x.tms, before)}
	if err := x.setTaskManagers(ctx, before); err != nil {
		st.Status, st.Detail = "failed", fmt.Sprintf("roll TaskManagers back to %d: %v", before, err)
	} else {
		x.tms = before
		for i := range x.steps {
			if k := plan.Kind(x.steps[i].Name); k == plan.KindScaleTaskManagers || k == plan.KindDeclareTaskManagers {
				x.steps[i].Status = "rolled-back"
			}
		}
	}
	x.record(st, start)
}

// folded reports whether the plan removes TaskManagers before declaring.
func (x *execution) folded() bool {
	return slices.ContainsFunc(x.p.Steps, func(s plan.Step) bool { return s.Kind == plan.KindWaitReleased })
}

// declare writes the job's desired TaskManager count for the KEDA scaler.
func (x *execution) declare(ctx context.Context, n int) error {
	d := kedascaler.Desired{Cluster: x.d.Cluster, JobID: x.d.JobID, JobName: x.d.JobName, TaskManagers: n,
		Running: x.running, Mode: x.d.Mode, UpdatedAt: x.a.deps.Clock.Now().UTC()}
	b, err := json.Marshal(d)
	if err != nil {
		return fmt.Errorf("encode desired TaskManagers: %w", err)
	}
	if _, err := x.a.deps.Desired.Put(ctx, events.KVKey(x.d.Cluster, x.d.JobID), b); err != nil {
		return fmt.Errorf("%w: write %s: %w", ErrTransient, events.BucketDesiredTMs, err)
	}
	return nil
}

// publishDesired writes the count in effect at the end; a failure is
// recorded as a failed step (the outcome stands: the job was changed).
func (x *execution) publishDesired(ctx context.Context) {
	start := x.a.deps.Clock.Now()
	if err := x.declare(ctx, x.tms); err != nil {
		x.record(events.Step{Name: string(plan.KindDeclareTaskManagers), Status: "failed", StartedAt: start.UTC(), Detail: err.Error()}, start)
	}
}

func stepDetail(s plan.Step) string {
	switch s.Kind {
	case plan.KindScaleTaskManagers:
		return fmt.Sprintf("set TaskManager replicas to %d", s.TaskManagers)
	case plan.KindDeclareTaskManagers:
		return fmt.Sprintf("declare %d desired TaskManagers for KEDA", s.TaskManagers)
	case plan.KindWaitSlots:
		return fmt.Sprintf("wait for %d registered slots", s.Slots)
	case plan.KindPutRequirements:
		return "PUT requirements " + describe(s.Requirements)
	case plan.KindPinRequirements:
		return "PUT requirements " + describe(s.Requirements) + pinNote(s)
	case plan.KindVerifyRequirements:
		return "read back requirements " + describe(s.Requirements)
	case plan.KindWaitParallelism:
		return fmt.Sprintf("wait for the job RUNNING at parallelism %v", shortKeys(s.Parallelism))
	case plan.KindWaitCheckpoint:
		return fmt.Sprintf("wait for a checkpoint (interval %s) before the restart", s.CheckpointInterval)
	case plan.KindTriggerCheckpoint:
		return "trigger a checkpoint for Flink to rescale on"
	case plan.KindWaitReleased:
		return fmt.Sprintf("wait until at most %d TaskManagers are registered", s.TaskManagers)
	case plan.KindMarkTaskManagers:
		return fmt.Sprintf("set %s on the TaskManager pods so the ReplicaSet keeps the %d that run the most subtasks",
			taskmanagers.DeletionCostAnnotation, s.TaskManagers)
	}
	return string(s.Kind)
}

// pinNote says why a pin step declares what the job runs at.
func pinNote(s plan.Step) string {
	return fmt.Sprintf(": the parallelism the job runs at, below its declared bounds (%s) for want of slots, "+
		"so the new TaskManagers do not rescale it to those before the decision's requirements (one restart, not two); "+
		"the pin itself restarts nothing", describe(s.Pinned))
}

func shortKeys(m map[string]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range maps.All(m) {
		out[short(k)] = v
	}
	return out
}

// replaceStuck runs before a plan that changes no TaskManager count (no
// scale or declare step: a decision at the count the job already has) for
// a job that is down (CREATED or RESTARTING) with no slot registered at
// all while its TaskManager backend runs more TaskManagers than are
// registered: a lost TaskManager whose replacement pod never registers,
// the job waiting for it for ever (decide asks so once its slot wait has
// run out; without this such a decision changes nothing). The TaskManagers
// that have not registered are replaced (replacer: pods deleted for their
// ReplicaSet to start anew, or the emulator's count lowered and raised),
// once, and the slot wait (SlotWait) runs for their slots; the plan then
// runs. replaced reports that it did so. A result with an outcome ends the
// decision: failed, with why, when the replacement fails (the pods cannot
// be told apart, RBAC forbids, the backend refuses: decide asks again
// later, at most 3 times a wait); partial when the replacements do not
// register in the slot wait either. Nothing is done (replaced false, no
// outcome) when the option is off, KEDA owns the count, nothing can
// replace, the plan scales the TaskManagers itself, the job is not down, a
// slot is registered or every TaskManager is; err is a transient failure
// to read the cluster overview, before any change.
func (x *execution) replaceStuck(ctx context.Context, cur plan.Current, opt plan.Options) (res events.Result, replaced bool, err error) {
	replace := x.replacer()
	if !x.a.opt.ReplaceUnregistered || replace == nil || !cur.Down || opt.DeclareTaskManagers || x.d.Mode == events.ModeKEDA || cur.TaskManagers <= 0 ||
		slices.ContainsFunc(x.p.Steps, func(s plan.Step) bool {
			return s.Kind == plan.KindScaleTaskManagers || s.Kind == plan.KindDeclareTaskManagers
		}) {
		return res, false, nil
	}
	ov, err := x.fl.Overview(ctx)
	if err != nil {
		return res, false, classifyFlink("read cluster overview", err)
	}
	n := cur.TaskManagers - ov.TaskManagers
	if ov.SlotsTotal > 0 || n <= 0 {
		return res, false, nil
	}
	x.replaced = true
	start := x.a.deps.Clock.Now()
	st := events.Step{Name: "replace-taskmanagers", Status: "done", StartedAt: start.UTC()}
	did, err := replace(ctx, n)
	if err != nil {
		st.Status, st.Detail = "failed", fmt.Sprintf("the job is down with no slot registered and %d of %d TaskManagers not registered: replace them: %v",
			n, cur.TaskManagers, err)
		x.record(st, start)
		return events.Result{Outcome: events.OutcomeFailed, Steps: x.steps, Error: st.Detail}, false, nil
	}
	st.Detail = fmt.Sprintf("the job is down with no slot registered and %d of %d TaskManagers not registered: replaced them (%s); waiting for their slots",
		n, cur.TaskManagers, did)
	x.record(st, start)
	x.a.recordEvent(ctx, x.workload, eventNormal, "ReplacedTaskManagers", st.Detail)
	if err := x.step(ctx, plan.Step{Kind: plan.KindWaitSlots, Slots: max(x.d.Slots.PerTaskManager, 1) * cur.TaskManagers}); err != nil {
		return events.Result{Outcome: events.OutcomePartial, Steps: x.steps,
			Error: fmt.Sprintf("%v; the %d replaced TaskManagers did not register either", err, n)}, true, nil
	}
	return res, true, nil
}
