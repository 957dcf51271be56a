package decider

import (
	"context"
	"log/slog"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/events/eventstest"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
)

const jobID = "0123456789abcdef0123456789abcdef"

var t0 = time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)

type env struct {
	nc    *nats.Conn
	js    jetstream.JetStream
	state jetstream.KeyValue
	pol   jetstream.KeyValue
}

func startEnv(t testing.TB) env {
	t.Helper()
	e := eventstest.Start(t)
	return env{nc: e.NC, js: e.JS, state: e.KV(t, events.BucketState), pol: e.KV(t, events.BucketPolicy)}
}

func testPolicy() policy.Config {
	c := policy.Defaults()
	c.ScaleUpDelay = 0
	return c
}

func newDecider(e env, sources ...string) *Decider {
	return New(e.state, KVPolicies{KV: e.pol}, testPolicy(), sources, slog.New(slog.DiscardHandler), NewMetrics(prometheus.NewRegistry()))
}

func f(v float64) *float64 { return &v }

// busySnapshot is a job whose counter is saturated (busy 100% at 41k rec/s
// on 3 subtasks) while the source's backlog grows 2,000/s: a scale-up.
func busySnapshot(sec int) events.Snapshot {
	run := t0
	return events.Snapshot{
		Cluster: "demo", JobID: jobID, JobName: "word count", JobState: "RUNNING", RunningSince: &run,
		ObservedAt: t0.Add(time.Duration(sec) * time.Second), TaskManagers: 3, SlotsTotal: 3, Complete: true,
		Vertices: []events.VertexSnapshot{
			{ID: "src", Name: "src", Parallelism: 2, MaxParallelism: 128, IsSource: true,
				BusyMsPerSecond: &events.AvgMax{Avg: 900, Max: 900}, RecordsInPerSecond: f(41000), RecordsOutPerSecond: f(41000),
				PendingRecords: f(float64(sec-80) * 2000)},
			{ID: "counter", Name: "counter", Parallelism: 3, MaxParallelism: 128, Inputs: []events.Input{{ID: "src", ShipStrategy: "HASH"}},
				BusyMsPerSecond: &events.AvgMax{Avg: 1000, Max: 1000}, RecordsInPerSecond: f(41000), RecordsOutPerSecond: f(0)},
		},
	}
}

func snapshotEvent(t *testing.T, sec int) cloudevents.Event {
	t.Helper()
	s := busySnapshot(sec)
	ev, err := events.New(events.TypeSnapshot, "metrics-ingest", s.Cluster, s.JobID, s)
	require.NoError(t, err)
	return ev
}

func TestDecidesOnceAndReplaysOnRedelivery(t *testing.T) {
	e := startEnv(t)
	d := newDecider(e)
	ctx := context.Background()
	first, err := d.Handle(ctx, snapshotEvent(t, 80))
	require.NoError(t, err)
	require.Empty(t, first, "one settled sample is not enough to decide")
	second := snapshotEvent(t, 90)
	out, err := d.Handle(ctx, second)
	require.NoError(t, err)
	require.Len(t, out, 1)
	dec, err := events.Data[events.Decision](out[0])
	require.NoError(t, err)
	require.Equal(t, dec.DecisionID, out[0].ID(), "the event id is the decision id, so JetStream drops repeats")
	require.Equal(t, second.ID(), dec.SnapshotID)
	require.Greater(t, dec.Vertices[1].Target, 3, "the saturated counter goes up")

	// The snapshot is redelivered (say the ack was lost): the same decision
	// comes out again, not a hold that would lose it.
	again, err := d.Handle(ctx, second)
	require.NoError(t, err)
	require.Len(t, again, 1)
	require.Equal(t, out[0].ID(), again[0].ID())
}

func TestOverridesPauseAJob(t *testing.T) {
	e := startEnv(t)
	_, err := e.pol.Put(context.Background(), events.KVKey("demo", "word_count"), []byte("paused: true\n"))
	require.NoError(t, err)
	d := newDecider(e)
	for _, sec := range []int{80, 90, 100} {
		out, err := d.Handle(context.Background(), snapshotEvent(t, sec))
		require.NoError(t, err)
		require.Empty(t, out)
	}
}

func TestInvalidOverrideHolds(t *testing.T) {
	e := startEnv(t)
	_, err := e.pol.Put(context.Background(), events.KVKey("demo", jobID), []byte("utilization: {target: 7}\n"))
	require.NoError(t, err)
	d := newDecider(e)
	for _, sec := range []int{80, 90} {
		out, err := d.Handle(context.Background(), snapshotEvent(t, sec))
		require.NoError(t, err)
		require.Empty(t, out)
	}
}

func TestMetricByJobNameAndSourceAllowList(t *testing.T) {
	e := startEnv(t)
	d := newDecider(e, "/kafka-exporter")
	ctx := context.Background()
	metric := func(source, job string) cloudevents.Event {
		ev, err := events.New(events.TypeMetric, "publish", "demo", job,
			events.Metric{Cluster: "demo", Job: job, Name: "lag", Value: 42, ObservedAt: t0})
		require.NoError(t, err)
		ev.SetSource(source)
		return ev
	}
	_, err := d.Handle(ctx, metric("/kafka-exporter/prod", "word_count"))
	require.ErrorIs(t, err, ErrUnknownJob, "no snapshot yet: retried, not rejected")

	_, err = d.Handle(ctx, snapshotEvent(t, 80))
	require.NoError(t, err)
	_, err = d.Handle(ctx, metric("/kafka-exporter/prod", "word_count"))
	require.NoError(t, err)
	rec, err := load(ctx, e.state, events.KVKey("demo", jobID))
	require.NoError(t, err)
	require.Equal(t, 42.0, rec.State.Metrics["lag"].Value)

	_, err = d.Handle(ctx, metric("/somebody-else", jobID))
	require.ErrorIs(t, err, events.ErrInvalid)
	require.Contains(t, err.Error(), "allow-list")
}

func natsMsg(m jetstream.Msg) *nats.Msg {
	return &nats.Msg{Subject: m.Subject(), Header: m.Headers(), Data: m.Data()}
}
