// Package actuator applies scaling decisions: it plans them (package plan),
// executes the steps against Kubernetes (or the emulator) and Flink in the
// safe order, and reports an io.flinkscaler.scale.result.v1 event per
// decision. Per-job safety state lives in JetStream KV (see record).
package actuator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"

	"github.com/flinkscaler/flinkscaler/functions/actuate/plan"
	"github.com/flinkscaler/flinkscaler/functions/actuate/taskmanagers"
	"github.com/flinkscaler/flinkscaler/internal/clock"
	"github.com/flinkscaler/flinkscaler/internal/events"
)

// Function is actuate's name in event sources, rejections and the durable.
const Function = "actuate"

// Options tune an Actuator. Zero durations take the defaults of
// DefaultOptions.
type Options struct {
	// DefaultWorkload is the TaskManager workload ([KIND/]NAMESPACE/NAME) of
	// jobs whose decision names none.
	DefaultWorkload string
	// SlotWait bounds the wait for new TaskManagers' slots to register.
	SlotWait time.Duration
	// ParallelismWait bounds the wait for the job to run at the new
	// parallelism, counted from the latest restart the job began during
	// the wait (a failed restore restarts it again), at most twice over.
	ParallelismWait time.Duration
	// Poll is the interval of both waits.
	Poll time.Duration
	// MinInterval is the per-job actuation rate limit: a decision arriving
	// less than MinInterval after the job's last change is skipped (not
	// delayed). It is a safety net against a runaway decider: decide holds its own
	// decisions for its policy's longer minInterval, so none of them is skipped.
	MinInterval time.Duration
	// ConflictRetries bounds the retries of a PUT Flink answers 409.
	ConflictRetries int
	// AlignCheckpoint waits, before the step that restarts the job, until a
	// checkpoint has just completed (events.FreshCheckpoint), so the rescale
	// replays little; skipped for jobs without checkpointing, and before
	// the put of a job whose Flink rescales on its next completed
	// checkpoint anyway (Flink 2: plan.Current.RescalesOnCheckpoint).
	AlignCheckpoint bool
	// TriggerCheckpoint asks a job that rescales only on a completed
	// checkpoint (Flink 2) for one right after its new requirements or a
	// reactive scale-up's slots (plan.Options.TriggerCheckpoint), so the
	// rescale lands within that checkpoint's duration, not on the next
	// periodic one.
	TriggerCheckpoint bool
	// CheckpointWait bounds that wait (plan.CheckpointWait): when the next
	// checkpoint is not due within it, the job restarts at once. When the
	// bound passes with a checkpoint in progress, that one is waited for up
	// to the bound once more (and no longer than the replay it saves).
	CheckpointWait time.Duration
	// DryRun plans every decision and changes nothing.
	DryRun bool
	// MaxAge skips a decision stored in the stream longer ago than this
	// (queued through an outage of actuate); 0 applies any age.
	MaxAge time.Duration
	// KEDAOwnsTaskManagers makes every TaskManager change a declaration for
	// KEDA (--taskmanagers keda), whatever the decision's mode.
	KEDAOwnsTaskManagers bool
	// HPATolerance is the tolerance of the HPA KEDA drives (plan.Options
	// Tolerance): declared counts are moved out of its band.
	HPATolerance float64
	// FoldScaleDown removes a scale-down's TaskManagers (or serves KEDA
	// the lower count) before declaring its requirements, so both share
	// one restart (plan.Options FoldScaleDown), when the job's restart
	// strategy restarts without a bound (foldable).
	FoldScaleDown bool
	// ReleaseWait bounds the wait for removed TaskManagers to leave the
	// JobManager before a folded scale-down declares its requirements.
	ReleaseWait time.Duration
	// ReplaceUnregistered replaces, once per decision, the TaskManagers of
	// a scale-up that have not registered when the slot wait runs out
	// while others started with them did, and waits for the slots once
	// more (at most SlotWait again), when the TaskManager backend can
	// (Replacer). Off, or when the backend cannot, or the replacement
	// fails, the registered ones are kept as before (keepRegistered).
	// It also replaces, once per decision, the TaskManagers of a job that
	// is down with no slot registered at all when a decision asks for the
	// TaskManager count it already has (replaceStuck: decide asks so after
	// its slot wait, at most 3 times a wait).
	ReplaceUnregistered bool
}

// DefaultOptions are 2 min for slots, 3 min for parallelism, 1 s polls,
// 30 s between actuations of one job, 5 conflict retries, restarts aligned
// with checkpoints due within 30 s, the HPA's default tolerance 0.1,
// decisions older than 10 min skipped, scale-downs folded into one restart
// with 1 min for the removed TaskManagers to leave, TaskManagers that never
// register replaced once.
func DefaultOptions() Options {
	return Options{
		SlotWait: 2 * time.Minute, ParallelismWait: 3 * time.Minute, Poll: time.Second,
		MinInterval: 30 * time.Second, ConflictRetries: 5, AlignCheckpoint: true, TriggerCheckpoint: true, CheckpointWait: 30 * time.Second,
		HPATolerance: 0.1, MaxAge: 10 * time.Minute, FoldScaleDown: true, ReleaseWait: time.Minute,
		ReplaceUnregistered: true,
	}
}

// Deps are what an Actuator talks to.
type Deps struct {
	// Flink has one client per cluster name given by configuration.
	Flink map[string]Flink
	// Discovered, when set, names the JobManager of clusters not in Flink
	// (found in Kubernetes); NewFlink makes their clients.
	Discovered interface {
		URL(cluster string) (string, bool)
	}
	NewFlink func(url string) (Flink, error)
	// TaskManagers is the TM backend; nil means actuate owns no replicas.
	TaskManagers TaskManagers
	// Pods marks the TaskManager pods of the job's workload (a
	// Deployment's) before a scale-down, whether actuate or KEDA lowers
	// its replicas (nil: not marked; the ReplicaSet picks the pods by its
	// own order).
	Pods Pods
	// Events records Kubernetes Events on the job's TaskManager workload
	// (nil: none); failures to record are logged, never fail an actuation.
	Events EventRecorder
	// Actuations, Desired and Policy are the KV buckets
	// events.BucketActuations, events.BucketDesiredTMs and
	// events.BucketPolicy (Policy may be nil: no per-job pause).
	Actuations, Desired, Policy KV
	Metrics                     *Metrics
	Log                         *slog.Logger
	// Clock is the time the Actuator reads and waits on (default the wall
	// clock; the benchmark passes the emulator's simulated time).
	Clock clock.Clock
}

// Actuator applies decisions. It is safe for concurrent use; per-job
// exclusion comes from the ledger, not from memory.
type Actuator struct {
	deps Deps
	opt  Options
	led  ledger
	log  *slog.Logger

	mu         sync.Mutex
	discovered map[string]Flink // clients of discovered clusters, by URL
}

// New returns an Actuator.
func New(deps Deps, opt Options) *Actuator {
	def := DefaultOptions()
	if opt.SlotWait <= 0 {
		opt.SlotWait = def.SlotWait
	}
	if opt.ParallelismWait <= 0 {
		opt.ParallelismWait = def.ParallelismWait
	}
	if opt.Poll <= 0 {
		opt.Poll = def.Poll
	}
	if opt.CheckpointWait <= 0 {
		opt.CheckpointWait = def.CheckpointWait
	}
	if opt.ConflictRetries <= 0 {
		opt.ConflictRetries = def.ConflictRetries
	}
	if deps.Clock == nil {
		deps.Clock = clock.Wall{}
	}
	if deps.Log == nil {
		deps.Log = slog.New(slog.DiscardHandler)
	}
	if deps.Metrics == nil {
		deps.Metrics = NewMetrics(nil)
	}
	return &Actuator{deps: deps, opt: opt, led: ledger{kv: deps.Actuations}, log: deps.Log.With("component", "actuator")}
}

// lease is how long a claim on a job holds before another decision may
// take it over (a crashed replica's claim).
func (a *Actuator) lease() time.Duration {
	// The checkpoint wait and its second chance for one in flight; the
	// parallelism wait and its extension while the job restarts again (at
	// most the bound each), and the checkpoint a Flink 2 rescale waits for
	// (events.CheckpointGate, at most MaxCheckpointGate); the slot wait,
	// up to twice its bound (waitSlots), and once more when TaskManagers
	// that did not register are replaced.
	return 4*a.opt.SlotWait + 2*a.opt.ParallelismWait + events.MaxCheckpointGate + 2*a.opt.CheckpointWait + time.Minute
}

// Handle is the events.Handler of the actuate function: a decision in, a
// result out. Input that can never be applied wraps events.ErrInvalid; a
// transient failure before anything changed is returned as an error so the
// decision is redelivered.
func (a *Actuator) Handle(ctx context.Context, ev cloudevents.Event) ([]cloudevents.Event, error) {
	if ev.Type() != events.TypeDecision {
		return nil, fmt.Errorf("%w: actuate consumes %s, not %s", events.ErrInvalid, events.TypeDecision, ev.Type())
	}
	d, err := events.Data[events.Decision](ev)
	if err != nil {
		return nil, err
	}
	if d.DecisionID == "" || !events.ValidToken(d.Cluster) || !events.ValidToken(d.JobID) {
		return nil, fmt.Errorf("%w: decision needs decisionId, and cluster %q and job %q as NATS tokens",
			events.ErrInvalid, d.Cluster, d.JobID)
	}
	res, err := a.Actuate(ctx, d)
	if errors.Is(err, errHandled) {
		return nil, nil // its result was published with it
	}
	if err != nil {
		return nil, err // the runner logs the retry
	}
	out, err := events.New(events.TypeResult, Function, d.Cluster, d.JobID, res)
	if err != nil {
		return nil, err
	}
	// One result per decision: a redelivered decision's result carries the
	// same event id, which JetStream de-duplicates.
	out.SetID(ResultID(d.DecisionID))
	return []cloudevents.Event{out}, nil
}

// ResultID is the event id of the result of decision id.
func ResultID(decisionID string) string { return decisionID + "-result" }

// errHandled: the decision was handled before and its result published;
// a redelivery publishes nothing.
var errHandled = errors.New("decision already handled")

// errRepublished: the decision was handled before; its stored result is
// published again (under the same event id) and nothing else is done.
var errRepublished = errors.New("decision already handled; its result published again")

// Actuate applies d and returns its result. It returns an error only for a
// transient failure that changed nothing (the caller retries later).
func (a *Actuator) Actuate(ctx context.Context, d events.Decision) (events.Result, error) {
	start := a.deps.Clock.Now()
	res, err := a.actuate(ctx, d)
	if errors.Is(err, errRepublished) {
		// Counted, logged and recorded as a Kubernetes Event when it was
		// handled: only its result goes out again.
		a.deps.Metrics.actuation("redelivered")
		a.log.Debug("decision already handled; its result is published again", "cluster", d.Cluster, "job_id", d.JobID, "decision_id", d.DecisionID)
		return res, nil
	}
	if errors.Is(err, errHandled) {
		a.deps.Metrics.actuation("redelivered")
		a.log.Debug("decision already handled; redelivery ignored", "cluster", d.Cluster, "job_id", d.JobID, "decision_id", d.DecisionID)
		return events.Result{}, err
	}
	if err != nil {
		a.deps.Metrics.actuation("retried")
		return events.Result{}, err // the runner logs the retry, once
	}
	res.DecisionID, res.Cluster, res.JobID = d.DecisionID, d.Cluster, d.JobID
	if res.FinishedAt.IsZero() {
		res.FinishedAt = a.deps.Clock.Now().UTC()
	}
	a.deps.Metrics.actuation(res.Outcome)
	a.recordResult(ctx, d, res)
	a.log.Info("actuation", "cluster", d.Cluster, "job_id", d.JobID, "decision_id", d.DecisionID,
		"outcome", res.Outcome, "mode", d.Mode, "steps", len(res.Steps), "duration", a.deps.Clock.Now().Sub(start),
		"reason", res.Reason())
	return res, nil
}

// tooOld says why the decision being handled is too old to apply (stored
// in the stream more than MaxAge ago: queued through an outage), or "".
// Decide decides again from the job's current metrics. The stream stamps
// a message on the NATS server's clock, the wall clock, so its age is read
// on the wall clock too, whatever clock the Actuator runs on (the demo's
// runs on the emulator's, 30× faster: its decisions were read as 20
// minutes old 40 wall seconds after they were stored).
func (a *Actuator) tooOld(ctx context.Context) string {
	del, ok := events.DeliveryOf(ctx)
	if !ok || a.opt.MaxAge <= 0 || del.Stored.IsZero() {
		return ""
	}
	if age := time.Since(del.Stored); age > a.opt.MaxAge {
		return fmt.Sprintf("the decision is %s old, older than --decision-max-age %s: not applied; decide decides again from current metrics",
			age.Round(time.Second), a.opt.MaxAge)
	}
	return ""
}

func skipped(detail string) events.Result {
	return events.Result{Outcome: events.OutcomeSkipped, Steps: []events.Step{{Name: "check", Status: "skipped", Detail: detail}}}
}

func (a *Actuator) actuate(ctx context.Context, d events.Decision) (events.Result, error) {
	key := events.KVKey(d.Cluster, d.JobID)
	now := a.deps.Clock.Now()
	rec, rev, err := a.led.load(ctx, key)
	if err != nil {
		return events.Result{}, fmt.Errorf("%w: %w", ErrTransient, err)
	}
	if rec.unreadable != nil {
		a.log.Warn("ledger entry could not be read; started afresh (applied decisions and the rate limit are forgotten)",
			"cluster", d.Cluster, "job_id", d.JobID, "reason", rec.unreadable.Error())
	}
	if slices.Contains(rec.Applied, d.DecisionID) {
		if rec.LastDecisionID == d.DecisionID && rec.LastResult != nil {
			return *rec.LastResult, errRepublished // published again under the same id
		}
		return events.Result{}, errHandled
	}
	if reason := rec.skipReason(d, now, a.opt.MinInterval); reason != "" {
		return skipped(reason), nil
	}
	if reason := a.tooOld(ctx); reason != "" {
		return skipped(reason), nil
	}
	if paused, why, err := a.paused(ctx, d); err != nil || paused {
		if err != nil {
			return events.Result{}, err
		}
		return skipped(why), nil
	}
	fl, err := a.flinkFor(d.Cluster)
	if err != nil {
		return events.Result{Outcome: events.OutcomeFailed, Error: err.Error()}, nil
	}
	dry := a.opt.DryRun || d.DryRun
	if !dry {
		if rec.busy(d, now, a.lease()) {
			return events.Result{}, fmt.Errorf("%w: decision %s is being applied to this job", ErrBusy, rec.InFlight.DecisionID)
		}
		rec.InFlight = &inFlight{DecisionID: d.DecisionID, Since: now}
		if _, err := a.led.save(ctx, key, rec, rev); err != nil {
			return events.Result{}, err
		}
	}
	slotsTook := rec.SlotsTook // in: the slowest slot wait seen; out: the slowest with this one
	res, changed, err := a.apply(ctx, fl, d, dry, &slotsTook)
	if dry {
		return res, err
	}
	if err != nil {
		if rerr := a.led.release(ctx, key, d); rerr != nil {
			err = errors.Join(err, rerr)
		}
		return events.Result{}, err
	}
	// Record the end even when ctx ended: what was done must not be redone.
	fctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), cleanupTimeout)
	defer cancel()
	res.DecisionID, res.Cluster, res.JobID, res.FinishedAt = d.DecisionID, d.Cluster, d.JobID, a.deps.Clock.Now().UTC()
	if err := a.led.finish(fctx, key, d, res, changed, slotsTook, a.deps.Clock.Now()); err != nil {
		return events.Result{}, err
	}
	return res, nil
}

// apply reads the job, plans and executes. changed reports whether anything
// was changed; an error is a transient failure before any change.
func (a *Actuator) apply(ctx context.Context, fl Flink, d events.Decision, dry bool, slotsTook *time.Duration) (events.Result, bool, error) {
	workload := d.Workload
	if workload == "" {
		workload = a.opt.DefaultWorkload
	}
	cur, job, err := a.current(ctx, fl, d, workload)
	if errors.Is(err, ErrTransient) {
		return events.Result{}, false, err
	}
	if err != nil {
		return events.Result{Outcome: events.OutcomeFailed, Error: err.Error()}, false, nil
	}
	if a.opt.AlignCheckpoint || a.opt.TriggerCheckpoint {
		cur.CheckpointInterval = checkpointInterval(ctx, fl, d.JobID)
		// a version that cannot be read aligns and triggers nothing: a
		// put declared after a checkpoint lands at worst an interval
		// later
		cur.RescalesOnCheckpoint = events.RescalesOnCheckpoint(flinkVersion(ctx, fl), cur.CheckpointInterval)
	}
	opt := plan.Options{OwnsTaskManagers: a.deps.TaskManagers != nil, DeclareTaskManagers: a.opt.KEDAOwnsTaskManagers,
		Tolerance: a.opt.HPATolerance, AlignCheckpoint: a.opt.AlignCheckpoint, TriggerCheckpoint: a.opt.TriggerCheckpoint, MarkPods: a.deps.Pods != nil && taskmanagers.ReadsDeletionCost(workload)}
	p, err := plan.For(d, cur, opt)
	if err != nil {
		return events.Result{Outcome: events.OutcomeFailed, Error: err.Error()}, false, nil
	}
	var unfolded string // why a scale-down's removal waits for the rescale
	if p.Direction == plan.DirectionDown && a.opt.FoldScaleDown && d.Mode != events.ModeReactive &&
		(opt.OwnsTaskManagers || opt.DeclareTaskManagers || d.Mode == events.ModeKEDA) {
		interval := cur.CheckpointInterval
		if !a.opt.AlignCheckpoint {
			interval = checkpointInterval(ctx, fl, d.JobID)
		}
		var fold bool
		if fold, unfolded = foldable(ctx, fl, d.JobID, interval); fold {
			opt.FoldScaleDown = true
			if p, err = plan.For(d, cur, opt); err != nil {
				return events.Result{Outcome: events.OutcomeFailed, Error: err.Error()}, false, nil
			}
		}
	}
	if dry {
		return dryRun(p), false, nil
	}
	x := &execution{a: a, fl: fl, d: d, p: p, workload: workload, tms: cur.TaskManagers, running: job.running, unfolded: unfolded, before: cur.Requirements, slotsTook: slotsTook}
	res, replaced, err := x.replaceStuck(ctx, cur, opt)
	if err != nil || res.Outcome != "" {
		return res, replaced, err
	}
	if replaced && p.Direction == plan.DirectionNone {
		return events.Result{Outcome: events.OutcomeApplied, Steps: x.steps}, true, nil
	}
	if p.Direction == plan.DirectionNone {
		if err := x.declare(ctx, cur.TaskManagers); err != nil {
			return events.Result{}, false, err
		}
		return skipped("already at target: " + p.Reason), false, nil
	}
	a.recordEvent(ctx, workload, eventNormal, "ScalingDecision", decisionMessage(d, p))
	res, changed, err := x.run(ctx)
	if changed && plan.KeepsParallelism(d, cur) {
		changed = false // every vertex kept at what runs: no restart, no rate limit from it
	}
	return res, changed, err
}

func dryRun(p plan.Plan) events.Result {
	r := events.Result{Outcome: events.OutcomeSkipped, DryRun: true}
	if p.Direction == plan.DirectionNone {
		r.Steps = []events.Step{{Name: "check", Status: "skipped", Detail: "dry run; already at target: " + p.Reason}}
		return r
	}
	for _, s := range p.Steps {
		r.Steps = append(r.Steps, events.Step{Name: string(s.Kind), Status: "skipped", Detail: "dry run: would " + stepDetail(s)})
	}
	return r
}

// flinkFor is the client of cluster's JobManager: configured (--flink), else
// discovered. The error says how to configure it.
func (a *Actuator) flinkFor(cluster string) (Flink, error) {
	if fl, ok := a.deps.Flink[cluster]; ok {
		return fl, nil
	}
	if a.deps.Discovered == nil {
		return nil, fmt.Errorf("no Flink JobManager configured for cluster %q (--flink %s=URL)", cluster, cluster)
	}
	url, ok := a.deps.Discovered.URL(cluster)
	if !ok {
		return nil, fmt.Errorf("no Flink JobManager configured (--flink %s=URL) or discovered for cluster %q", cluster, cluster)
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if fl, ok := a.discovered[url]; ok {
		return fl, nil
	}
	fl, err := a.deps.NewFlink(url)
	if err != nil {
		return nil, fmt.Errorf("cluster %s at %s: %w", cluster, url, err)
	}
	if a.discovered == nil {
		a.discovered = map[string]Flink{}
	}
	a.discovered[url] = fl
	return fl, nil
}
