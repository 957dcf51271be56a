package flinksim

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"gopkg.in/yaml.v3"
)

func startREST(t *testing.T, sc *Scenario) (*Cluster, string) {
	t.Helper()
	c := New(sc, Options{})
	srv := httptest.NewServer(c.Handler())
	t.Cleanup(srv.Close)
	return c, srv.URL
}

func call(t *testing.T, method, url, body string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	data, err := io.ReadAll(resp.Body)
	require.NoError(t, err)
	require.Equal(t, "application/json; charset=UTF-8", resp.Header.Get("Content-Type"))
	return resp.StatusCode, data
}

func getJSON(t *testing.T, url string, want int) any {
	t.Helper()
	status, data := call(t, http.MethodGet, url, "")
	require.Equal(t, want, status, string(data))
	var v any
	require.NoError(t, json.Unmarshal(data, &v))
	return v
}

func TestRESTStatusAndErrors(t *testing.T) {
	c, base := startREST(t, pipeline(t, 1500, ""))
	job := c.JobID()
	vid := c.VertexIDs()[1]
	cases := []struct {
		name, path string
		status     int
		errText    string // in errors[0]; "" = success
	}{
		{"overview", "/overview", 200, ""},
		{"v1 prefix", "/v1/jobs/" + job, 200, ""},
		{"unknown route", "/nope", 404, "Not found: /nope"},
		{"unknown job", "/jobs/0123456789abcdef0123456789abcdef", 404, "NotFoundException: Job 0123456789abcdef0123456789abcdef not found"},
		{"bad job id", "/jobs/xyz", 400, "Bad request"},
		{"unknown vertex", "/jobs/" + job + "/vertices/0123456789abcdef0123456789abcdef", 404, "not found"},
		{"bad agg", "/jobs/" + job + "/vertices/" + vid + "/subtasks/metrics?get=busyTimeMsPerSecond&agg=skew", 400, "agg"},
		{"unknown job metrics", "/jobs/0123456789abcdef0123456789abcdef/vertices/" + vid + "/metrics", 200, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			status, data := call(t, http.MethodGet, base+tc.path, "")
			require.Equal(t, tc.status, status, string(data))
			if tc.errText == "" {
				return
			}
			var body struct{ Errors []string }
			require.NoError(t, json.Unmarshal(data, &body))
			require.Len(t, body.Errors, 1)
			require.Contains(t, body.Errors[0], tc.errText)
		})
	}
}

func TestRESTJobDetailsFields(t *testing.T) {
	c, base := startREST(t, pipeline(t, 1500, ""))
	c.Advance(2 * time.Minute)
	d := getJSON(t, base+"/jobs/"+c.JobID(), 200).(map[string]any)
	require.Equal(t, c.JobID(), d["jid"])
	require.Equal(t, "RUNNING", d["state"])
	require.Equal(t, -1.0, d["maxParallelism"])
	require.Equal(t, -1.0, d["end-time"])
	require.Len(t, d["timestamps"], 11)
	require.Len(t, d["status-counts"], 10)
	vs := d["vertices"].([]any)
	require.Len(t, vs, 3)
	v := vs[1].(map[string]any)
	require.Regexp(t, "^[0-9a-f]{32}$", v["id"])
	require.Equal(t, "map", v["name"])
	require.Equal(t, 2.0, v["parallelism"])
	require.Equal(t, 128.0, v["maxParallelism"])
	require.Equal(t, 2.0, v["tasks"].(map[string]any)["RUNNING"])
	m := v["metrics"].(map[string]any)
	require.Greater(t, m["read-records"], 0.0)
	require.Equal(t, 0.0, vs[0].(map[string]any)["metrics"].(map[string]any)["read-records"], "a source task reads 0 records")
	nodes := d["plan"].(map[string]any)["nodes"].([]any)
	in := nodes[2].(map[string]any)["inputs"].([]any)[0].(map[string]any)
	require.Equal(t, "HASH", in["ship_strategy"])
	require.NotContains(t, nodes[0].(map[string]any), "inputs")
}

func TestRESTSubtaskMetrics(t *testing.T) {
	c, base := startREST(t, pipeline(t, 3000, ""))
	job, ids := c.JobID(), c.VertexIDs()
	url := base + "/jobs/" + job + "/vertices/" + ids[0] + "/subtasks/metrics"
	// Before the first 5 s update the busy time is NaN.
	got := getJSON(t, url+"?get=busyTimeMsPerSecond&agg=max", 200).([]any)
	require.Equal(t, "NaN", got[0].(map[string]any)["max"])

	c.Advance(2 * time.Minute)
	names := getJSON(t, url, 200).([]any)
	var list []string
	for _, n := range names {
		require.Len(t, n, 1)
		list = append(list, n.(map[string]any)["id"].(string))
	}
	require.Contains(t, list, "Source__in.pendingRecords")
	require.Contains(t, list, "busyTimeMsPerSecond")

	got = getJSON(t, url+"?get=backPressuredTimeMsPerSecond,Source__in.pendingRecords&agg=MAX,sum", 200).([]any)
	require.Len(t, got, 2)
	bp := got[0].(map[string]any)
	require.Equal(t, map[string]any{"id": "backPressuredTimeMsPerSecond", "max": 800.0, "sum": 800.0}, bp)
	require.Greater(t, got[1].(map[string]any)["sum"], 0.0)

	// All or nothing: one unknown metric empties the answer.
	require.Empty(t, getJSON(t, url+"?get=busyTimeMsPerSecond,noSuchMetric", 200))
	// Non-numeric metrics are dropped silently.
	require.Empty(t, getJSON(t, url+"?get=isBackPressured", 200))

	vm := getJSON(t, base+"/jobs/"+job+"/vertices/"+ids[1]+"/metrics?get=0.busyTimeMsPerSecond,1.idleTimeMsPerSecond,0.nope", 200).([]any)
	require.Equal(t, []any{
		map[string]any{"id": "0.busyTimeMsPerSecond", "value": "1000.0"},
		map[string]any{"id": "1.idleTimeMsPerSecond", "value": "0"},
	}, vm)
}

func TestRESTMetricsRefreshOnFetchInterval(t *testing.T) {
	c, base := startREST(t, pipeline(t, 1500, ""))
	url := base + "/jobs/" + c.JobID() + "/vertices/" + c.VertexIDs()[1] + "/subtasks/metrics?get=numRecordsIn&agg=sum"
	c.Advance(30 * time.Second)
	first := getJSON(t, url, 200)
	c.Advance(9 * time.Second)
	require.Equal(t, first, getJSON(t, url, 200), "within the 10 s fetch interval")
	c.Advance(time.Second)
	require.NotEqual(t, first, getJSON(t, url, 200))
}

func TestRESTResourceRequirementsRescale(t *testing.T) {
	c, base := startREST(t, pipeline(t, 1500, ""))
	job, ids := c.JobID(), c.VertexIDs()
	url := base + "/jobs/" + job + "/resource-requirements"
	c.Advance(10 * time.Second)
	got := getJSON(t, url, 200).(map[string]any)
	require.Equal(t, map[string]any{"parallelism": map[string]any{"lowerBound": 1.0, "upperBound": 2.0}}, got[ids[1]])
	runningBefore := getJSON(t, base+"/jobs/"+job, 200).(map[string]any)["timestamps"].(map[string]any)["RUNNING"]

	body := `{"` + ids[0] + `":{"parallelism":{"lowerBound":1,"upperBound":1}},"` + ids[1] + `":{"parallelism":{"lowerBound":1,"upperBound":1}},"` + ids[2] + `":{"parallelism":{"lowerBound":1,"upperBound":1}}}`
	status, data := call(t, http.MethodPut, url, body)
	require.Equal(t, 200, status)
	require.Equal(t, "{}", string(data))

	status, data = call(t, http.MethodPut, url, `{"`+ids[0]+`":{"parallelism":{"lowerBound":1,"upperBound":1}}}`)
	require.Equal(t, 400, status)
	require.Contains(t, string(data), "The request is incomplete, missing job vertex")
	status, _ = call(t, http.MethodPut, url, `not json`)
	require.Equal(t, 400, status)

	c.Advance(5 * time.Second) // past the 3 s view cache
	d := getJSON(t, base+"/jobs/"+job, 200).(map[string]any)
	require.Equal(t, "CREATED", d["state"])
	require.Equal(t, 0.0, d["vertices"].([]any)[1].(map[string]any)["tasks"].(map[string]any)["RUNNING"])
	c.Advance(30 * time.Second)
	d = getJSON(t, base+"/jobs/"+job, 200).(map[string]any)
	require.Equal(t, "RUNNING", d["state"])
	require.Equal(t, 1.0, d["vertices"].([]any)[1].(map[string]any)["parallelism"])
	require.Greater(t, d["timestamps"].(map[string]any)["RUNNING"], runningBefore)
	vd := getJSON(t, base+"/jobs/"+job+"/vertices/"+ids[1], 200).(map[string]any)
	require.Equal(t, 1.0, vd["subtasks"].([]any)[0].(map[string]any)["attempt"])
	ck := getJSON(t, base+"/jobs/"+job+"/checkpoints", 200).(map[string]any)
	require.Equal(t, 1.0, ck["counts"].(map[string]any)["restored"])
}

func TestRESTReactivePutIs500(t *testing.T) {
	c, base := startREST(t, pipeline(t, 1500, "  scaling: reactive"))
	body, err := json.Marshal(c.Requirements())
	require.NoError(t, err)
	var wire map[string]Bounds
	require.NoError(t, json.Unmarshal(body, &wire))
	req := map[string]requirementBody{}
	for id, b := range wire {
		req[id] = requirementBody{Parallelism: b}
	}
	body, err = json.Marshal(req)
	require.NoError(t, err)
	status, data := call(t, http.MethodPut, base+"/jobs/"+c.JobID()+"/resource-requirements", string(body))
	require.Equal(t, 500, status)
	require.Contains(t, string(data), "Cannot change the parallelism of a job running in reactive mode.")
}

func TestControlTaskManagers(t *testing.T) {
	c, base := startREST(t, pipeline(t, 1500, ""))
	status, data := call(t, http.MethodPut, base+ControlPrefix+"taskmanagers", `{"replicas":3}`)
	require.Equal(t, 200, status, string(data))
	require.JSONEq(t, `{"replicas":3,"registered":2,"slotsPerTaskManager":1,"maxTaskManagers":8}`, string(data))
	c.Advance(21 * time.Second)
	ov := getJSON(t, base+"/overview", 200).(map[string]any)
	require.Equal(t, 3.0, ov["taskmanagers"])
	status, _ = call(t, http.MethodPut, base+ControlPrefix+"taskmanagers", `{"replicas":-1}`)
	require.Equal(t, 400, status)
}

// TestRESTMatchesOpenAPI checks the views against the upstream spec's
// schemas: every field served is in the spec, and every spec field is served
// except those of later Flink versions and the wire differences the
// reference lists (§2.2, §4).
func TestRESTMatchesOpenAPI(t *testing.T) {
	raw, err := os.ReadFile("/work/shared/reference/flink-rest-openapi.yml")
	if err != nil {
		t.Skip("shared reference spec not available:", err)
	}
	var spec struct {
		Components struct{ Schemas map[string]any } `yaml:"components"`
	}
	require.NoError(t, yaml.Unmarshal(raw, &spec))
	c, base := startREST(t, pipeline(t, 1500, ""))
	c.Advance(2 * time.Minute)
	job, vid := c.JobID(), c.VertexIDs()[1]
	later := map[string]bool{ // not in Flink 1.18
		"job-type": true, "jobType": true, "pending-operators": true, "schedulerType": true,
		"application-id": true, "slotSharingGroupId": true, "slotSharingGroupName": true,
		"stream-graph": true, "endpoint": true, "other-concurrent-attempts": true, "assignedTasks": true,
		"skew": true, "caching": true, "local_strategy": true, "failure_message": true, "failure_timestamp": true,
		"inputs": true, // 1.18 omits a source node's inputs (reference §5.4)
	}
	cases := []struct{ path, schema string }{
		{"/overview", "ClusterOverviewWithVersion"},
		{"/config", "DashboardConfiguration"},
		{"/jobs/overview", "MultipleJobsDetails"},
		{"/jobs/" + job, "JobDetailsInfo"},
		{"/jobs/" + job + "/plan", "JobPlanInfo"},
		{"/jobs/" + job + "/vertices/" + vid, "JobVertexDetailsInfo"},
		{"/taskmanagers", "TaskManagersInfo"},
		{"/jobs/" + job + "/checkpoints", "CheckpointingStatistics"},
		{"/jobs/" + job + "/checkpoints/config", "CheckpointConfigInfo"},
	}
	for _, tc := range cases {
		t.Run(tc.schema, func(t *testing.T) {
			v := getJSON(t, base+tc.path, 200)
			// host: 1.18's subtask location; external_path and discarded: the
			// history's completed entries (the spec's subtype of
			// CheckpointStatistics by className).
			extra := map[string]bool{"host": true, "external_path": true, "discarded": true}
			sch := openAPIChecker{schemas: spec.Components.Schemas, later: later, extra: extra}
			sch.check(t, tc.schema, sch.schemas[tc.schema], v)
		})
	}
}

type openAPIChecker struct {
	schemas map[string]any
	later   map[string]bool // spec fields Flink 1.18 does not send
	extra   map[string]bool // fields 1.18 sends that the newer spec dropped
}

// resolve follows $ref and merges allOf into one properties map.
func (o openAPIChecker) resolve(node any) (map[string]any, map[string]any) {
	m, _ := node.(map[string]any)
	if ref, ok := m["$ref"].(string); ok {
		return o.resolve(o.schemas[strings.TrimPrefix(ref, "#/components/schemas/")])
	}
	props := map[string]any{}
	for _, part := range asList(m["allOf"]) {
		_, p := o.resolve(part)
		for k, v := range p {
			props[k] = v
		}
	}
	if p, ok := m["properties"].(map[string]any); ok {
		for k, v := range p {
			props[k] = v
		}
	}
	return m, props
}

func asList(v any) []any {
	l, _ := v.([]any)
	return l
}

func (o openAPIChecker) check(t *testing.T, path string, node, value any) {
	t.Helper()
	m, props := o.resolve(node)
	switch val := value.(type) {
	case map[string]any:
		if len(props) == 0 {
			return // free-form map (additionalProperties)
		}
		for k, sub := range val {
			if _, ok := props[k]; !ok {
				require.True(t, o.extra[k], "%s.%s is served but not in the spec", path, k)
				continue
			}
			o.check(t, path+"."+k, props[k], sub)
		}
		for k := range props {
			if _, ok := val[k]; !ok && !o.later[k] {
				require.Failf(t, "missing field", "%s.%s is in the spec but not served", path, k)
			}
		}
	case []any:
		for i, item := range val {
			if items, ok := m["items"]; ok {
				o.check(t, path+"["+itoa(i)+"]", items, item)
			}
		}
	case float64:
		if typ, ok := m["type"].(string); ok {
			require.Contains(t, []string{"integer", "number"}, typ, "%s is a number, spec says %s", path, typ)
		}
	case string:
		if typ, ok := m["type"].(string); ok && typ != "string" {
			require.Equal(t, "number", typ, "%s is a string, spec says %s", path, typ) // "NaN"
		}
	case bool:
		if typ, ok := m["type"].(string); ok {
			require.Equal(t, "boolean", typ, path)
		}
	}
}

// POST /jobs/:jobid/checkpoints (Flink 1.19+) answers 202 with the
// request's id and takes a checkpoint at the next step; the periodic
// schedule stays. Flink 1.18 has no such endpoint.
func TestTriggerCheckpoint(t *testing.T) {
	c, base := startREST(t, pipeline(t, 1500, "  flinkVersion: \"2.0\""))
	c.Advance(5 * time.Second)
	_, ok := c.LatestCheckpoint()
	require.False(t, ok)
	status, data := call(t, http.MethodPost, base+"/jobs/"+c.JobID()+"/checkpoints", `{"checkpointType":"CONFIGURED"}`)
	require.Equal(t, http.StatusAccepted, status, string(data))
	require.Regexp(t, `^\{"request-id":"[0-9a-f]{32}"\}$`, string(data))
	c.Advance(time.Second)
	at, ok := c.LatestCheckpoint()
	require.True(t, ok, "the requested checkpoint completed")
	require.Less(t, at, 7*time.Second)
	c.Advance(time.Minute)
	at, _ = c.LatestCheckpoint()
	require.Equal(t, time.Minute, at.Round(time.Second), "the periodic one came on its schedule")

	status, _ = call(t, http.MethodPost, base+"/jobs/"+strings.Repeat("ab", 16)+"/checkpoints", `{}`)
	require.Equal(t, http.StatusNotFound, status)
	_, base118 := startREST(t, pipeline(t, 1500, ""))
	status, _ = call(t, http.MethodPost, base118+"/jobs/"+c.JobID()+"/checkpoints", `{}`)
	require.Equal(t, http.StatusNotFound, status, "Flink 1.18 has no trigger endpoint")
}
