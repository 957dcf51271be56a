// Package decider is the decide function's glue: it consumes snapshot,
// metric and result events, keeps each job's policy state in the state KV
// bucket with compare-and-set, runs the pure policy core and publishes
// decision events.
//
// Per snapshot:
//
//	load policy (file defaults + the job's overrides in the policy bucket)
//	→ read-modify-write the job's record (CAS; re-run on conflict):
//	    policy.Decide(snapshot, state, policy, observedAt) → new state, decision
//	    a decision goes into the record's outbox
//	→ publish the decision (event id = decision id, so JetStream drops repeats)
//
// A snapshot redelivered after its record was written finds itself a
// duplicate; if the outbox holds the decision it produced, that decision is
// published again (and de-duplicated by JetStream), so no decision is lost
// between the write and the publish.
//
// Per result of actuate's (scale.result): policy.Observe records in the
// job's record, with compare-and-set, a pending decision that actuate
// skipped, failed or applied in part, which ends its in-flight wait; any
// other result writes nothing.
package decider

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/internal/events"
)

// Function is the function's name in sources, rejections and the durable
// consumer.
const Function = "decide"

// Decider handles decide's events.
type Decider struct {
	state    kvStore
	policies policySource
	base     policy.Config
	sources  []string
	log      *slog.Logger
	metrics  *Metrics
}

// policySource returns a job's stored overrides (nil when none).
type policySource interface {
	Overrides(ctx context.Context, cluster, jobID, jobName string) ([]byte, error)
}

// New returns a Decider. base must have passed Validate; allowedSources, when
// not empty, lists the CloudEvents source prefixes accepted for user metric
// events.
func New(state kvStore, policies policySource, base policy.Config, allowedSources []string, log *slog.Logger, m *Metrics) *Decider {
	return &Decider{state: state, policies: policies, base: base, sources: allowedSources, log: log, metrics: m}
}

// Handle is the events.Handler for snapshot, metric and result events.
func (d *Decider) Handle(ctx context.Context, ev cloudevents.Event) ([]cloudevents.Event, error) {
	switch ev.Type() {
	case events.TypeSnapshot:
		return d.snapshot(ctx, ev)
	case events.TypeMetric:
		return nil, d.metric(ctx, ev)
	case events.TypeResult:
		return nil, d.result(ctx, ev)
	default:
		return nil, fmt.Errorf("%w: decide does not consume %s", events.ErrInvalid, ev.Type())
	}
}

func (d *Decider) snapshot(ctx context.Context, ev cloudevents.Event) ([]cloudevents.Event, error) {
	snap, err := events.DataOf[events.Snapshot](ctx, ev)
	if err != nil {
		return nil, err
	}
	log := d.log.With("cluster", snap.Cluster, "job_id", snap.JobID, "event_id", ev.ID())
	cfg, err := d.policyFor(ctx, snap)
	switch {
	case errors.Is(err, errPolicyRead):
		return nil, err // transient: the snapshot is redelivered
	case err != nil:
		d.metrics.holds.WithLabelValues("policy_invalid").Inc()
		log.Error("job policy override is invalid; holding", "reason", err.Error())
		return nil, nil
	}
	var out policy.Output
	var replay *events.Decision
	var named bool
	var reset error
	_, err = update(ctx, d.state, events.KVKey(snap.Cluster, snap.JobID), func(cur record) record {
		reset = cur.unreadable
		out = policy.Decide(policy.Input{Snapshot: snap, SnapshotID: ev.ID(), State: cur.State, Config: cfg, Now: snap.ObservedAt})
		replay, named = nil, cur.JobName == snap.JobName
		if out.HoldKind == policy.HoldDuplicate && cur.Outbox != nil && cur.Outbox.SnapshotID == ev.ID() {
			replay = cur.Outbox
		}
		next := record{State: out.NewState, Outbox: cur.Outbox, JobName: snap.JobName, Sources: events.SourcesOf(snap)}
		if out.Decision != nil {
			next.Outbox = out.Decision
		}
		return next
	})
	if err != nil {
		return nil, err
	}
	d.noteReset(log, reset)
	if !named {
		if err := d.rememberName(ctx, snap); err != nil {
			return nil, err
		}
	}
	d.metrics.snapshots.Inc()
	d.metrics.jobs.observe(snap)
	switch {
	case out.Decision != nil:
		d.metrics.jobs.decided(out.Decision, time.Now())
		return d.emit(log, out.Decision, false)
	case replay != nil:
		return d.emit(log, replay, true)
	default:
		d.metrics.holds.WithLabelValues(out.HoldKind).Inc()
		log.Debug("holding", "reason", out.Hold)
		return nil, nil
	}
}

// result records actuate's result of a job's pending decision in the
// job's state (policy.Observe): one that says the decision's targets will
// not show (skipped, failed, partial) ends the in-flight wait. Any other
// result (applied, or of a decision that is not the one pending) changes
// nothing, and nothing is written. A record that cannot be read is left
// for the next snapshot to replace.
func (d *Decider) result(ctx context.Context, ev cloudevents.Event) error {
	r, err := events.DataOf[events.Result](ctx, ev)
	if err != nil {
		return err
	}
	key := events.KVKey(r.Cluster, r.JobID)
	next, wrote, err := updateIf(ctx, d.state, key, func(cur record) (record, bool) {
		if cur.unreadable != nil || cur.revision == 0 {
			return cur, false
		}
		var changed bool
		cur.State, changed = policy.Observe(cur.State, r)
		return cur, changed
	})
	if err != nil {
		return err
	}
	log := d.log.With("cluster", r.Cluster, "job_id", r.JobID, "decision_id", r.DecisionID, "outcome", r.Outcome)
	if !wrote {
		d.metrics.results.WithLabelValues("ignored").Inc()
		log.Debug("actuation result changes nothing (applied, or not the pending decision)")
		return nil
	}
	d.metrics.results.WithLabelValues("ended").Inc()
	rs := next.State.Rescale
	log.Info("actuation result: the decision's targets will not show; its in-flight wait ends",
		"decided_at", rs.At, "reason", rs.Why)
	return nil
}

// noteReset logs and counts a job state record that could not be read and
// was started afresh (nothing when err is nil).
func (d *Decider) noteReset(log *slog.Logger, err error) {
	if err == nil {
		return
	}
	d.metrics.stateResets.Inc()
	log.Warn("job state could not be read; started afresh (its metric window is lost)", "reason", err.Error())
}

// emit turns a decision into its event, with the decision id as event id.
func (d *Decider) emit(log *slog.Logger, dec *events.Decision, replay bool) ([]cloudevents.Event, error) {
	ev, err := events.New(events.TypeDecision, Function, dec.Cluster, dec.JobID, dec)
	if err != nil {
		return nil, err
	}
	ev.SetID(dec.DecisionID)
	if !replay {
		d.metrics.decisions.Inc()
	}
	log.Info("decision", "decision_id", dec.DecisionID, "replay", replay, "dry_run", dec.DryRun,
		"taskmanagers", fmt.Sprintf("%d→%d", dec.TaskManagers.Current, dec.TaskManagers.Target),
		"reason", reasons(dec))
	return []cloudevents.Event{ev}, nil
}

func reasons(dec *events.Decision) string {
	var parts []string
	for _, v := range dec.Vertices {
		if v.Current != v.Target {
			parts = append(parts, v.Reason)
		}
	}
	if len(parts) == 0 {
		return dec.Rationale
	}
	return strings.Join(parts, "; ")
}

// errPolicyRead wraps a failure to read the policy bucket: transient, not
// an invalid override.
var errPolicyRead = errors.New("read the policy bucket")

// policyFor merges the job's overrides over the base policy and validates.
// A failed read wraps errPolicyRead; any other error is an invalid override.
func (d *Decider) policyFor(ctx context.Context, snap events.Snapshot) (policy.Config, error) {
	raw, err := d.policies.Overrides(ctx, snap.Cluster, snap.JobID, snap.JobName)
	if err != nil {
		return d.base, fmt.Errorf("%w: %w", errPolicyRead, err)
	}
	if raw == nil {
		return d.base, nil
	}
	cfg, err := policy.Merge(d.base, raw)
	if err != nil {
		return d.base, err
	}
	return cfg, cfg.Validate()
}

// metric merges a user's metric event into the job's state. A metric
// decide does not use (events.CheckUserMetric, or a vertex that is not one
// of the job's sources: events.CheckMetricVertex) is counted by reason and
// rejected with it; one older than the metric held is counted as stale.
func (d *Decider) metric(ctx context.Context, ev cloudevents.Event) error {
	if !d.sourceAllowed(ev.Source()) {
		d.metrics.rejectedSources.Inc()
		return fmt.Errorf("%w: source %q is not in the allow-list for metric events", events.ErrInvalid, ev.Source())
	}
	m, err := events.DataOf[events.Metric](ctx, ev)
	if err != nil {
		return err
	}
	if err := events.CheckUserMetric(m); err != nil {
		d.metrics.droppedMetrics.WithLabelValues(events.DropReason(err)).Inc()
		return err
	}
	jobID, err := d.resolveJob(ctx, m.Cluster, m.Job)
	if err != nil {
		return err
	}
	key := events.KVKey(m.Cluster, jobID)
	cur, err := load(ctx, d.state, key)
	if err != nil {
		return err
	}
	d.noteReset(d.log.With("cluster", m.Cluster, "job_id", jobID), cur.unreadable)
	if err := events.CheckMetricVertex(m, cur.Sources); err != nil {
		d.metrics.droppedMetrics.WithLabelValues(events.DropReason(err)).Inc()
		return err
	}
	stale := false
	_, err = update(ctx, d.state, key, func(cur record) record {
		stale = policy.NewerMetricHeld(cur.State, m)
		cur.State = policy.ObserveMetric(cur.State, m)
		return cur
	})
	switch {
	case err != nil:
		return err
	case stale:
		d.metrics.droppedMetrics.WithLabelValues(events.DropStale).Inc()
	default:
		d.metrics.metrics.Inc()
	}
	return nil
}

func (d *Decider) sourceAllowed(source string) bool {
	if len(d.sources) == 0 {
		return true
	}
	for _, prefix := range d.sources {
		if strings.HasPrefix(source, prefix) {
			return true
		}
	}
	return false
}

// aliasKey maps a job name to its id for metric events that name the job.
func aliasKey(cluster, name string) string {
	return "alias." + events.KVKey(cluster, events.NameToken(name))
}

func (d *Decider) rememberName(ctx context.Context, snap events.Snapshot) error {
	if _, err := d.state.Put(ctx, aliasKey(snap.Cluster, snap.JobName), []byte(snap.JobID)); err != nil {
		return fmt.Errorf("record job name %q: %w", snap.JobName, err)
	}
	return nil
}

// ErrUnknownJob is returned for a metric about a job decide has not seen a
// snapshot of; it is retried, as the snapshot may still be on its way.
var ErrUnknownJob = errors.New("unknown job")

// resolveJob returns the job id for a metric's job, which may be the id or
// the job's name. A failed read is returned as it is (transient: the
// metric is retried), not taken for an unknown job.
func (d *Decider) resolveJob(ctx context.Context, cluster, job string) (string, error) {
	_, err := d.state.Get(ctx, events.KVKey(cluster, job))
	switch {
	case err == nil:
		return job, nil
	case !absent(err):
		return "", fmt.Errorf("read state of job %q in cluster %q: %w", job, cluster, err)
	}
	e, err := d.state.Get(ctx, aliasKey(cluster, job))
	switch {
	case absent(err):
		return "", fmt.Errorf("%w %q in cluster %q: no snapshot seen yet", ErrUnknownJob, job, cluster)
	case err != nil:
		return "", fmt.Errorf("read job name %q in cluster %q: %w", job, cluster, err)
	}
	return string(e.Value()), nil
}

// absent reports whether a KV read found no entry under the key (or the
// key cannot exist).
func absent(err error) bool {
	return errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrInvalidKey)
}
