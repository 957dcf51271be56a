package kedascaler

import (
	"context"
	"errors"
	"log/slog"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/flinkscaler/flinkscaler/internal/flink"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
)

const liveScenario = `
name: live
duration: 1h
cluster: {scaling: adaptive, slotsPerTaskManager: 2, initialTaskManagers: 3, maxTaskManagers: 8}
job:
  name: orders
  vertices:
    - {name: "Source: orders", parallelism: 2, maxParallelism: 16, capacity: 50000, partitions: 16}
load: {pattern: constant, rate: 1000}
`

// runPoller polls clusters into h's view every 20 ms until the test ends.
func runPoller(t *testing.T, h *harness, clusters map[string]Source) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	p := &Poller{View: h.view, Clusters: clusters, Interval: 20 * time.Millisecond, Timeout: time.Second,
		Log: slog.New(slog.DiscardHandler), Now: time.Now}
	go func() { done <- p.Run(ctx) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
}

func metricOf(c externalscaler.ExternalScalerClient, cluster, job string) func() (float64, error) {
	return func() (float64, error) {
		m, err := c.GetMetrics(context.Background(), &externalscaler.GetMetricsRequest{ScaledObjectRef: ref(cluster, job), MetricName: "s0-" + MetricName})
		if err != nil {
			return 0, err
		}
		return m.MetricValues[0].MetricValueFloat, nil
	}
}

func activeOf(c externalscaler.ExternalScalerClient, cluster, job string) func() (bool, error) {
	return func() (bool, error) {
		r, err := c.IsActive(context.Background(), ref(cluster, job))
		return r.GetResult(), err
	}
}

// TestAnswersFromFirstLook: a steady job nobody has decided for is
// answered from the first poll of its cluster (the emulator's REST API):
// its registered TaskManagers and active, never NotFound (before that
// poll, Unavailable); a declared count then takes over.
func TestAnswersFromFirstLook(t *testing.T) {
	sc, err := flinksim.ParseScenario([]byte(liveScenario), ".")
	require.NoError(t, err)
	sim := flinksim.New(sc, flinksim.Options{})
	ts := httptest.NewServer(sim.Handler())
	t.Cleanup(ts.Close)
	fc, err := flink.New(ts.URL, flink.Options{})
	require.NoError(t, err)

	h := startHarness(t, nil)
	c := dial(t, h.addr, nil)
	_, err = c.GetMetrics(context.Background(), &externalscaler.GetMetricsRequest{ScaledObjectRef: ref("prod", "orders"), MetricName: MetricName})
	require.Equal(t, codes.NotFound, status.Code(err), "a cluster nobody reads")
	// A cluster a poller reads but has not read yet: not known yet, not
	// absent (KEDA logs and retries either way; NotFound would be a lie).
	h.view.Expect("prod")
	_, err = c.GetMetrics(context.Background(), &externalscaler.GetMetricsRequest{ScaledObjectRef: ref("prod", "orders"), MetricName: MetricName})
	require.Equal(t, codes.Unavailable, status.Code(err), "not read yet: %v", err)
	require.ErrorContains(t, err, `cluster "prod" not read yet`)

	runPoller(t, h, map[string]Source{"prod": fc})
	eventually(t, 3.0, metricOf(c, "prod", "orders"))
	eventually(t, 3.0, metricOf(c, "prod", sim.JobID()))
	eventually(t, true, activeOf(c, "prod", "orders"))
	spec, err := c.GetMetricSpec(context.Background(), ref("prod", "orders"))
	require.NoError(t, err)
	require.Equal(t, MetricName, spec.MetricSpecs[0].MetricName)

	h.put(t, Desired{Cluster: "prod", JobID: sim.JobID(), JobName: "orders", TaskManagers: 6, Running: true, UpdatedAt: time.Now()})
	eventually(t, 6.0, metricOf(c, "prod", "orders"))
}

// fakeSource is a JobManager whose job state and TaskManagers the test sets.
type fakeSource struct {
	mu    sync.Mutex
	state string
	tms   int
	err   error
}

func (f *fakeSource) set(state string, tms int, err error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.state, f.tms, f.err = state, tms, err
}

func (f *fakeSource) Overview(context.Context) (flink.Overview, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return flink.Overview{TaskManagers: f.tms}, f.err
}

func (f *fakeSource) JobsOverview(context.Context) ([]flink.JobOverview, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return []flink.JobOverview{{ID: jobID, Name: "orders", State: f.state}}, f.err
}

// TestIsActiveFollowsLiveState: IsActive is the job's state now, not at the
// last actuation; StreamIsActive pushes the change; an unreachable
// JobManager keeps the last answer.
func TestIsActiveFollowsLiveState(t *testing.T) {
	h := startHarness(t, nil)
	c := dial(t, h.addr, nil)
	src := &fakeSource{state: flink.StateRunning, tms: 4}
	// Declared while running; the job restarts later.
	h.put(t, Desired{Cluster: "prod", JobID: jobID, JobName: "orders", TaskManagers: 5, Running: true, UpdatedAt: time.Now()})
	runPoller(t, h, map[string]Source{"prod": src})
	eventually(t, 5.0, metricOf(c, "prod", "orders"))
	eventually(t, true, activeOf(c, "prod", "orders"))

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	stream, err := c.StreamIsActive(ctx, ref("prod", "orders"))
	require.NoError(t, err)
	first, err := stream.Recv()
	require.NoError(t, err)
	require.True(t, first.Result)

	src.set("RESTARTING", 4, nil)
	eventually(t, false, activeOf(c, "prod", "orders"))
	pushed, err := stream.Recv()
	require.NoError(t, err)
	require.False(t, pushed.Result, "the restart is pushed")
	eventually(t, 5.0, metricOf(c, "prod", "orders")) // the declared count stands

	src.set(flink.StateRunning, 4, errors.New("connection refused"))
	<-time.After(100 * time.Millisecond) // a few failed polls
	active, err := activeOf(c, "prod", "orders")()
	require.NoError(t, err)
	require.False(t, active, "an unreachable JobManager keeps the last state seen")
	src.set(flink.StateRunning, 4, nil)
	eventually(t, true, activeOf(c, "prod", "orders"))
}

// TestRedeployedJobIsAnsweredLive: a job name whose declared count belongs
// to a run that is gone (a redeploy gave it a new job id) is answered from
// the running one.
func TestRedeployedJobIsAnsweredLive(t *testing.T) {
	h := startHarness(t, nil)
	c := dial(t, h.addr, nil)
	h.put(t, Desired{Cluster: "prod", JobID: "00000000000000000000000000000009", JobName: "orders", TaskManagers: 8, Running: true, UpdatedAt: time.Now()})
	runPoller(t, h, map[string]Source{"prod": &fakeSource{state: flink.StateRunning, tms: 3}}) // lists jobID only
	eventually(t, 3.0, metricOf(c, "prod", "orders"))
	eventually(t, true, activeOf(c, "prod", "orders"))
	eventually(t, false, activeOf(c, "prod", "00000000000000000000000000000009"))
}
