package test

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/natsserver"
)

// TestMetricSourcesAllowList runs decide with --metric-sources limited to
// one exporter's source prefix, next to the whole pipeline, and publishes a
// user metric from that exporter and from two look-alikes: the allowed one
// reaches the job's state, the others are rejected with the reason.
func TestMetricSourcesAllowList(t *testing.T) {
	srv, err := natsserver.Start(natsserver.Config{})
	require.NoError(t, err)
	t.Cleanup(srv.Shutdown)
	e := startEmulator(t, stepScenario, 30, nil)
	dcfg := decideConfig(t, srv.ClientURL())
	dcfg.MetricSources = []string{"/exporters/kafka/"}
	startDecide(t, dcfg, testLog(t, "decide"))
	startIngest(t, e, ingestConfig(e, srv.ClientURL()), events.ConnOptions{URL: srv.ClientURL()}, testLog(t, "ingest"))

	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx := t.Context()
	var state jetstream.KeyValue
	eventually(t, 60*time.Second, func() bool { state, err = js.KeyValue(ctx, events.BucketState); return err == nil }, "decide did not provision")
	key := events.KVKey(cluster, e.sim.JobID())
	eventually(t, 30*time.Second, func() bool { _, err := state.Get(ctx, key); return err == nil }, "decide kept no state for the job")

	publish := func(source string, value float64) {
		m := events.Metric{Cluster: cluster, Job: e.sim.JobID(), Name: events.MetricLag, Value: value, Unit: "records", ObservedAt: e.sim.Now()}
		ev, err := events.New(events.TypeMetric, "exporter", cluster, e.sim.JobID(), m)
		require.NoError(t, err)
		ev.SetSource(source)
		require.NoError(t, events.Publish(ctx, js, ev))
	}
	publish("/exporters/kafka/orders", 1234)
	publish("/exporters/kafka-evil", 6666)
	publish("/flinkscaler/metrics-ingest/prod", 7777)

	eventually(t, 30*time.Second, func() bool {
		c, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		n, _ := countSubject(c, js, events.RejectedSubject("decide"))
		return n >= 2
	}, "the look-alike sources were not rejected")
	eventually(t, 30*time.Second, func() bool {
		e, err := state.Get(ctx, key)
		return err == nil && strings.Contains(string(e.Value()), `"value":1234`)
	}, "the allowed metric did not reach the job's state")
	got := readStream(t, srv.ClientURL())
	var rejectedSources []string
	for _, r := range got.rejected {
		require.Contains(t, r.Reason, "allow-list")
		rejectedSources = append(rejectedSources, r.Headers["ce-source"]...)
	}
	entry, err := state.Get(ctx, key)
	require.NoError(t, err)
	// Match the metric value, not bare digits: a timestamp can hold "7777",
	// and a whole value only (a value of 66660 is not the rejected one).
	require.NotRegexp(t, `"value":6666[,}]`, string(entry.Value()))
	require.NotRegexp(t, `"value":7777[,}]`, string(entry.Value()))
	require.ElementsMatch(t, []string{"/exporters/kafka-evil", "/flinkscaler/metrics-ingest/prod"}, rejectedSources)
	t.Logf("allow-list %v: accepted /exporters/kafka/orders; rejected %v with %q", dcfg.MetricSources, rejectedSources, got.rejected[0].Reason)
}
