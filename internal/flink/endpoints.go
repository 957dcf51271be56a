package flink

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
)

// Overview returns GET /overview: TaskManagers, slots and job counts.
func (c *Client) Overview(ctx context.Context) (Overview, error) {
	var o Overview
	return o, c.get(ctx, "/overview", nil, &o)
}

// JobsOverview returns GET /jobs/overview: every job the JobManager knows,
// including finished ones it still keeps.
func (c *Client) JobsOverview(ctx context.Context) ([]JobOverview, error) {
	var body struct {
		Jobs []JobOverview `json:"jobs"`
	}
	return body.Jobs, c.get(ctx, "/jobs/overview", nil, &body)
}

// JobDetails returns GET /jobs/:jobid. An unknown job wraps ErrNotFound.
func (c *Client) JobDetails(ctx context.Context, jobID string) (JobDetails, error) {
	var d JobDetails
	return d, c.get(ctx, "/jobs/"+url.PathEscape(jobID), nil, &d)
}

// JobPlan returns GET /jobs/:jobid/plan.
func (c *Client) JobPlan(ctx context.Context, jobID string) (Plan, error) {
	var body struct {
		Plan Plan `json:"plan"`
	}
	return body.Plan, c.get(ctx, "/jobs/"+url.PathEscape(jobID)+"/plan", nil, &body)
}

// VertexDetails returns GET /jobs/:jobid/vertices/:vertexid.
func (c *Client) VertexDetails(ctx context.Context, jobID, vertexID string) (VertexDetails, error) {
	var d VertexDetails
	return d, c.get(ctx, vertexPath(jobID, vertexID), nil, &d)
}

// VertexMetrics returns GET /jobs/:jobid/vertices/:vertexid/metrics?get=ids.
// Ids carry the subtask prefix ("0.busyTimeMsPerSecond"). With no ids it
// lists the available ids without values. Missing ids are skipped silently;
// an unknown job or vertex answers an empty list.
func (c *Client) VertexMetrics(ctx context.Context, jobID, vertexID string, ids ...string) ([]MetricValue, error) {
	var out []MetricValue
	return out, c.get(ctx, vertexPath(jobID, vertexID)+"/metrics", getQuery(ids), &out)
}

// SubtaskMetricNames lists the subtask-scoped metric ids of a vertex (GET
// …/subtasks/metrics without get): the union over its subtasks.
func (c *Client) SubtaskMetricNames(ctx context.Context, jobID, vertexID string) ([]string, error) {
	var out []metricID
	if err := c.get(ctx, vertexPath(jobID, vertexID)+"/subtasks/metrics", nil, &out); err != nil {
		return nil, err
	}
	names := make([]string, len(out))
	for i, m := range out {
		names[i] = m.ID
	}
	return names, nil
}

// AggregatedSubtaskMetrics returns GET …/subtasks/metrics?get=ids&agg=aggs.
// Flink answers [] when ANY requested id has no value in any subtask, so
// request only ids that SubtaskMetricNames listed; see SubtaskMetrics for
// the helper that does this.
func (c *Client) AggregatedSubtaskMetrics(ctx context.Context, jobID, vertexID string, ids []string, aggs ...Agg) ([]AggregatedMetric, error) {
	q := getQuery(ids)
	if len(aggs) > 0 {
		parts := make([]string, len(aggs))
		for i, a := range aggs {
			parts[i] = string(a)
		}
		q.Set("agg", strings.Join(parts, ","))
	}
	var out []AggregatedMetric
	return out, c.get(ctx, vertexPath(jobID, vertexID)+"/subtasks/metrics", q, &out)
}

// JobMetrics returns GET /jobs/:jobid/metrics?get=ids (uptime, numRestarts,
// checkpoint counters …); with no ids it lists the available ids.
func (c *Client) JobMetrics(ctx context.Context, jobID string, ids ...string) ([]MetricValue, error) {
	var out []MetricValue
	return out, c.get(ctx, "/jobs/"+url.PathEscape(jobID)+"/metrics", getQuery(ids), &out)
}

// JobManagerMetrics returns GET /jobmanager/metrics?get=ids, e.g.
// taskSlotsTotal, taskSlotsAvailable, numRegisteredTaskManagers.
func (c *Client) JobManagerMetrics(ctx context.Context, ids ...string) ([]MetricValue, error) {
	var out []MetricValue
	return out, c.get(ctx, "/jobmanager/metrics", getQuery(ids), &out)
}

// TaskManagers returns GET /taskmanagers.
func (c *Client) TaskManagers(ctx context.Context) ([]TaskManager, error) {
	var body struct {
		TaskManagers []TaskManager `json:"taskmanagers"`
	}
	return body.TaskManagers, c.get(ctx, "/taskmanagers", nil, &body)
}

// requirement is the wire shape of one vertex in resource-requirements.
type requirement struct {
	Parallelism Bounds `json:"parallelism"`
}

// GetResourceRequirements returns GET /jobs/:jobid/resource-requirements:
// vertex id → bounds. A job not on the adaptive scheduler answers 500
// (ErrServer; IsReactiveOrDefaultScheduler tells).
func (c *Client) GetResourceRequirements(ctx context.Context, jobID string) (map[string]Bounds, error) {
	var body map[string]requirement
	if err := c.get(ctx, requirementsPath(jobID), nil, &body); err != nil {
		return nil, err
	}
	out := make(map[string]Bounds, len(body))
	for id, r := range body {
		out[id] = r.Parallelism
	}
	return out, nil
}

// PutResourceRequirements sends PUT /jobs/:jobid/resource-requirements. req
// must hold every vertex of the job and nothing else. Validation failures
// wrap ErrBadRequest, a concurrent update ErrConflict, a non-adaptive or
// reactive job ErrServer (see IsReactiveOrDefaultScheduler).
func (c *Client) PutResourceRequirements(ctx context.Context, jobID string, req map[string]Bounds) error {
	if len(req) == 0 {
		return fmt.Errorf("%w: PUT %s: no vertices", ErrBadRequest, requirementsPath(jobID))
	}
	body := make(map[string]requirement, len(req))
	for id, b := range req {
		body[id] = requirement{Parallelism: b}
	}
	raw, err := json.Marshal(body)
	if err != nil {
		return fmt.Errorf("encode requirements: %w", err)
	}
	return c.do(ctx, "PUT", requirementsPath(jobID), nil, raw, nil)
}

// TriggerCheckpoint sends POST /jobs/:jobid/checkpoints (Flink 1.19+):
// a checkpoint of the configured type now, besides the periodic ones. It
// returns the request's id; the checkpoint itself completes (or fails)
// later, as Checkpoints shows. A Flink without the endpoint answers 404
// or 405 (ErrNotFound or ErrServer).
func (c *Client) TriggerCheckpoint(ctx context.Context, jobID string) (string, error) {
	var out struct {
		RequestID string `json:"request-id"`
	}
	err := c.do(ctx, "POST", "/jobs/"+url.PathEscape(jobID)+"/checkpoints", nil, []byte(`{"checkpointType":"CONFIGURED"}`), &out)
	return out.RequestID, err
}

// Checkpoints returns GET /jobs/:jobid/checkpoints.
func (c *Client) Checkpoints(ctx context.Context, jobID string) (Checkpoints, error) {
	var cp Checkpoints
	return cp, c.get(ctx, "/jobs/"+url.PathEscape(jobID)+"/checkpoints", nil, &cp)
}

// LatestCheckpoints returns the "latest" part of GET /jobs/:jobid/checkpoints
// (the newest completed, savepoint, failed and restored checkpoints) without
// decoding the counts, summary and history: a cheaper Checkpoints(…).Latest.
func (c *Client) LatestCheckpoints(ctx context.Context, jobID string) (LatestCheckpoints, error) {
	var body latestOnly
	return body.Latest, c.get(ctx, "/jobs/"+url.PathEscape(jobID)+"/checkpoints", nil, &body)
}

// CheckpointConfig returns GET /jobs/:jobid/checkpoints/config.
func (c *Client) CheckpointConfig(ctx context.Context, jobID string) (CheckpointConfig, error) {
	var cc CheckpointConfig
	return cc, c.get(ctx, "/jobs/"+url.PathEscape(jobID)+"/checkpoints/config", nil, &cc)
}

// JobConfig returns GET /jobs/:jobid/config.
func (c *Client) JobConfig(ctx context.Context, jobID string) (JobConfig, error) {
	var jc JobConfig
	return jc, c.get(ctx, "/jobs/"+url.PathEscape(jobID)+"/config", nil, &jc)
}

// DashboardConfig returns GET /config (version, refresh interval, features).
func (c *Client) DashboardConfig(ctx context.Context) (DashboardConfig, error) {
	var dc DashboardConfig
	return dc, c.get(ctx, "/config", nil, &dc)
}

// ClusterConfig returns GET /jobmanager/config as key → value.
func (c *Client) ClusterConfig(ctx context.Context) (map[string]string, error) {
	return c.config(ctx, "/jobmanager/config")
}

// JobManagerConfig returns GET /jobs/:jobid/jobmanager/config as key →
// value: the configuration the job's JobManager runs with (only keys set
// explicitly; Flink's defaults are absent).
func (c *Client) JobManagerConfig(ctx context.Context, jobID string) (map[string]string, error) {
	return c.config(ctx, "/jobs/"+url.PathEscape(jobID)+"/jobmanager/config")
}

func (c *Client) config(ctx context.Context, path string) (map[string]string, error) {
	var entries []ConfigEntry
	if err := c.get(ctx, path, nil, &entries); err != nil {
		return nil, err
	}
	out := make(map[string]string, len(entries))
	for _, e := range entries {
		out[e.Key] = e.Value
	}
	return out, nil
}

func vertexPath(jobID, vertexID string) string {
	return "/jobs/" + url.PathEscape(jobID) + "/vertices/" + url.PathEscape(vertexID)
}

func requirementsPath(jobID string) string {
	return "/jobs/" + url.PathEscape(jobID) + "/resource-requirements"
}

func getQuery(ids []string) url.Values {
	q := url.Values{}
	if len(ids) > 0 {
		q.Set("get", strings.Join(ids, ","))
	}
	return q
}
