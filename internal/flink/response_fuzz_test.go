package flink

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"testing"
)

// bodyTransport answers every request with one status and body, so the
// fuzzer exercises decoding without a network.
type bodyTransport struct {
	status int
	body   []byte
}

func (b bodyTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	return &http.Response{
		StatusCode: b.status, Header: http.Header{"Content-Type": {"application/json"}},
		Body: io.NopCloser(bytes.NewReader(b.body)), Request: r,
	}, nil
}

// FuzzResponses answers every client method with an arbitrary body (and
// status 200 or an error status): each returns a value or an error, never
// panics. Seeds live in testdata/fuzz/FuzzResponses.
func FuzzResponses(f *testing.F) {
	f.Add(false, []byte(`{"jobs":[{"jid":"0123456789abcdef0123456789abcdef","name":"j","state":"RUNNING"}]}`))
	f.Add(true, []byte(`{"errors":["Job could not be found."]}`))
	f.Add(false, []byte(`[{"id":"busyTimeMsPerSecond","min":"NaN","max":"Infinity","avg":1,"sum":-0}]`))
	f.Fuzz(func(t *testing.T, failing bool, body []byte) {
		status := http.StatusOK
		if failing {
			status = http.StatusInternalServerError
		}
		c, err := New("http://jm:8081", Options{Transport: bodyTransport{status: status, body: body}})
		if err != nil {
			t.Fatal(err)
		}
		callAll(context.Background(), c)
	})
}

// callAll calls every read method of c once and PutResourceRequirements.
func callAll(ctx context.Context, c *Client) {
	const job, vertex = "0123456789abcdef0123456789abcdef", "fedcba9876543210fedcba9876543210"
	_, _ = c.Overview(ctx)
	_, _ = c.JobsOverview(ctx)
	_, _ = c.JobDetails(ctx, job)
	_, _ = c.JobPlan(ctx, job)
	_, _ = c.JobConfig(ctx, job)
	_, _ = c.VertexDetails(ctx, job, vertex)
	_, _ = c.TaskManagers(ctx)
	_, _ = c.Checkpoints(ctx, job)
	_, _ = c.LatestCheckpoints(ctx, job)
	_, _ = c.CheckpointConfig(ctx, job)
	_, _ = c.ClusterConfig(ctx)
	_, _ = c.DashboardConfig(ctx)
	_, _ = c.GetResourceRequirements(ctx, job)
	_, _ = c.JobMetrics(ctx, job, "numRestarts")
	_, _ = c.JobManagerMetrics(ctx, "taskSlotsTotal")
	_, _ = c.VertexMetrics(ctx, job, vertex, "0.numRecordsIn")
	_, _ = c.SubtaskMetricNames(ctx, job, vertex)
	_, _ = c.AggregatedSubtaskMetrics(ctx, job, vertex, []string{"busyTimeMsPerSecond"}, AggAvg, AggMax)
	_, _, _ = c.SubtaskMetrics(ctx, job, vertex, func(string) bool { return true })
	_ = c.PutResourceRequirements(ctx, job, map[string]Bounds{vertex: {Lower: 1, Upper: 2}})
}
