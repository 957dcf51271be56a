package kedascaler

import (
	"context"
	"encoding/json"
	"log/slog"
	"net"
	"testing"
	"time"

	"github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/natsserver"
)

const jobID = "5a8b3c0f2d1e4b7a9c6d5e4f3a2b1c0d"

// harness is a real JetStream server, the desired-TM bucket, a watching
// view and the scaler on 127.0.0.1:0.
type harness struct {
	kv   jetstream.KeyValue
	addr string
	view *View
}

func startHarness(tb testing.TB, creds credentials.TransportCredentials) *harness {
	tb.Helper()
	srv, err := natsserver.Start(natsserver.Config{})
	require.NoError(tb, err)
	tb.Cleanup(srv.Shutdown)
	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(tb, err)
	tb.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(tb, err)
	ctx, cancel := context.WithCancel(context.Background())
	tb.Cleanup(cancel)
	require.NoError(tb, events.Provision(ctx, js, events.ProvisionConfig{Storage: jetstream.MemoryStorage}))
	kv, err := js.KeyValue(ctx, events.BucketDesiredTMs)
	require.NoError(tb, err)

	view := NewView()
	watchErr := make(chan error, 1)
	go func() { watchErr <- view.Watch(ctx, kv) }()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(tb, err)
	served := make(chan error, 1)
	go func() { served <- NewServer(view, slog.New(slog.DiscardHandler)).Serve(ctx, lis, creds) }()
	tb.Cleanup(func() {
		cancel()
		require.NoError(tb, <-served)
		require.NoError(tb, <-watchErr)
	})
	select {
	case <-view.Ready():
	case <-time.After(30 * time.Second):
		tb.Fatal("view not ready")
	}
	return &harness{kv: kv, addr: lis.Addr().String(), view: view}
}

func (h *harness) put(tb testing.TB, d Desired) {
	tb.Helper()
	b, err := json.Marshal(d)
	require.NoError(tb, err)
	_, err = h.kv.Put(context.Background(), events.KVKey(d.Cluster, d.JobID), b)
	require.NoError(tb, err)
}

func dial(tb testing.TB, addr string, creds credentials.TransportCredentials) externalscaler.ExternalScalerClient {
	tb.Helper()
	if creds == nil {
		creds = insecure.NewCredentials()
	}
	cc, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	require.NoError(tb, err)
	tb.Cleanup(func() { _ = cc.Close() })
	return externalscaler.NewExternalScalerClient(cc)
}

func ref(cluster, job string) *externalscaler.ScaledObjectRef {
	md := map[string]string{"scalerAddress": "flinkscaler-actuate:9090"}
	if cluster != "" {
		md[KeyCluster] = cluster
	}
	if job != "" {
		md[KeyJob] = job
	}
	return &externalscaler.ScaledObjectRef{Name: "tm", Namespace: "flink", ScalerMetadata: md}
}

// eventually polls get until it returns want or the deadline passes.
func eventually[T comparable](t *testing.T, want T, get func() (T, error)) {
	t.Helper()
	deadline := time.After(30 * time.Second)
	tick := time.NewTicker(5 * time.Millisecond)
	defer tick.Stop()
	for {
		got, err := get()
		if err == nil && got == want {
			return
		}
		select {
		case <-deadline:
			t.Fatalf("want %v, last got %v (err %v)", want, got, err)
		case <-tick.C:
		}
	}
}

func TestUnaryRPCs(t *testing.T) {
	h := startHarness(t, nil)
	c := dial(t, h.addr, nil)
	ctx := context.Background()
	h.put(t, Desired{Cluster: "prod", JobID: jobID, JobName: "orders", TaskManagers: 7, Running: true, UpdatedAt: time.Now()})
	h.put(t, Desired{Cluster: "prod", JobID: "00000000000000000000000000000001", JobName: "stopped", TaskManagers: 3})

	tests := []struct {
		name       string
		cluster    string
		job        string
		wantTMs    float64
		wantActive bool
	}{
		{"by job id", "prod", jobID, 7, true},
		{"by job name", "prod", "orders", 7, true},
		{"job not running is inactive", "prod", "stopped", 3, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := ref(tt.cluster, tt.job)
			eventually(t, tt.wantTMs, func() (float64, error) {
				m, err := c.GetMetrics(ctx, &externalscaler.GetMetricsRequest{ScaledObjectRef: r, MetricName: "s0-" + MetricName})
				if err != nil {
					return 0, err
				}
				require.Len(t, m.MetricValues, 1)
				return m.MetricValues[0].MetricValueFloat, nil
			})
			spec, err := c.GetMetricSpec(ctx, r)
			require.NoError(t, err)
			require.Len(t, spec.MetricSpecs, 1)
			require.Equal(t, MetricName, spec.MetricSpecs[0].MetricName)
			require.InDelta(t, 1.0, spec.MetricSpecs[0].TargetSizeFloat, 0)
			act, err := c.IsActive(ctx, r)
			require.NoError(t, err)
			require.Equal(t, tt.wantActive, act.Result)
		})
	}
}

func TestErrors(t *testing.T) {
	h := startHarness(t, nil)
	c := dial(t, h.addr, nil)
	h.put(t, Desired{Cluster: "prod", JobID: jobID, JobName: "orders", TaskManagers: 2, Running: true})
	eventually(t, true, func() (bool, error) {
		r, err := c.IsActive(context.Background(), ref("prod", jobID))
		return r.GetResult(), err
	})
	tests := []struct {
		name string
		ref  *externalscaler.ScaledObjectRef
		want codes.Code
	}{
		{"unknown cluster", ref("staging", jobID), codes.NotFound},
		{"unknown job", ref("prod", "payments"), codes.NotFound},
		{"missing cluster", ref("", jobID), codes.InvalidArgument},
		{"missing job", ref("prod", ""), codes.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx := context.Background()
			_, err := c.IsActive(ctx, tt.ref)
			require.Equal(t, tt.want, status.Code(err))
			_, err = c.GetMetricSpec(ctx, tt.ref)
			require.Equal(t, tt.want, status.Code(err))
			_, err = c.GetMetrics(ctx, &externalscaler.GetMetricsRequest{ScaledObjectRef: tt.ref, MetricName: MetricName})
			require.Equal(t, tt.want, status.Code(err))
			s, err := c.StreamIsActive(ctx, tt.ref)
			require.NoError(t, err)
			_, err = s.Recv()
			require.Equal(t, tt.want, status.Code(err))
		})
	}
}

// TestStreamIsActivePushesOnChange: a change of the desired count is pushed
// on the stream when it happens, well before KEDA's next poll (30 s by
// default). The bound is 10 s, not 1 s: a loaded machine under the race
// detector must not fail it.
func TestStreamIsActivePushesOnChange(t *testing.T) {
	h := startHarness(t, nil)
	c := dial(t, h.addr, nil)
	d := Desired{Cluster: "prod", JobID: jobID, JobName: "orders", TaskManagers: 2, Running: true}
	h.put(t, d)
	eventually(t, true, func() (bool, error) {
		r, err := c.IsActive(context.Background(), ref("prod", "orders"))
		return r.GetResult(), err
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream, err := c.StreamIsActive(ctx, ref("prod", "orders"))
	require.NoError(t, err)
	first, err := stream.Recv()
	require.NoError(t, err)
	require.True(t, first.Result)

	got := make(chan *externalscaler.IsActiveResponse, 1)
	go func() {
		r, err := stream.Recv()
		if err == nil {
			got <- r
		}
		close(got)
	}()
	d.TaskManagers = 5
	changedAt := time.Now()
	h.put(t, d)
	select {
	case r, ok := <-got:
		require.True(t, ok, "stream ended without a push")
		require.True(t, r.Result)
		require.Less(t, time.Since(changedAt), 10*time.Second)
	case <-time.After(10 * time.Second):
		t.Fatal("no push within 10 s of the change")
	}
}

func TestStreamMetricSpec(t *testing.T) {
	h := startHarness(t, nil)
	c := dial(t, h.addr, nil)
	h.put(t, Desired{Cluster: "prod", JobID: jobID, JobName: "orders", TaskManagers: 2, Running: true})
	eventually(t, true, func() (bool, error) {
		r, err := c.IsActive(context.Background(), ref("prod", jobID))
		return r.GetResult(), err
	})
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream, err := c.StreamMetricSpec(ctx, ref("prod", jobID))
	require.NoError(t, err)
	got, err := stream.Recv()
	require.NoError(t, err)
	want, err := c.GetMetricSpec(ctx, ref("prod", jobID))
	require.NoError(t, err)
	require.Equal(t, want.MetricSpecs[0].MetricName, got.MetricSpecs[0].MetricName)
	require.InDelta(t, want.MetricSpecs[0].TargetSizeFloat, got.MetricSpecs[0].TargetSizeFloat, 0)
}

func TestJobNameHeldBySeveralIDs(t *testing.T) {
	h := startHarness(t, nil)
	c := dial(t, h.addr, nil)
	ctx := context.Background()
	old := Desired{Cluster: "prod", JobID: "00000000000000000000000000000002", JobName: "orders", TaskManagers: 9, UpdatedAt: time.Now()}
	h.put(t, old)
	h.put(t, Desired{Cluster: "prod", JobID: jobID, JobName: "orders", TaskManagers: 3, Running: true, UpdatedAt: time.Now().Add(-time.Hour)})
	metric := func() (float64, error) {
		m, err := c.GetMetrics(ctx, &externalscaler.GetMetricsRequest{ScaledObjectRef: ref("prod", "orders"), MetricName: MetricName})
		if err != nil {
			return 0, err
		}
		return m.MetricValues[0].MetricValueFloat, nil
	}
	eventually(t, 3.0, metric) // the running job wins
	err := h.kv.Delete(ctx, events.KVKey("prod", jobID))
	require.NoError(t, err)
	eventually(t, 9.0, metric) // then the one left
	err = h.kv.Delete(ctx, events.KVKey("prod", old.JobID))
	require.NoError(t, err)
	eventually(t, codes.NotFound, func() (codes.Code, error) {
		_, err := metric()
		return status.Code(err), nil
	})
}
