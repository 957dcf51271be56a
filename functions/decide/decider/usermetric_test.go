package decider

import (
	"bytes"
	"context"
	"errors"
	"log/slog"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// A metric decide does not use is rejected with the reason (the runner
// republishes it on flinkscaler.rejected.decide) and counted by reason; a
// metric older than the one held is counted as stale; a used one merges.
func TestDroppedUserMetricsAreVisible(t *testing.T) {
	e := startEnv(t)
	m := NewMetrics(prometheus.NewRegistry())
	d := New(e.state, KVPolicies{KV: e.pol}, testPolicy(), nil, slog.New(slog.DiscardHandler), m)
	ctx := context.Background()
	_, err := d.Handle(ctx, snapshotEvent(t, 80))
	require.NoError(t, err)
	send := func(name string, value float64, unit string, at time.Time, vertex ...string) error {
		m := events.Metric{Cluster: "demo", Job: jobID, Name: name, Value: value, Unit: unit, ObservedAt: at}
		if len(vertex) > 0 {
			m.Vertex = vertex[0]
		}
		ev, err := events.New(events.TypeMetric, "publish", "demo", jobID, m)
		require.NoError(t, err)
		_, err = d.Handle(ctx, ev)
		return err
	}
	for _, tt := range []struct {
		name, metric, unit, reason, says string
		value                            float64
		vertex                           string
	}{
		{"unknown name", "la g", "", events.DropUnknownName, `decide uses lag and pendingRecords`, 1, ""},
		{"unknown unit", "lag", "ms/s", events.DropUnknownUnit, `use records (the default), seconds or ms`, 1, ""},
		{"negative", "lag", "records", events.DropBadValue, "want a backlog from 0 to", -5, ""},
		{"huge", "lag", "", events.DropBadValue, "want a backlog from 0 to", 1e308, ""},
		{"unknown vertex", "lag", "", events.DropUnknownVertex, `vertex "sink" of lag is not a source of job ` + jobID + `: its sources are "src" (src)`, 5, "sink"},
		{"not a source", "pendingRecords", "", events.DropUnknownVertex, `vertex "counter" of pendingRecords is not a source`, 5, "counter"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			err := send(tt.metric, tt.value, tt.unit, t0, tt.vertex)
			require.ErrorIs(t, err, events.ErrInvalid, "rejected, not retried")
			require.Contains(t, err.Error(), tt.says)
			require.Equal(t, tt.reason, events.DropReason(err))
			require.GreaterOrEqual(t, testutil.ToFloat64(m.droppedMetrics.WithLabelValues(tt.reason)), 1.0)
		})
	}
	require.NoError(t, send("lag", 1200, "records", t0.Add(time.Minute)))
	require.Equal(t, 1.0, testutil.ToFloat64(m.metrics))
	require.NoError(t, send("lag", 1300, "records", t0.Add(time.Minute), "src"), "the source by name")
	require.Equal(t, 2.0, testutil.ToFloat64(m.metrics))
	require.NoError(t, send("lag", 900, "records", t0), "an older one is not an error")
	require.Equal(t, 1.0, testutil.ToFloat64(m.droppedMetrics.WithLabelValues(events.DropStale)))
}

// failingPolicies is a policy bucket that cannot be read.
type failingPolicies struct{}

func (failingPolicies) Overrides(context.Context, string, string, string) ([]byte, error) {
	return nil, errors.New("nats: timeout")
}

// A policy bucket that cannot be read is a transient failure (the snapshot
// is redelivered), not an invalid override that holds the job.
func TestPolicyReadFailureIsTransient(t *testing.T) {
	e := startEnv(t)
	m := NewMetrics(prometheus.NewRegistry())
	d := New(e.state, failingPolicies{}, testPolicy(), nil, slog.New(slog.DiscardHandler), m)
	_, err := d.Handle(context.Background(), snapshotEvent(t, 80))
	require.Error(t, err)
	require.NotErrorIs(t, err, events.ErrInvalid)
	require.Contains(t, err.Error(), "nats: timeout")
	require.Zero(t, testutil.ToFloat64(m.holds.WithLabelValues("policy_invalid")))
}

// brokenState is a state bucket whose reads fail (a NATS timeout).
type brokenState struct{ kvStore }

func (brokenState) Get(context.Context, string) (jetstream.KeyValueEntry, error) {
	return nil, errors.New("nats: timeout")
}

// A state bucket that cannot be read makes a metric's job unresolvable for
// now (retried with the cause), not an unknown job.
func TestMetricJobReadFailureIsNotUnknownJob(t *testing.T) {
	d := New(brokenState{}, failingPolicies{}, testPolicy(), nil, slog.New(slog.DiscardHandler), NewMetrics(prometheus.NewRegistry()))
	ev, err := events.New(events.TypeMetric, "publish", "demo", jobID,
		events.Metric{Cluster: "demo", Job: jobID, Name: "lag", Value: 5, ObservedAt: t0})
	require.NoError(t, err)
	_, err = d.Handle(context.Background(), ev)
	require.Error(t, err)
	require.NotErrorIs(t, err, ErrUnknownJob)
	require.NotErrorIs(t, err, events.ErrInvalid)
	require.Contains(t, err.Error(), "nats: timeout")
}

// A state record that cannot be decoded is replaced, and says so: a Warn
// naming the job and flinkscaler_decide_state_resets_total.
func TestUnreadableStateIsReplacedVisibly(t *testing.T) {
	e := startEnv(t)
	var logs bytes.Buffer
	m := NewMetrics(prometheus.NewRegistry())
	d := New(e.state, KVPolicies{KV: e.pol}, testPolicy(), nil, slog.New(slog.NewTextHandler(&logs, nil)), m)
	_, err := e.state.Put(context.Background(), events.KVKey("demo", jobID), []byte("{not json"))
	require.NoError(t, err)
	_, err = d.Handle(context.Background(), snapshotEvent(t, 80))
	require.NoError(t, err)
	require.Equal(t, 1.0, testutil.ToFloat64(m.stateResets))
	require.Contains(t, logs.String(), "job state could not be read; started afresh")
	require.Contains(t, logs.String(), "job_id="+jobID)
	rec, err := load(context.Background(), e.state, events.KVKey("demo", jobID))
	require.NoError(t, err)
	require.NoError(t, rec.unreadable, "replaced by a readable record")
}
