package decider

import (
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

func TestJobGauges(t *testing.T) {
	reg := prometheus.NewRegistry()
	m := NewMetrics(reg)
	f := func(v float64) *float64 { return &v }
	snap := events.Snapshot{Cluster: "prod", JobID: "j1", JobName: "orders", JobState: "RUNNING", TaskManagers: 3,
		ObservedAt: time.Unix(1000, 0), Vertices: []events.VertexSnapshot{
			{ID: "a", Name: "Source: orders", Parallelism: 2, IsSource: true, PendingRecords: f(6000), RecordsOutPerSecond: f(200),
				BusyMsPerSecond: &events.AvgMax{Avg: 250, Max: 300}},
			{ID: "b", Name: "enrich", Parallelism: 4, BusyMsPerSecond: &events.AvgMax{Avg: 900, Max: 950}},
		}}
	m.jobs.observe(snap)
	m.jobs.decided(&events.Decision{Cluster: "prod", JobName: "orders", TaskManagers: events.Count{Current: 3, Target: 5},
		Vertices: []events.VertexDecision{{Name: "enrich", Current: 4, Target: 6}}}, time.Unix(2000, 0))

	require.InDelta(t, 3, testutil.ToFloat64(m.jobs.taskManagers.WithLabelValues("prod", "orders")), 0)
	require.InDelta(t, 5, testutil.ToFloat64(m.jobs.targetTaskManagers.WithLabelValues("prod", "orders")), 0)
	require.InDelta(t, 4, testutil.ToFloat64(m.jobs.parallelism.WithLabelValues("prod", "orders", "enrich")), 0)
	require.InDelta(t, 6, testutil.ToFloat64(m.jobs.targetParallelism.WithLabelValues("prod", "orders", "enrich")), 0)
	require.InDelta(t, 0.9, testutil.ToFloat64(m.jobs.busy.WithLabelValues("prod", "orders", "enrich")), 1e-9)
	require.InDelta(t, 6000, testutil.ToFloat64(m.jobs.pending.WithLabelValues("prod", "orders")), 0)
	require.InDelta(t, 30, testutil.ToFloat64(m.jobs.lag.WithLabelValues("prod", "orders")), 0)
	require.InDelta(t, 2000, testutil.ToFloat64(m.jobs.lastDecision.WithLabelValues("prod", "orders")), 0)

	// A vertex gone from the job loses its series; a finished job loses all
	// its snapshot series.
	snap.Vertices = snap.Vertices[:1]
	m.jobs.observe(snap)
	require.Equal(t, 1, testutil.CollectAndCount(m.jobs.parallelism))
	snap.JobState = "FINISHED"
	m.jobs.observe(snap)
	require.Equal(t, 0, testutil.CollectAndCount(m.jobs.parallelism))
	require.Equal(t, 0, testutil.CollectAndCount(m.jobs.taskManagers))
}
