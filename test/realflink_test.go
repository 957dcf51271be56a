package test

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/flink"
	"github.com/flinkscaler/flinkscaler/internal/sandbox"
)

// The real-Flink tests run the scenario's job on a real Apache Flink
// MiniCluster (internal/sandbox). The first run builds the sandbox jar with
// Maven, downloading Flink from Maven Central; -short skips them.

// jarBuildTimeout allows the first build's download.
const jarBuildTimeout = 15 * time.Minute

// startSandbox runs scenario (YAML) on real Flink until the test ends. A JVM
// that dies during the test fails it with the JVM's last output.
func startSandbox(t *testing.T, scenario, flinkLine string, conf map[string]string) *sandbox.Sandbox {
	t.Helper()
	if testing.Short() {
		t.Skip("real Flink: skipped with -short")
	}
	ctx, cancel := context.WithTimeout(context.Background(), jarBuildTimeout)
	defer cancel()
	start := time.Now()
	if _, err := sandbox.BuildJar(ctx, flinkLine, nil); err != nil {
		if ctx.Err() != nil {
			t.Fatalf("building the Flink %s sandbox jar took over %s (the first build downloads Flink from Maven Central): %v", flinkLine, jarBuildTimeout, err)
		}
		t.Fatalf("building the Flink %s sandbox jar: %v", flinkLine, err)
	}
	if d := time.Since(start); d > 5*time.Second {
		t.Logf("built the Flink %s sandbox jar in %s", flinkLine, d.Round(time.Second))
	}
	path := filepath.Join(t.TempDir(), "scenario.yaml")
	require.NoError(t, os.WriteFile(path, []byte(scenario), 0o600))
	var log io.Writer
	if testing.Verbose() {
		log = os.Stderr
	}
	sb, err := sandbox.Start(ctx, sandbox.Config{Scenario: path, Flink: flinkLine, Log: log, FlinkConfig: conf})
	require.NoError(t, err)
	t.Logf("real Flink %s: %s job %s", sb.FlinkVersion(), sb.URL(), sb.JobID())
	stopped := false
	t.Cleanup(func() {
		stopped = true
		stop, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		defer cancel()
		require.NoError(t, sb.Stop(stop))
	})
	go func() {
		<-sb.Done()
		if err := sb.Err(); err != nil && !stopped {
			t.Errorf("the sandbox died: %v", err)
		}
	}()
	return sb
}

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
			sb := startSandbox(t, wireScenario, line, nil)
			c, err := flink.New(sb.URL(), flink.Options{})
			require.NoError(t, err)
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			// A completed checkpoint fills latest.completed.
			eventually(t, time.Minute, func() bool {
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
			eventually(t, 90*time.Second, func() bool {
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
	missing := missingFields(reflect.TypeOf(into), raw, "")
	assert.Empty(t, missing, "GET %s: fields our types expect but Flink does not send", path)
	target := reflect.New(reflect.TypeOf(into)).Interface()
	require.NoError(t, json.Unmarshal(data, target), "GET %s", path)
}

func missingFields(typ reflect.Type, raw any, at string) []string {
	for typ.Kind() == reflect.Pointer {
		typ = typ.Elem()
	}
	if raw == nil {
		return nil
	}
	var out []string
	switch typ.Kind() {
	case reflect.Struct:
		obj, ok := raw.(map[string]any)
		if !ok {
			return []string{fmt.Sprintf("%s: want an object, got %T", at, raw)}
		}
		for i := range typ.NumField() {
			f := typ.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "-" || !f.IsExported() {
				continue
			}
			if name == "" {
				name = f.Name
			}
			v, present := obj[name]
			if !present {
				if !strings.Contains(opts, "omitempty") {
					out = append(out, at+"."+name)
				}
				continue
			}
			out = append(out, missingFields(f.Type, v, at+"."+name)...)
		}
	case reflect.Slice:
		if typ.Elem().Kind() == reflect.Uint8 {
			return nil
		}
		arr, _ := raw.([]any)
		for i, v := range arr {
			out = append(out, missingFields(typ.Elem(), v, fmt.Sprintf("%s[%d]", at, i))...)
		}
	case reflect.Map:
		obj, _ := raw.(map[string]any)
		for k, v := range obj {
			out = append(out, missingFields(typ.Elem(), v, at+"."+k)...)
		}
	}
	return out
}

func getJSONTest(u string, v any) error {
	resp, err := http.Get(u)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("GET %s: %s", u, resp.Status)
	}
	return json.NewDecoder(resp.Body).Decode(v)
}
