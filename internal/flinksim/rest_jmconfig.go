package flinksim

import (
	"net/http"
	"sort"
	"strconv"
)

// The JobManager's configuration and the TaskManagers' JVM metrics: what a
// client that tunes itself from the cluster (the Flink Kubernetes
// operator's autoscaler) reads besides the job (reference §5.2, §5.8).

type configEntry struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// clusterConfig is the configuration the emulated cluster was started with,
// as GET /jobs/:jobid/jobmanager/config serves it: Flink hands every job
// the cluster's configuration, so it answers for any well-formed job id.
func (c *Cluster) clusterConfig() []configEntry {
	cl := c.sc.Cluster
	conf := map[string]string{
		"jobmanager.rpc.address":          "localhost",
		"rest.address":                    "localhost",
		"parallelism.default":             "1",
		"taskmanager.numberOfTaskSlots":   strconv.Itoa(cl.SlotsPerTaskManager),
		"taskmanager.memory.process.size": "1728m",
		"metrics.fetcher.update-interval": strconv.FormatInt(fetchInterval.Milliseconds(), 10),
		"web.refresh-interval":            strconv.FormatInt(webRefreshInterval.Milliseconds(), 10),
	}
	switch cl.Scaling {
	case ScalingReactive:
		conf["scheduler-mode"] = "reactive"
	default:
		conf["jobmanager.scheduler"] = "adaptive"
	}
	if cl.Scaling == ScalingSession {
		conf["execution.target"] = "remote"
	}
	if cl.CheckpointInterval > 0 {
		conf["execution.checkpointing.interval"] = strconv.FormatInt(cl.CheckpointInterval.Milliseconds(), 10) + " ms"
	}
	out := make([]configEntry, 0, len(conf))
	for k, v := range conf {
		out = append(out, configEntry{Key: k, Value: v})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Key < out[b].Key })
	return out
}

// tmHeapMax is the JVM heap of an emulated TaskManager: framework plus task
// heap of Flink's default memory model.
var tmHeapMax = tmMemory["frameworkHeap"] + tmMemory["taskHeap"]

// taskManagerJVMMetrics lists one registered TaskManager's JVM and memory
// gauges. The values are steady per TaskManager (the emulator models no
// heap growth or GC): a used heap between 30% and 50% of the maximum, no
// managed memory (heap state), a loaded metaspace.
func taskManagerJVMMetrics(tm *taskManager) []metricValue {
	used := tmHeapMax * int64(30+(tm.seq*7)%21) / 100
	return []metricValue{
		gauge("Status.JVM.Memory.Heap.Max", tmHeapMax),
		gauge("Status.JVM.Memory.Heap.Used", used),
		gauge("Status.JVM.Memory.Heap.Committed", tmHeapMax),
		gauge("Status.JVM.Memory.NonHeap.Used", 120<<20),
		gauge("Status.JVM.Memory.Metaspace.Used", 96<<20),
		gauge("Status.JVM.Memory.Metaspace.Max", tmMemory["jvmMetaspace"]),
		gauge("Status.Flink.Memory.Managed.Used", 0),
		gauge("Status.Flink.Memory.Managed.Total", tmMemory["managedMemory"]),
		gauge("Status.JVM.CPU.Load", 0),
		gauge("Status.JVM.Threads.Count", 64),
	}
}

func gauge(id string, v int64) metricValue {
	return metricValue{id: id, text: strconv.FormatInt(v, 10), value: float64(v), numeric: true}
}

// taskManagersMetrics serves GET /taskmanagers/metrics: without get the
// union of metric ids of the selected TaskManagers, with get the requested
// aggregates (agg, default all) over them, as the vertex subtask
// aggregation does. taskmanagers selects TaskManagers by id.
func (c *Cluster) taskManagersMetrics(r *http.Request) (int, []byte) {
	q := r.URL.Query()
	aggs, bad := parseAggs(q.Get("agg"))
	if bad != "" {
		return restError(http.StatusBadRequest, bad)
	}
	var selected map[string]bool
	if ids := splitList(q.Get("taskmanagers")); len(ids) > 0 {
		selected = map[string]bool{}
		for _, id := range ids {
			selected[id] = true
		}
	}
	values := map[string][]float64{}
	var ids []string
	for _, tm := range c.tms {
		if !tm.registered || (selected != nil && !selected[tm.id]) {
			continue
		}
		for _, m := range taskManagerJVMMetrics(tm) {
			if _, seen := values[m.id]; !seen {
				ids = append(ids, m.id)
			}
			values[m.id] = append(values[m.id], m.value)
		}
	}
	get := splitList(q.Get("get"))
	if len(get) == 0 {
		sort.Strings(ids)
		out := make([]metricIDValue, len(ids))
		for j, id := range ids {
			out[j] = metricIDValue{ID: id}
		}
		return ok(out)
	}
	return ok(aggregateMetrics(get, values, aggs))
}

// isJobManagerConfig reports whether seg (after /jobs/:jobid) names the
// job's JobManager configuration.
func isJobManagerConfig(seg []string) bool {
	return len(seg) == 2 && seg[0] == "jobmanager" && seg[1] == "config"
}
