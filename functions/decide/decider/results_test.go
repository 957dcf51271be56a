package decider

import (
	"context"
	"log/slog"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/events/eventstest"
	"github.com/flinkscaler/flinkscaler/internal/function"
)

// decide, run as it runs (its own consumer on the stream), reads actuate's
// result events: a decision actuate reports failed ends the in-flight wait,
// and the job is decided again a cool-down after the decision instead of
// RescaleTimeout (5 min) after it. A result for a job decide never saw
// writes nothing.
func TestRunReadsActuateResults(t *testing.T) {
	e := eventstest.Start(t)
	cfg := Config{Common: function.Defaults(Function, ""), Policy: testPolicy()}
	cfg.NATS.URL = e.URL
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
	require.Eventually(t, func() bool {
		_, err := e.JS.Consumer(context.Background(), events.StreamName, Function)
		return err == nil
	}, 10*time.Second, 10*time.Millisecond)

	publish := func(typ string, data any) {
		t.Helper()
		ev, err := events.New(typ, "test", "demo", jobID, data)
		require.NoError(t, err)
		require.NoError(t, events.Publish(context.Background(), e.JS, ev))
	}
	decisionsAfter := func(n int) []events.Decision {
		t.Helper()
		var ds []events.Decision
		require.Eventually(t, func() bool {
			ds = readDecisions(t, e.JS)
			return len(ds) >= n
		}, 10*time.Second, 50*time.Millisecond, "decision %d", n)
		return ds
	}
	state := func() record {
		t.Helper()
		rec, err := load(context.Background(), e.KV(t, events.BucketState), events.KVKey("demo", jobID))
		require.NoError(t, err)
		return rec
	}

	// snapshots one at a time: decide acts on each job's newest stored
	// snapshot and skips older ones still waiting (LatestOnly), so two
	// published at once may be read as one
	snapshot := func(sec int) {
		t.Helper()
		publish(events.TypeSnapshot, busySnapshot(sec))
		at := t0.Add(time.Duration(sec) * time.Second)
		require.Eventually(t, func() bool { return state().State.LastObservedAt.Equal(at) }, 10*time.Second, 20*time.Millisecond, "snapshot at %ds read", sec)
	}

	publish(events.TypeResult, events.Result{DecisionID: "never-made", Cluster: "demo", JobID: "other", Outcome: events.OutcomeFailed, Error: "x", Steps: []events.Step{}, FinishedAt: t0})
	for _, sec := range []int{80, 90} {
		snapshot(sec)
	}
	first := decisionsAfter(1)[0]
	require.Eventually(t, func() bool { return state().State.Rescale != nil }, 10*time.Second, 20*time.Millisecond)

	publish(events.TypeResult, events.Result{DecisionID: first.DecisionID, Cluster: "demo", JobID: jobID,
		Outcome: events.OutcomeFailed, Error: "timed out after 2m0s: 3 of 7 slots registered on 3 TaskManagers",
		Steps: []events.Step{{Name: "wait-slots", Status: "failed", StartedAt: t0}}, FinishedAt: t0.Add(3 * time.Minute)})
	require.Eventually(t, func() bool {
		rs := state().State.Rescale
		return rs != nil && rs.Outcome == events.OutcomeFailed
	}, 10*time.Second, 20*time.Millisecond, "the result recorded in the job's state")
	require.Contains(t, state().State.Rescale.Why, "timed out after 2m0s")

	// 3 minutes on, the job still at its old parallelism: decided again,
	// where without the result the wait would hold until 5 minutes
	for _, sec := range []int{270, 280} {
		snapshot(sec)
	}
	second := decisionsAfter(2)[1]
	require.NotEqual(t, first.DecisionID, second.DecisionID)
	require.Greater(t, second.Vertices[1].Target, 3)

	_, err := e.KV(t, events.BucketState).Get(context.Background(), events.KVKey("demo", "other"))
	require.Error(t, err, "a result of a job decide never saw wrote a record")
}
