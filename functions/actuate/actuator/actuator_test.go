package actuator

import (
	"bytes"
	"context"
	"log/slog"
	"net/http"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

const nonAdaptive = `{"errors":["Internal server error.","<Exception on server side:\njava.util.concurrent.CompletionException: java.lang.UnsupportedOperationException: The DefaultScheduler does not support changing the parallelism without a job restart. This feature is currently only expected to work with the AdaptiveScheduler.\n\tat ...\nEnd of exception on server side>"]}`

const conflict = `{"errors":["Another update to the job [%s] resource requirements is in progress."]}`

func TestScaleUpThenDownOnEmulator(t *testing.T) {
	e := newEnv(t, "adaptive", true, Options{})
	ctx := context.Background()

	up, err := e.act.Actuate(ctx, e.decision(events.ModeAdaptive, 4, 3))
	require.NoError(t, err)
	require.Equal(t, events.OutcomeApplied, up.Outcome, up.Error)
	require.Equal(t, []string{"scale-taskmanagers:done", "wait-slots:done", "put-requirements:done",
		"verify-requirements:done", "wait-parallelism:done"}, stepNames(up))
	require.Equal(t, 4, e.replicas(t))
	require.Equal(t, []int{4, 3}, e.parallelism(t))
	require.Equal(t, 4, e.desired(t).TaskManagers)
	require.True(t, e.desired(t).Running)

	down, err := e.act.Actuate(ctx, e.decision(events.ModeAdaptive, 2, 1))
	require.NoError(t, err)
	require.Equal(t, events.OutcomeApplied, down.Outcome, down.Error)
	require.Equal(t, []string{"put-requirements:done", "verify-requirements:done", "wait-parallelism:done",
		"scale-taskmanagers:done"}, stepNames(down))
	require.Equal(t, 2, e.replicas(t))
	require.Equal(t, []int{2, 1}, e.parallelism(t))
}

func TestSafety(t *testing.T) {
	tests := []struct {
		name    string
		opt     Options
		prepare func(t *testing.T, e *env) events.Decision
		want    string // substring of the skip reason
	}{
		{"older than the last applied", Options{}, func(t *testing.T, e *env) events.Decision {
			old := e.decision(events.ModeAdaptive, 3, 3)
			newer := e.decision(events.ModeAdaptive, 3, 2)
			newer.DecidedAt = old.DecidedAt.Add(time.Second)
			r, err := e.act.Actuate(context.Background(), newer)
			require.NoError(t, err)
			require.Equal(t, events.OutcomeApplied, r.Outcome, r.Error)
			return old
		}, "newer decision"},
		{"inside the rate limit", Options{MinInterval: time.Hour}, func(t *testing.T, e *env) events.Decision {
			r, err := e.act.Actuate(context.Background(), e.decision(events.ModeAdaptive, 3, 3))
			require.NoError(t, err)
			require.Equal(t, events.OutcomeApplied, r.Outcome, r.Error)
			return e.decision(events.ModeAdaptive, 2, 2)
		}, "rate limited"},
		{"paused by policy", Options{}, func(t *testing.T, e *env) events.Decision {
			_, err := e.kv[events.BucketPolicy].Put(context.Background(), events.KVKey("prod", e.jobID), []byte(`{"paused":true}`))
			require.NoError(t, err)
			return e.decision(events.ModeAdaptive, 3, 3)
		}, "paused"},
		{"paused by name, in YAML (as decide reads it)", Options{}, func(t *testing.T, e *env) events.Decision {
			_, err := e.kv[events.BucketPolicy].Put(context.Background(), events.KVKey("prod", events.NameToken("orders")), []byte("paused: true\n"))
			require.NoError(t, err)
			return e.decision(events.ModeAdaptive, 3, 3)
		}, "paused"},
		{"an entry that does not parse", Options{}, func(t *testing.T, e *env) events.Decision {
			_, err := e.kv[events.BucketPolicy].Put(context.Background(), events.KVKey("prod", e.jobID), []byte("paused: [yes\n"))
			require.NoError(t, err)
			return e.decision(events.ModeAdaptive, 3, 3)
		}, "is invalid"},
		{"already at target", Options{}, func(t *testing.T, e *env) events.Decision {
			r, err := e.act.Actuate(context.Background(), e.decision(events.ModeAdaptive, 3, 3))
			require.NoError(t, err)
			require.Equal(t, events.OutcomeApplied, r.Outcome, r.Error)
			return e.decision(events.ModeAdaptive, 3, 3)
		}, "already at target"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt := tt.opt
			opt.SlotWait, opt.ParallelismWait, opt.Poll = 10*time.Second, 10*time.Second, 20*time.Millisecond
			e := newEnv(t, "adaptive", true, opt)
			d := tt.prepare(t, e)
			before := e.replicas(t)
			r, err := e.act.Actuate(context.Background(), d)
			require.NoError(t, err)
			require.Equal(t, events.OutcomeSkipped, r.Outcome)
			require.Contains(t, r.Steps[0].Detail, tt.want)
			require.Equal(t, before, e.replicas(t), "a skipped decision changes nothing")
		})
	}
}

func TestDryRun(t *testing.T) {
	e := newEnv(t, "adaptive", true, Options{})
	d := e.decision(events.ModeAdaptive, 4, 4)
	d.DryRun = true
	r, err := e.act.Actuate(context.Background(), d)
	require.NoError(t, err)
	require.Equal(t, events.OutcomeSkipped, r.Outcome)
	require.True(t, r.DryRun)
	require.Len(t, r.Steps, 5)
	require.Contains(t, r.Steps[0].Detail, "would set TaskManager replicas to 4")
	require.Equal(t, 2, e.replicas(t))
	require.Equal(t, []int{2, 2}, e.parallelism(t))
}

func TestFlinkAnswers(t *testing.T) {
	tests := []struct {
		name        string
		mode        string
		withTMs     bool
		targets     []int
		faults      []fault
		wantOutcome string
		wantError   string
		wantTMs     int
		wantSteps   []string
	}{
		{"500 non-adaptive after TMs scaled up: rolled back", events.ModeAdaptive, true, []int{4, 4},
			[]fault{onPut(http.StatusInternalServerError, nonAdaptive)}, events.OutcomePartial,
			"job does not run the adaptive scheduler: set jobmanager.scheduler: adaptive", 2,
			[]string{"scale-taskmanagers:rolled-back", "wait-slots:done", "put-requirements:failed",
				"verify-requirements:skipped", "wait-parallelism:skipped", "rollback-taskmanagers:rolled-back"}},
		{"409 twice, then accepted", events.ModeAdaptive, true, []int{3, 3},
			[]fault{onPut(http.StatusConflict, conflict), onPut(http.StatusConflict, conflict)}, events.OutcomeApplied, "", 3,
			[]string{"scale-taskmanagers:done", "wait-slots:done", "put-requirements:done",
				"verify-requirements:done", "wait-parallelism:done"}},
		{"409 past the retries: rolled back", events.ModeAdaptive, true, []int{3, 3},
			[]fault{onPut(409, conflict), onPut(409, conflict), onPut(409, conflict), onPut(409, conflict)}, events.OutcomePartial,
			"concurrent modification", 2, nil},
		{"400 above max parallelism", events.ModeSession, false, []int{20, 2}, nil, events.OutcomeFailed,
			"exceeds its maximum parallelism", 2, []string{"put-requirements:failed", "verify-requirements:skipped", "wait-parallelism:skipped"}},
		{"too few slots for the job", events.ModeSession, false, []int{4, 4}, nil, events.OutcomePartial,
			"timed out", 2, []string{"put-requirements:done", "verify-requirements:done", "wait-parallelism:failed"}},
		{"more TaskManagers than the cluster allows", events.ModeAdaptive, true, []int{9, 2}, nil, events.OutcomeFailed,
			"maxTaskManagers", 2, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, "adaptive", tt.withTMs, Options{SlotWait: 10 * time.Second, ParallelismWait: 2 * time.Second,
				Poll: 20 * time.Millisecond, ConflictRetries: 2})
			e.inject(tt.faults...)
			r, err := e.act.Actuate(context.Background(), e.decision(tt.mode, tt.targets...))
			require.NoError(t, err)
			require.Equal(t, tt.wantOutcome, r.Outcome, "%v %s", stepNames(r), r.Error)
			require.Contains(t, r.Error, tt.wantError)
			require.Equal(t, tt.wantTMs, e.replicas(t))
			if tt.wantSteps != nil {
				require.Equal(t, tt.wantSteps, stepNames(r))
			}
		})
	}
}

func TestFlinkUnreachableIsRetried(t *testing.T) {
	e := newEnv(t, "adaptive", true, Options{})
	e.ts.Close()
	_, err := e.act.Actuate(context.Background(), e.decision(events.ModeAdaptive, 3, 3))
	require.ErrorIs(t, err, ErrTransient)
}

func TestReactiveModeScalesTaskManagersOnly(t *testing.T) {
	e := newEnv(t, "reactive", true, Options{})
	d := e.decision(events.ModeReactive, 4, 4)
	r, err := e.act.Actuate(context.Background(), d)
	require.NoError(t, err)
	require.Equal(t, events.OutcomeApplied, r.Outcome, "%v %s", stepNames(r), r.Error)
	require.Equal(t, []string{"scale-taskmanagers:done", "wait-slots:done", "wait-parallelism:done"}, stepNames(r))
	require.Equal(t, []int{4, 4}, e.parallelism(t))
}

func TestKEDAOwnerNeverTouchesReplicas(t *testing.T) {
	e := newEnv(t, "adaptive", false, Options{KEDAOwnsTaskManagers: true, HPATolerance: 0.1,
		SlotWait: 300 * time.Millisecond, ParallelismWait: time.Second, Poll: 20 * time.Millisecond})
	// decide's default mode: KEDA owning the TaskManagers is actuate's
	// setting alone.
	r, err := e.act.Actuate(context.Background(), e.decision(events.ModeAdaptive, 4, 4))
	require.NoError(t, err)
	// Nobody plays KEDA here, so the slots never come: the declaration is
	// rolled back and the replicas were never touched.
	require.Equal(t, events.OutcomePartial, r.Outcome)
	require.Equal(t, []string{"declare-taskmanagers:rolled-back", "wait-slots:failed", "put-requirements:skipped",
		"verify-requirements:skipped", "wait-parallelism:skipped", "rollback-taskmanagers:rolled-back"}, stepNames(r))
	require.Equal(t, 2, e.replicas(t))
	require.Equal(t, 2, e.desired(t).TaskManagers)
}

// TestKEDADecisionRefusedWhileActuateOwnsReplicas: a keda decision while
// actuate scales the TaskManagers itself would make two owners; it fails
// with the fix, and nothing changes.
func TestKEDADecisionRefusedWhileActuateOwnsReplicas(t *testing.T) {
	e := newEnv(t, "adaptive", true, Options{})
	r, err := e.act.Actuate(context.Background(), e.decision(events.ModeKEDA, 4, 4))
	require.NoError(t, err)
	require.Equal(t, events.OutcomeFailed, r.Outcome)
	require.Contains(t, r.Error, "set decide's policy mode to adaptive, or let KEDA own them (actuate --taskmanagers keda)")
	require.Equal(t, 2, e.replicas(t))
	require.Equal(t, []int{2, 2}, e.parallelism(t))
}

// A redelivered decision gets the result it got the first time, under the
// same event id (JetStream drops the repeat): one result per decision, and
// none lost when the first publish did not happen. A redelivery of an older
// decision publishes nothing.
func TestRedeliveredDecisionHasOneResult(t *testing.T) {
	e := newEnv(t, "adaptive", true, Options{SlotWait: 10 * time.Second, ParallelismWait: 10 * time.Second, Poll: 20 * time.Millisecond,
		DefaultWorkload: "flink/taskmanager"})
	rec := &eventLog{}
	e.deps.Events = rec
	e.act = New(e.deps, e.options)
	ctx := context.Background()
	d := e.decision(events.ModeAdaptive, 3, 3)
	ev, err := events.New(events.TypeDecision, "decide", d.Cluster, d.JobID, d)
	require.NoError(t, err)
	first, err := e.act.Handle(ctx, ev)
	require.NoError(t, err)
	again, err := e.act.Handle(ctx, ev)
	require.NoError(t, err)
	require.Len(t, first, 1)
	require.Len(t, again, 1)
	require.Equal(t, ResultID(d.DecisionID), first[0].ID())
	require.Equal(t, first[0].ID(), again[0].ID())
	r1, err := events.Data[events.Result](first[0])
	require.NoError(t, err)
	r2, err := events.Data[events.Result](again[0])
	require.NoError(t, err)
	require.Equal(t, events.OutcomeApplied, r1.Outcome, r1.Error)
	require.Equal(t, r1.Outcome, r2.Outcome)
	require.Equal(t, r1.Steps, r2.Steps)
	m := e.act.deps.Metrics.actuations
	require.Equal(t, 1.0, testutil.ToFloat64(m.WithLabelValues(events.OutcomeApplied)), "applied once, not once per delivery")
	require.Equal(t, 1.0, testutil.ToFloat64(m.WithLabelValues("redelivered")))
	require.Equal(t, []string{"ScalingDecision", "Rescaled"}, rec.reasons(), "one Kubernetes Event per decision and result")

	newer := e.decision(events.ModeAdaptive, 2, 2)
	newer.DecidedAt = d.DecidedAt.Add(time.Second)
	nev, err := events.New(events.TypeDecision, "decide", newer.Cluster, newer.JobID, newer)
	require.NoError(t, err)
	_, err = e.act.Handle(ctx, nev)
	require.NoError(t, err)
	old, err := e.act.Handle(ctx, ev)
	require.NoError(t, err)
	require.Empty(t, old, "an older handled decision redelivered: nothing to publish")
}

// A decision queued in the stream longer than MaxAge (actuate was down) is
// skipped with the reason, not applied late.
func TestStaleDecisionIsSkipped(t *testing.T) {
	e := newEnv(t, "adaptive", true, Options{SlotWait: 10 * time.Second, ParallelismWait: 10 * time.Second,
		Poll: 20 * time.Millisecond, MaxAge: 10 * time.Minute})
	d := e.decision(events.ModeAdaptive, 4, 4)
	ctx := events.WithDelivery(context.Background(), events.Delivery{Stored: time.Now().Add(-time.Hour), Attempt: 1})
	r, err := e.act.Actuate(ctx, d)
	require.NoError(t, err)
	require.Equal(t, events.OutcomeSkipped, r.Outcome)
	require.Contains(t, r.Steps[0].Detail, "older than --decision-max-age 10m0s")
	require.Equal(t, 2, e.replicas(t), "nothing changed")

	fresh := events.WithDelivery(context.Background(), events.Delivery{Stored: time.Now(), Attempt: 1})
	r, err = e.act.Actuate(fresh, e.decision(events.ModeAdaptive, 4, 4))
	require.NoError(t, err)
	require.Equal(t, events.OutcomeApplied, r.Outcome, r.Error)
}

// A decision's age in the stream is read on the wall clock, the NATS
// server's, whatever clock the Actuator runs on: on an emulator's clock
// 20 minutes ahead of it (the demo's, at 30×, 40 s into its run), a
// decision stored just now is fresh, not 20 minutes old.
func TestDecisionAgeIsTheStreamsClock(t *testing.T) {
	e := newEnv(t, "adaptive", true, Options{SlotWait: 10 * time.Second, ParallelismWait: 10 * time.Second,
		Poll: 20 * time.Millisecond, MaxAge: 10 * time.Minute})
	e.sim.Advance(20 * time.Minute)
	ctx := events.WithDelivery(context.Background(), events.Delivery{Stored: time.Now(), Attempt: 1})
	r, err := e.act.Actuate(ctx, e.decision(events.ModeAdaptive, 4, 4))
	require.NoError(t, err)
	require.Equal(t, events.OutcomeApplied, r.Outcome, "%s %+v", r.Error, r.Steps)
}

// eventLog records the Kubernetes Events actuate would create.
type eventLog struct {
	mu   sync.Mutex
	list []string
}

func (l *eventLog) Record(_ context.Context, _, _, reason, _ string) error {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.list = append(l.list, reason)
	return nil
}

func (l *eventLog) reasons() []string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return slices.Clone(l.list)
}

// A ledger entry that cannot be decoded does not block the job: it is
// replaced, and the log says so.
func TestUnreadableLedgerEntryIsReplacedVisibly(t *testing.T) {
	e := newEnv(t, "adaptive", true, Options{})
	var logs bytes.Buffer
	e.deps.Log = slog.New(slog.NewTextHandler(&logs, nil))
	e.act = New(e.deps, e.options)
	d := e.decision(events.ModeAdaptive, 3, 3)
	_, err := e.kv[events.BucketActuations].Put(context.Background(), events.KVKey(d.Cluster, d.JobID), []byte("{not json"))
	require.NoError(t, err)
	r, err := e.act.Actuate(context.Background(), d)
	require.NoError(t, err)
	require.Equal(t, events.OutcomeApplied, r.Outcome, r.Error)
	require.Contains(t, logs.String(), "ledger entry could not be read; started afresh")
}
