package flinksim

import (
	"encoding/json"
	"math"
	"net/http"
	"strconv"
	"strings"
)

// Emulated Flink version and the prefix of the emulator's own endpoints.
const (
	FlinkVersion  = "1.18.1"
	flinkCommit   = "a8c8b1c"
	ControlPrefix = "/flinksim/v1/"
)

// Handler serves Flink's JobManager REST API (reference flink-rest.md; every
// path also under /v1) and the emulator's control endpoints under
// ControlPrefix.
func (c *Cluster) Handler() http.Handler { return restHandler{c: c} }

type restHandler struct{ c *Cluster }

func (h restHandler) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	path := r.URL.Path
	if strings.HasPrefix(path, ControlPrefix) {
		h.c.serveControl(w, r, strings.TrimPrefix(path, ControlPrefix))
		return
	}
	if rest, ok := strings.CutPrefix(path, "/v1/"); ok {
		path = "/" + rest
	}
	seg := strings.Split(strings.Trim(path, "/"), "/")
	h.c.mu.Lock()
	status, body := h.c.route(r, seg)
	h.c.mu.Unlock()
	writeBody(w)(status, body)
}

// writeBody returns a writer of one JSON response to w.
func writeBody(w http.ResponseWriter) func(status int, body []byte) {
	return func(status int, body []byte) {
		writeJSON(w, status, body)
	}
}

func writeJSON(w http.ResponseWriter, status int, body []byte) {
	w.Header().Set("Content-Type", "application/json; charset=UTF-8")
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	_, _ = w.Write(body) // the client went away; nothing to do
}

// route dispatches a Flink REST request; the cluster lock is held.
func (c *Cluster) route(r *http.Request, seg []string) (int, []byte) {
	get := r.Method == http.MethodGet
	switch {
	case get && len(seg) == 1 && seg[0] == "overview":
		return ok(c.overview())
	case get && len(seg) == 1 && seg[0] == "config":
		return ok(c.dashboardConfig())
	case get && len(seg) == 1 && seg[0] == "jobs":
		return ok(c.jobIDs())
	case get && len(seg) == 2 && seg[0] == "jobs" && seg[1] == "overview":
		return ok(c.jobsOverview())
	case get && len(seg) == 1 && seg[0] == "taskmanagers":
		return ok(c.taskManagersInfo())
	case get && len(seg) == 2 && seg[0] == "jobmanager" && seg[1] == "metrics":
		return ok(c.jobManagerMetrics(r))
	case get && len(seg) == 2 && seg[0] == "taskmanagers" && seg[1] == "metrics":
		return c.taskManagersMetrics(r)
	case len(seg) >= 2 && seg[0] == "jobs":
		return c.routeJob(r, seg[1], seg[2:])
	}
	return notFound(r)
}

func (c *Cluster) routeJob(r *http.Request, jobID string, seg []string) (int, []byte) {
	get := r.Method == http.MethodGet
	if !isHexID(jobID) {
		return restError(http.StatusBadRequest, "org.apache.flink.runtime.rest.handler.RestHandlerException: Bad request, could not parse parameters: Cannot resolve path parameter (jobid) from value \""+jobID+"\".")
	}
	known := jobID == c.jobID
	switch {
	case get && len(seg) == 0:
		return c.jobView(known, jobID, "job", c.jobDetails)
	case get && len(seg) == 1 && seg[0] == "plan":
		return c.jobView(known, jobID, "plan", func() any { return map[string]any{"plan": c.plan()} })
	case get && len(seg) == 1 && seg[0] == "checkpoints":
		return c.jobView(known, jobID, "checkpoints", c.checkpointStats)
	case r.Method == http.MethodPost && len(seg) == 1 && seg[0] == "checkpoints" && c.sc.Cluster.FlinkVersion != Flink118:
		return c.triggerCheckpointView(known, jobID)
	case get && len(seg) == 2 && seg[0] == "checkpoints" && seg[1] == "config":
		return c.checkpointConfigView(known, jobID)
	case get && isJobManagerConfig(seg):
		return ok(c.clusterConfig())
	case get && len(seg) == 1 && seg[0] == "metrics":
		if !known {
			return ok([]any{})
		}
		return ok(c.jobMetrics(r))
	case len(seg) == 1 && seg[0] == "resource-requirements":
		return c.resourceRequirements(r, known, jobID)
	case get && len(seg) == 2 && seg[0] == "vertices":
		return c.vertexView(known, jobID, seg[1])
	case get && len(seg) == 3 && seg[0] == "vertices" && seg[2] == "metrics":
		return http.StatusOK, encodeMetricIDs(c.vertexMetrics(r, known, seg[1]))
	case get && len(seg) == 4 && seg[0] == "vertices" && seg[2] == "subtasks" && seg[3] == "metrics":
		return c.aggregatedMetrics(r, known, seg[1])
	}
	return notFound(r)
}

// jobView serves a cached execution-graph view, or 404 for an unknown job.
func (c *Cluster) jobView(known bool, jobID, key string, render func() any) (int, []byte) {
	if !known {
		return jobNotFound(jobID)
	}
	return c.cached(key, func() (int, []byte) { return ok(render()) })
}

func (c *Cluster) vertexView(known bool, jobID, vertexID string) (int, []byte) {
	if !known {
		return jobNotFound(jobID)
	}
	v := c.vertexByID(vertexID)
	if v < 0 {
		return restError(http.StatusNotFound, "org.apache.flink.runtime.rest.NotFoundException: JobVertexID "+vertexID+" not found")
	}
	return c.cached("vertex/"+vertexID, func() (int, []byte) { return ok(c.vertexDetails(v)) })
}

func (c *Cluster) vertexByID(id string) int {
	for i, v := range c.vertices {
		if v.id == id {
			return i
		}
	}
	return -1
}

func isHexID(s string) bool {
	if len(s) != 32 {
		return false
	}
	for _, r := range s {
		if !strings.ContainsRune("0123456789abcdefABCDEF", r) {
			return false
		}
	}
	return true
}

func ok(v any) (int, []byte) {
	body, err := json.Marshal(v)
	if err != nil {
		return restError(http.StatusInternalServerError, "Internal server error.", "<Exception on server side:\n"+err.Error()+"\nEnd of exception on server side>")
	}
	return http.StatusOK, body
}

// restError renders Flink's ErrorResponseBody.
func restError(status int, errs ...string) (int, []byte) {
	body, _ := json.Marshal(map[string][]string{"errors": errs}) // strings always marshal
	return status, body
}

func notFound(r *http.Request) (int, []byte) {
	return restError(http.StatusNotFound, "Not found: "+r.URL.RequestURI())
}

func jobNotFound(jobID string) (int, []byte) {
	return restError(http.StatusNotFound, "org.apache.flink.runtime.rest.NotFoundException: Job "+jobID+" not found")
}

// jsonFloat is a double as Jackson writes it: a number, or "NaN",
// "Infinity", "-Infinity" as strings.
type jsonFloat float64

func (f jsonFloat) MarshalJSON() ([]byte, error) { return f.appendTo(nil), nil }

// javaDouble formats v as Java's Double.toString does ("873.4", "0.0",
// "1.2345E7", "NaN"): metric values are strings on the wire.
func javaDouble(v float64) string {
	switch {
	case math.IsNaN(v):
		return "NaN"
	case math.IsInf(v, 1):
		return "Infinity"
	case math.IsInf(v, -1):
		return "-Infinity"
	case v == 0:
		return "0.0"
	}
	if a := math.Abs(v); a >= 1e-3 && a < 1e7 {
		s := strconv.FormatFloat(v, 'f', -1, 64)
		if !strings.Contains(s, ".") {
			s += ".0"
		}
		return s
	}
	s := strconv.FormatFloat(v, 'E', -1, 64)
	mant, exp, _ := strings.Cut(s, "E")
	if !strings.Contains(mant, ".") {
		mant += ".0"
	}
	e, _ := strconv.Atoi(exp) // FormatFloat always writes a valid exponent
	return mant + "E" + strconv.Itoa(e)
}
