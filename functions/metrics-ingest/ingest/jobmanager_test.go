package ingest

import (
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// testJob is one job of a testJobManager: a chain of vertices, the first a
// source, each with the same per-subtask metric values.
type testJob struct {
	id, name, state string
	vertices        []string // vertex ids, upstream first
	parallelism     int
	metrics         map[string]string // subtask-scoped id → value ("NaN" allowed)
}

// testJobManager is a real HTTP server speaking Flink's wire format for the
// endpoints ingest reads, including the all-or-nothing aggregation rule.
type testJobManager struct {
	mu   sync.Mutex
	jobs map[string]*testJob
	srv  *httptest.Server
}

func newTestJobManager(t *testing.T, jobs ...*testJob) *testJobManager {
	t.Helper()
	jm := &testJobManager{jobs: map[string]*testJob{}}
	for _, j := range jobs {
		jm.jobs[j.id] = j
	}
	mux := http.NewServeMux()
	mux.HandleFunc("GET /overview", jm.overview)
	mux.HandleFunc("GET /jobs/overview", jm.jobsOverview)
	mux.HandleFunc("GET /jobs/{job}", jm.jobDetails)
	mux.HandleFunc("GET /jobs/{job}/vertices/{vertex}/subtasks/metrics", jm.subtaskMetrics)
	jm.srv = httptest.NewServer(mux)
	t.Cleanup(jm.srv.Close)
	return jm
}

func (jm *testJobManager) set(f func(jobs map[string]*testJob)) {
	jm.mu.Lock()
	defer jm.mu.Unlock()
	f(jm.jobs)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func (jm *testJobManager) overview(w http.ResponseWriter, _ *http.Request) {
	writeJSON(w, 200, map[string]any{"taskmanagers": 3, "slots-total": 6, "slots-available": 1, "flink-version": "1.19.1"})
}

func (jm *testJobManager) jobsOverview(w http.ResponseWriter, _ *http.Request) {
	jm.mu.Lock()
	defer jm.mu.Unlock()
	var list []map[string]any
	for _, j := range jm.jobs {
		list = append(list, map[string]any{"jid": j.id, "name": j.name, "state": j.state, "start-time": 1, "end-time": -1})
	}
	writeJSON(w, 200, map[string]any{"jobs": list})
}

func (jm *testJobManager) job(r *http.Request) (*testJob, bool) {
	jm.mu.Lock()
	defer jm.mu.Unlock()
	j, ok := jm.jobs[r.PathValue("job")]
	if !ok {
		return nil, false
	}
	cp := *j
	return &cp, true
}

func (jm *testJobManager) jobDetails(w http.ResponseWriter, r *http.Request) {
	j, ok := jm.job(r)
	if !ok {
		writeJSON(w, 404, map[string]any{"errors": []string{"org.apache.flink.runtime.rest.NotFoundException: Job " + r.PathValue("job") + " not found"}})
		return
	}
	var vertices, nodes []map[string]any
	for i, v := range j.vertices {
		vertices = append(vertices, map[string]any{"id": v, "name": fmt.Sprintf("op %d", i), "parallelism": j.parallelism,
			"maxParallelism": 128, "status": "RUNNING", "metrics": map[string]any{"accumulated-busy-time": "NaN"}})
		node := map[string]any{"id": v, "parallelism": j.parallelism, "description": fmt.Sprintf("op %d", i)}
		if i > 0 {
			node["inputs"] = []map[string]any{{"num": 0, "id": j.vertices[i-1], "ship_strategy": "REBALANCE", "exchange": "pipelined_bounded"}}
		}
		nodes = append(nodes, node)
	}
	writeJSON(w, 200, map[string]any{"jid": j.id, "name": j.name, "state": j.state, "maxParallelism": -1,
		"timestamps": map[string]int64{"RUNNING": 1718000001200}, "vertices": vertices,
		"plan": map[string]any{"jid": j.id, "name": j.name, "type": "STREAMING", "nodes": nodes}})
}

// subtaskMetrics lists ids without get, and with get answers [] unless every
// requested id exists (Flink's AbstractAggregatingMetricsHandler).
func (jm *testJobManager) subtaskMetrics(w http.ResponseWriter, r *http.Request) {
	j, ok := jm.job(r)
	if !ok {
		writeJSON(w, 200, []any{})
		return
	}
	get := r.URL.Query().Get("get")
	if get == "" {
		var list []map[string]string
		for id := range j.metrics {
			list = append(list, map[string]string{"id": id})
		}
		writeJSON(w, 200, list)
		return
	}
	var out []map[string]any
	for _, id := range strings.Split(get, ",") {
		v, ok := j.metrics[id]
		if !ok {
			writeJSON(w, 200, []any{})
			return
		}
		p := float64(j.parallelism)
		var sum any = "NaN"
		if v != "NaN" {
			var f float64
			_, _ = fmt.Sscan(v, &f)
			sum = f * p
		}
		out = append(out, map[string]any{"id": id, "avg": jsonNumber(v), "max": jsonNumber(v), "sum": sum})
	}
	writeJSON(w, 200, out)
}

// jsonNumber writes v as a JSON number, or as Flink's quoted "NaN".
func jsonNumber(v string) any {
	if v == "NaN" {
		return v
	}
	return json.Number(v)
}

// healthyJob is a running two-vertex job with every metric present.
func healthyJob(id string) *testJob {
	return &testJob{id: id, name: "job-" + id, state: "RUNNING", vertices: []string{id + "-src", id + "-sink"}, parallelism: 2,
		metrics: map[string]string{
			"busyTimeMsPerSecond": "600", "idleTimeMsPerSecond": "300", "backPressuredTimeMsPerSecond": "100",
			"numRecordsInPerSecond": "1000", "numRecordsOutPerSecond": "900",
		}}
}
