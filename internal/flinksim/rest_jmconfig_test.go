package flinksim

import (
	"encoding/json"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestRESTJobManagerConfig(t *testing.T) {
	for _, tc := range []struct {
		scaling, key, value string
	}{
		{"", "jobmanager.scheduler", "adaptive"},
		{"  scaling: reactive", "scheduler-mode", "reactive"},
	} {
		c, base := startREST(t, pipeline(t, 1500, tc.scaling))
		// Flink serves the cluster configuration under every job id, /v1 too.
		for _, path := range []string{"/jobs/" + c.JobID() + "/jobmanager/config", "/v1/jobs/0123456789abcdef0123456789abcdef/jobmanager/config"} {
			status, data := call(t, http.MethodGet, base+path, "{}")
			require.Equal(t, http.StatusOK, status, string(data))
			var entries []struct{ Key, Value string }
			require.NoError(t, json.Unmarshal(data, &entries))
			conf := map[string]string{}
			for _, e := range entries {
				conf[e.Key] = e.Value
			}
			require.Equal(t, tc.value, conf[tc.key], path)
			require.Equal(t, "1", conf["taskmanager.numberOfTaskSlots"])
			require.Equal(t, "60000 ms", conf["execution.checkpointing.interval"])
			if tc.scaling != "" {
				require.NotContains(t, conf, "jobmanager.scheduler", "reactive mode without the adaptive scheduler key")
			}
		}
	}
	_, base := startREST(t, pipeline(t, 1500, ""))
	status, _ := call(t, http.MethodGet, base+"/jobs/xyz/jobmanager/config", "")
	require.Equal(t, http.StatusBadRequest, status)
}

func TestRESTTaskManagersMetrics(t *testing.T) {
	c, base := startREST(t, pipeline(t, 1500, ""))
	c.Advance(30 * time.Second) // the initial TaskManagers register
	ids := getJSON(t, base+"/taskmanagers/metrics", 200).([]any)
	require.Contains(t, ids, map[string]any{"id": "Status.JVM.Memory.Heap.Max"})
	require.Contains(t, ids, map[string]any{"id": "Status.Flink.Memory.Managed.Used"})

	// The query the operator's autoscaler sends, first with the GC metric the
	// emulator does not serve (all or nothing: empty), then without it.
	const memory = "Status.JVM.Memory.Heap.Max,Status.JVM.Memory.Heap.Used,Status.Flink.Memory.Managed.Used,Status.JVM.Memory.Metaspace.Used"
	empty := getJSON(t, base+"/v1/taskmanagers/metrics?get="+memory+",Status.JVM.GarbageCollector.All.TimeMsPerSecond&agg=min,max,avg", 200)
	require.Empty(t, empty)
	got := getJSON(t, base+"/v1/taskmanagers/metrics?get="+memory+"&agg=min,max,avg", 200).([]any)
	require.Len(t, got, 4)
	byID := map[string]map[string]any{}
	for _, e := range got {
		m := e.(map[string]any)
		byID[m["id"].(string)] = m
		require.ElementsMatch(t, []string{"id", "min", "max", "avg"}, keys(m))
	}
	heapMax := byID["Status.JVM.Memory.Heap.Max"]
	require.InDelta(t, float64(tmHeapMax), heapMax["max"], 0.5)
	used := byID["Status.JVM.Memory.Heap.Used"]
	require.Less(t, used["max"].(float64), float64(tmHeapMax))
	require.Greater(t, used["min"].(float64), 0.0)

	// Two TaskManagers registered: sum over both; one selected: its own.
	sum := getJSON(t, base+"/taskmanagers/metrics?get=Status.JVM.Memory.Heap.Max&agg=sum", 200).([]any)
	require.InDelta(t, 2*float64(tmHeapMax), sum[0].(map[string]any)["sum"], 0.5)
	tms := getJSON(t, base+"/taskmanagers", 200).(map[string]any)["taskmanagers"].([]any)
	one := tms[0].(map[string]any)["id"].(string)
	sel := getJSON(t, base+"/taskmanagers/metrics?get=Status.JVM.Memory.Heap.Max&agg=sum&taskmanagers="+one, 200).([]any)
	require.InDelta(t, float64(tmHeapMax), sel[0].(map[string]any)["sum"], 0.5)

	status, _ := call(t, http.MethodGet, base+"/taskmanagers/metrics?get=x&agg=p99", "")
	require.Equal(t, http.StatusBadRequest, status)

	// No TaskManager registered yet: nothing to aggregate.
	c.SetTaskManagers(0)
	require.Empty(t, getJSON(t, base+"/taskmanagers/metrics?get=Status.JVM.Memory.Heap.Max", 200))
}

func keys(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	return out
}
