package realflink

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/flink"
)

// wireScenario is small and checkpoints often, so every endpoint has
// something to say within seconds.
const wireScenario = `
name: wire
duration: 10m
seed: 3
cluster:
  scaling: adaptive
  slotsPerTaskManager: 2
  initialTaskManagers: 2
  maxTaskManagers: 4
  taskManagerStartup: 0s
  checkpointInterval: 2s
job:
  name: wire
  vertices:
    - {name: "Source: events", parallelism: 2, maxParallelism: 16, capacity: 2000, partitions: 4}
    - {name: parse, inputs: ["Source: events"], parallelism: 2, maxParallelism: 16, capacity: 500, selectivity: 2}
    - {name: count, inputs: [parse], keyed: true, parallelism: 1, maxParallelism: 16, capacity: 2000, selectivity: 0.5}
load:
  pattern: constant
  rate: 300
`

// TestRealFlinkWire checks, on Flink 1.20 and 2.x, that every REST call
// metrics-ingest and actuate make decodes into our types with no field our
// types expect missing from Flink's answer, and that a PUT of the resource
// requirements takes effect.
func TestRealFlinkWire(t *testing.T) {
	for _, line := range []string{"1.20", "2"} {
		t.Run("flink-"+line, func(t *testing.T) {
			sb := StartSandbox(t, wireScenario, line)
			c, err := flink.New(sb.URL(), flink.Options{})
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			// A completed checkpoint fills latest.completed.
			Eventually(t, time.Minute, func() bool {
				cp, err := c.Checkpoints(ctx, sb.JobID())
				return err == nil && cp.Counts.Completed > 0
			}, "no completed checkpoint")

			job := sb.JobID()
			checkWire(t, sb.URL(), "/overview", flink.Overview{})
			checkWire(t, sb.URL(), "/jobs/overview", struct {
				Jobs []flink.JobOverview `json:"jobs"`
			}{})
			checkWire(t, sb.URL(), "/jobs/"+job, flink.JobDetails{})
			checkWire(t, sb.URL(), "/jobs/"+job+"/checkpoints", flink.Checkpoints{})
			checkWire(t, sb.URL(), "/jobs/"+job+"/checkpoints/config", flink.CheckpointConfig{})
			checkWire(t, sb.URL(), "/jobs/"+job+"/resource-requirements", map[string]struct {
				Parallelism flink.Bounds `json:"parallelism"`
			}{})
			details, err := c.JobDetails(ctx, job)
			require.NoError(t, err)
			require.Len(t, details.Vertices, 3)
			for _, v := range details.Vertices {
				checkWire(t, sb.URL(), "/jobs/"+job+"/vertices/"+v.ID+"/subtasks/metrics", []flink.MetricValue{})
				checkWire(t, sb.URL(), "/jobs/"+job+"/vertices/"+v.ID+"/subtasks/metrics?get=busyTimeMsPerSecond,numRecordsInPerSecond&agg=min,max,avg,sum", []flink.AggregatedMetric{})
			}
			// The metrics ingest needs are there, by the names it asks for.
			src := details.Vertices[0]
			names, values, err := c.SubtaskMetrics(ctx, job, src.ID, func(id string) bool {
				return strings.HasSuffix(id, ".pendingRecords") || id == "busyTimeMsPerSecond" || strings.HasSuffix(id, "numRecordsOutPerSecond")
			}, flink.AggMax, flink.AggSum)
			require.NoError(t, err)
			require.Contains(t, names, "Source__events.pendingRecords")
			require.Contains(t, values, "busyTimeMsPerSecond")

			// PUT: parse to 3 (4 slots: room for it).
			req, err := c.GetResourceRequirements(ctx, job)
			require.NoError(t, err)
			parse := details.Vertices[1].ID
			req[parse] = flink.Bounds{Lower: 1, Upper: 3}
			require.NoError(t, c.PutResourceRequirements(ctx, job, req))
			Eventually(t, 90*time.Second, func() bool {
				d, err := c.JobDetails(ctx, job)
				return err == nil && d.State == flink.StateRunning && d.Vertices[1].Parallelism == 3 && d.StatusCounts["RUNNING"] == len(d.Vertices)
			}, "parse not RUNNING at parallelism 3 after the PUT")
		})
	}
}

// checkWire GETs path and reports every field the type of into expects
// (without omitempty) that Flink's answer lacks; then it decodes it.
func checkWire(t *testing.T, base, path string, into any) {
	t.Helper()
	resp, err := http.Get(base + path)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, http.StatusOK, resp.StatusCode, "GET %s: %s", path, data)
	var raw any
	require.NoError(t, json.Unmarshal(data, &raw), "GET %s", path)
	missing := MissingFields(reflect.TypeOf(into), raw, "")
	assert.Empty(t, missing, "GET %s: fields our types expect but Flink does not send", path)
	target := reflect.New(reflect.TypeOf(into)).Interface()
	require.NoError(t, json.Unmarshal(data, target), "GET %s", path)
}
