package actuator

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"testing"
	"time"

	"github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/natsserver"
	"github.com/flinkscaler/flinkscaler/internal/testport"
)

// TestRun runs the whole function as `flinkscaler actuate` does: a decision
// published on NATS scales the emulated cluster, a result comes back, the
// KEDA scaler answers the new desired count and /healthz and /metrics serve.
func TestRun(t *testing.T) {
	e := newPacedEnvOf(t, fmt.Sprintf(scenario, events.ModeAdaptive), false, Options{})
	srv, err := natsserver.Start(natsserver.Config{})
	require.NoError(t, err)
	t.Cleanup(srv.Shutdown)

	cfg := DefaultConfig()
	cfg.NATS.URL, cfg.Flink, cfg.TaskManagers = srv.ClientURL(), map[string]string{"prod": e.url}, BackendEmulator
	cfg.KEDAListen, cfg.HTTPListen = testport.Addr(t), testport.Addr(t)
	cfg.Options = Options{SlotWait: 10 * time.Second, ParallelismWait: 10 * time.Second, Poll: 20 * time.Millisecond, ConflictRetries: 1}
	require.NoError(t, cfg.Validate())
	ctx, cancel := context.WithCancel(context.Background())
	ran := make(chan error, 1)
	go func() { ran <- Run(ctx, cfg, slog.New(slog.DiscardHandler)) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-ran) })

	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	require.Eventually(t, func() bool { _, err := js.Stream(ctx, events.StreamName); return err == nil }, 10*time.Second, 20*time.Millisecond)
	results, err := js.OrderedConsumer(ctx, events.StreamName, jetstream.OrderedConsumerConfig{FilterSubjects: []string{events.ResultFilter}})
	require.NoError(t, err)

	d := e.decision(events.ModeAdaptive, 4, 4)
	ev, err := events.New(events.TypeDecision, "decide", d.Cluster, d.JobID, d)
	require.NoError(t, err)
	require.NoError(t, events.Publish(ctx, js, ev))
	msg, err := results.Next(jetstream.FetchMaxWait(20 * time.Second))
	require.NoError(t, err)
	out, err := events.Decode(&nats.Msg{Subject: msg.Subject(), Header: msg.Headers(), Data: msg.Data()})
	require.NoError(t, err)
	r, err := events.Data[events.Result](out)
	require.NoError(t, err)
	require.Equal(t, events.OutcomeApplied, r.Outcome, r.Error)
	require.Equal(t, 4, e.replicas(t))

	cc, err := grpc.NewClient(cfg.KEDAListen, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	keda := externalscaler.NewExternalScalerClient(cc)
	ref := &externalscaler.ScaledObjectRef{Name: "tm", Namespace: "flink", ScalerMetadata: map[string]string{"cluster": "prod", "job": "orders"}}
	require.Eventually(t, func() bool {
		m, err := keda.GetMetrics(ctx, &externalscaler.GetMetricsRequest{ScaledObjectRef: ref, MetricName: "s0-x"})
		return err == nil && m.MetricValues[0].MetricValueFloat == 4
	}, 10*time.Second, 20*time.Millisecond)

	for path, want := range map[string]string{"/healthz": "ok", "/metrics": `flinkscaler_actuate_actuations_total{outcome="applied"} 1`} {
		resp, err := http.Get("http://" + cfg.HTTPListen + path)
		require.NoError(t, err)
		body, err := io.ReadAll(resp.Body)
		require.NoError(t, resp.Body.Close())
		require.NoError(t, err)
		require.Equal(t, http.StatusOK, resp.StatusCode)
		require.Contains(t, string(body), want)
	}
}
