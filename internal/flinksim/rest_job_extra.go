package flinksim

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"strconv"
)

// Job-scoped metrics, JobManager metrics and resource requirements
// (reference §5.8, §5.10).

func (c *Cluster) jobMetrics(r *http.Request) []metricIDValue {
	now := c.elapsed
	uptime, downtime := int64(0), int64(0)
	switch c.sched.state {
	case StateRunning:
		uptime = (now - c.sched.runningSince).Milliseconds()
	default:
		downtime = (now - c.sched.since).Milliseconds()
	}
	last := ""
	restoreTs := int64(-1)
	if c.ckpt.restored != nil {
		restoreTs = c.ckpt.restored.restoreMs
	}
	if c.ckpt.completed > 0 {
		last = c.ckpt.externalPath(c.jobID, c.ckpt.completed)
	}
	inProgress := int64(0)
	if c.dist.pending != nil {
		inProgress = 1
	}
	all := []metricIDValue{
		{"uptime", itoa64(uptime)}, {"downtime", itoa64(downtime)},
		{"restartingTime", itoa64(c.restartingTime())}, {"numRestarts", strconv.Itoa(c.sched.restarts)},
		{"fullRestarts", strconv.Itoa(c.sched.restarts)},
		{"numberOfCompletedCheckpoints", itoa64(c.ckpt.completed)}, {"numberOfFailedCheckpoints", "0"},
		{"numberOfInProgressCheckpoints", itoa64(inProgress)}, {"totalNumberOfCheckpoints", itoa64(c.ckpt.completed + inProgress)},
		{"lastCheckpointDuration", "0"}, {"lastCheckpointSize", "0"}, {"lastCheckpointFullSize", "0"},
		{"lastCheckpointExternalPath", last}, {"lastCheckpointRestoreTimestamp", itoa64(restoreTs)},
	}
	return selectMetrics(r, all)
}

// restartingTime is how long the current or last restart has taken (ms).
func (c *Cluster) restartingTime() int64 {
	if !c.sched.started || c.sched.restarts == 0 {
		return 0
	}
	if c.sched.state == StateRunning {
		return (c.sched.runningSince - c.sched.restartedAt).Milliseconds()
	}
	return (c.elapsed - c.sched.restartedAt).Milliseconds()
}

func (c *Cluster) jobManagerMetrics(r *http.Request) []metricIDValue {
	total := c.registeredSlots()
	running := 0
	if c.sched.state == StateRunning {
		running = 1
	}
	all := []metricIDValue{
		{"taskSlotsTotal", strconv.Itoa(total)},
		{"taskSlotsAvailable", strconv.Itoa(total - c.slotsInUse())},
		{"numRegisteredTaskManagers", strconv.Itoa(c.registeredTaskManagers())},
		{"numRunningJobs", strconv.Itoa(running)},
	}
	return selectMetrics(r, all)
}

// selectMetrics answers a ?get= query over all: ids only without get,
// requested ids that exist with it.
func selectMetrics(r *http.Request, all []metricIDValue) []metricIDValue {
	get := splitList(r.URL.Query().Get("get"))
	out := []metricIDValue{}
	if len(get) == 0 {
		for _, m := range all {
			out = append(out, metricIDValue{ID: m.ID})
		}
		return out
	}
	want := map[string]bool{}
	for _, g := range get {
		want[g] = true
	}
	for _, m := range all {
		if want[m.ID] {
			out = append(out, m)
		}
	}
	return out
}

func itoa64(n int64) string { return strconv.FormatInt(n, 10) }

type requirementBody struct {
	Parallelism Bounds `json:"parallelism"`
}

// resourceRequirements serves GET and PUT /jobs/:jobid/resource-requirements.
func (c *Cluster) resourceRequirements(r *http.Request, known bool, jobID string) (int, []byte) {
	if r.Method != http.MethodGet && r.Method != http.MethodPut {
		return notFound(r)
	}
	if !known {
		return restError(http.StatusInternalServerError, "Internal server error.",
			"<Exception on server side:\njava.util.concurrent.CompletionException: org.apache.flink.runtime.messages.FlinkJobNotFoundException: Could not find Flink job ("+jobID+")\nEnd of exception on server side>")
	}
	if r.Method == http.MethodGet {
		out := map[string]requirementBody{}
		for i, v := range c.vertices {
			out[v.id] = requirementBody{Parallelism: c.sched.requirements[i]}
		}
		return ok(out)
	}
	return c.putRequirementsBody(r)
}

const maxRequirementsBody = 1 << 20

func (c *Cluster) putRequirementsBody(r *http.Request) (int, []byte) {
	data, err := io.ReadAll(io.LimitReader(r.Body, maxRequirementsBody))
	var body map[string]requirementBody
	if err == nil {
		err = json.Unmarshal(data, &body)
	}
	if err != nil {
		return restError(http.StatusBadRequest, "org.apache.flink.runtime.rest.handler.RestHandlerException: Request did not match expected format JobResourceRequirementsBody.")
	}
	req := make(map[string]Bounds, len(body))
	for id, b := range body {
		req[id] = b.Parallelism
	}
	switch err := c.putRequirements(req); {
	case err == nil:
		return http.StatusOK, []byte("{}")
	case errors.Is(err, ErrReactiveMode):
		return restError(http.StatusInternalServerError, "Internal server error.",
			"<Exception on server side:\njava.util.concurrent.CompletionException: java.lang.UnsupportedOperationException: "+RequirementsMessage(err)+"\nEnd of exception on server side>")
	default:
		return restError(http.StatusBadRequest, "org.apache.flink.runtime.rest.handler.RestHandlerException: "+RequirementsMessage(err))
	}
}
