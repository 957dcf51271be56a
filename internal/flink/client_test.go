package flink

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"runtime"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// route is one canned answer of a recorded-wire server.
type route struct {
	status int
	body   string
}

// wireServer answers each "METHOD path?query" (or "METHOD path") with its
// route and 404 Not found otherwise, like Flink's router.
func wireServer(t *testing.T, routes map[string]route) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		key := r.Method + " " + r.URL.Path
		rt, ok := routes[key+"?"+r.URL.RawQuery]
		if !ok {
			rt, ok = routes[key]
		}
		if !ok {
			rt = route{404, `{"errors":["Not found: ` + r.URL.Path + `"]}`}
		}
		w.Header().Set("Content-Type", "application/json; charset=UTF-8")
		w.WriteHeader(rt.status)
		_, _ = io.WriteString(w, rt.body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func testdata(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return string(b)
}

func newTestClient(t *testing.T, url string, opts Options) *Client {
	t.Helper()
	c, err := New(url, opts)
	require.NoError(t, err)
	return c
}

const jobID = "5a8b3c0f2d1e4b7a9c6d5e4f3a2b1c0d"

func TestJobDetailsWireVariants(t *testing.T) {
	tests := []struct {
		file       string
		jobType    string
		ssg        string
		pendingOps bool
		scheduler  string
	}{
		{file: "job-1.18.json"},
		{file: "job-1.20.json", jobType: "STREAMING", ssg: "a1b2c3d4e5f60718293a4b5c6d7e8f90"},
		{file: "job-2.3.json", jobType: "STREAMING", ssg: "a1b2c3d4e5f60718293a4b5c6d7e8f90", pendingOps: true, scheduler: "Adaptive"},
	}
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			srv := wireServer(t, map[string]route{"GET /jobs/" + jobID: {200, testdata(t, tt.file)}})
			d, err := newTestClient(t, srv.URL, Options{}).JobDetails(context.Background(), jobID)
			require.NoError(t, err)
			require.Equal(t, StateRunning, d.State)
			require.Equal(t, tt.jobType, d.JobType)
			require.Equal(t, tt.pendingOps, d.PendingOperators != nil)
			require.Equal(t, tt.scheduler, d.SchedulerType)
			require.Len(t, d.Vertices, 2)
			require.Equal(t, 128, d.Vertices[0].MaxParallelism)
			require.Equal(t, tt.ssg, d.Vertices[0].SlotSharingGroupID)
			require.True(t, math.IsNaN(float64(d.Vertices[0].Metrics.AccumulatedBusyTime)))
			require.InDelta(t, 2688000.0, float64(d.Vertices[1].Metrics.AccumulatedBusyTime), 0)
			since, ok := d.RunningSince()
			require.True(t, ok)
			require.Equal(t, time.UnixMilli(1718000001200).UTC(), since)
			require.Len(t, d.Plan.Nodes, 2)
			require.Equal(t, "HASH", d.Plan.Nodes[0].Inputs[0].ShipStrategy)
			require.Empty(t, d.Plan.Nodes[1].Inputs)
		})
	}
}

func TestVertexDetailsSubtaskLocation(t *testing.T) {
	tests := []struct {
		file, host, endpoint, location string
		concurrent                     int
	}{
		{file: "vertex-1.18.json", host: "10.0.0.12", location: "10.0.0.12"},
		{file: "vertex-1.19.json", host: "10.0.0.12", endpoint: "10.0.0.12:6121", location: "10.0.0.12:6121"},
		{file: "vertex-2.0.json", endpoint: "10.0.0.12:6121", location: "10.0.0.12:6121", concurrent: 1},
	}
	const vid = "90bea66de1c231edf33913ecd54406c1"
	for _, tt := range tests {
		t.Run(tt.file, func(t *testing.T) {
			srv := wireServer(t, map[string]route{"GET /jobs/" + jobID + "/vertices/" + vid: {200, testdata(t, tt.file)}})
			d, err := newTestClient(t, srv.URL, Options{}).VertexDetails(context.Background(), jobID, vid)
			require.NoError(t, err)
			require.Len(t, d.Subtasks, 1)
			st := d.Subtasks[0]
			require.Equal(t, tt.host, st.Host)
			require.Equal(t, tt.endpoint, st.Endpoint)
			require.Equal(t, tt.location, st.Location())
			require.Equal(t, 3, st.Attempt)
			require.Len(t, st.OtherConcurrentAttempts, tt.concurrent)
			require.NotNil(t, d.Aggregated)
			require.InDelta(t, 22.0, float64(d.Aggregated.Metrics["read-records"].Sum), 0)
		})
	}
}

func TestFloatDecoding(t *testing.T) {
	tests := []struct {
		name, in string
		want     float64
		nan      bool
		err      bool
	}{
		{name: "number", in: `873.4`, want: 873.4},
		{name: "integer", in: `42`, want: 42},
		{name: "string number", in: `"877.0"`, want: 877},
		{name: "NaN string", in: `"NaN"`, nan: true},
		{name: "null", in: `null`, nan: true},
		{name: "Infinity", in: `"Infinity"`, want: math.Inf(1)},
		{name: "-Infinity", in: `"-Infinity"`, want: math.Inf(-1)},
		{name: "garbage", in: `"fast"`, err: true},
		{name: "bool", in: `true`, err: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var f Float
			err := json.Unmarshal([]byte(tt.in), &f)
			if tt.err {
				require.Error(t, err)
				return
			}
			require.NoError(t, err)
			if tt.nan {
				require.True(t, math.IsNaN(float64(f)))
				return
			}
			require.Equal(t, tt.want, float64(f))
			out, err := json.Marshal(f)
			require.NoError(t, err)
			var back Float
			require.NoError(t, json.Unmarshal(out, &back))
			require.Equal(t, f, back)
		})
	}
}

func TestStatusErrors(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
		want   error
		text   string
	}{
		{"unknown job", 404, `{"errors":["org.apache.flink.runtime.rest.NotFoundException: Job 5a8b not found\n\tat x"]}`, ErrNotFound, "Job 5a8b not found"},
		{"bad agg", 400, `{"errors":["Invalid aggregation: fast"]}`, ErrBadRequest, "Invalid aggregation"},
		{"conflict", 409, `{"errors":["Another update to the job [%s] resource requirements is in progress."]}`, ErrConflict, "in progress"},
		{"internal", 500, `{"errors":["Internal server error.","<Exception on server side:\nboom\nEnd of exception on server side>"]}`, ErrServer, "Internal server error."},
		{"no leader", 503, `{"errors":["Service temporarily unavailable due to an ongoing leader election. Please refresh."]}`, ErrServer, "leader election"},
		{"proxy auth", 401, `<html>denied</html>`, ErrUnauthorized, "denied"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := wireServer(t, map[string]route{"GET /overview": {tt.status, tt.body}})
			_, err := newTestClient(t, srv.URL, Options{}).Overview(context.Background())
			require.ErrorIs(t, err, tt.want)
			var se *StatusError
			require.ErrorAs(t, err, &se)
			require.Equal(t, tt.status, se.Status)
			require.True(t, se.Contains(tt.text))
			require.Contains(t, err.Error(), "GET "+srv.URL+"/overview: status")
		})
	}
}

func TestMalformedAndUnreachable(t *testing.T) {
	srv := wireServer(t, map[string]route{"GET /overview": {200, `{"taskmanagers": "two"`}})
	_, err := newTestClient(t, srv.URL, Options{}).Overview(context.Background())
	require.ErrorIs(t, err, ErrMalformed)
	require.True(t, Retryable(err))
	require.Equal(t, "malformed", ErrorKind(err))

	dead := httptest.NewServer(http.NotFoundHandler())
	url := dead.URL
	dead.Close()
	_, err = newTestClient(t, url, Options{}).Overview(context.Background())
	require.ErrorIs(t, err, ErrUnreachable)
	require.Equal(t, "unreachable", ErrorKind(err))
}

func TestTimeoutIsUnreachableButCancelIsNot(t *testing.T) {
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-release:
		case <-r.Context().Done():
		}
	}))
	t.Cleanup(srv.Close)
	t.Cleanup(func() { close(release) })
	c := newTestClient(t, srv.URL, Options{Timeout: 50 * time.Millisecond})
	_, err := c.Overview(context.Background())
	require.ErrorIs(t, err, ErrUnreachable)

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.Overview(ctx)
	require.ErrorIs(t, err, context.Canceled)
	require.NotErrorIs(t, err, ErrUnreachable)
}

func TestConcurrencyIsBounded(t *testing.T) {
	var inFlight, peak atomic.Int32
	release := make(chan struct{})
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		n := inFlight.Add(1)
		for {
			p := peak.Load()
			if n <= p || peak.CompareAndSwap(p, n) {
				break
			}
		}
		<-release
		inFlight.Add(-1)
		_, _ = io.WriteString(w, `{"taskmanagers":1}`)
	}))
	t.Cleanup(srv.Close)
	c := newTestClient(t, srv.URL, Options{MaxConcurrent: 3})
	var wg sync.WaitGroup
	errs := make(chan error, 10)
	for range 10 {
		wg.Go(func() {
			_, err := c.Overview(context.Background())
			errs <- err
		})
	}
	deadline := time.Now().Add(5 * time.Second)
	for inFlight.Load() < 3 && time.Now().Before(deadline) {
		runtime.Gosched()
	}
	close(release)
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	require.Equal(t, int32(3), peak.Load())
}

func TestResourceRequirementsRoundTrip(t *testing.T) {
	var mu sync.Mutex
	stored := `{"cbc357ccb763df2852fee8c4fc7d55f2":{"parallelism":{"lowerBound":1,"upperBound":2}}}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		defer mu.Unlock()
		if r.Method == http.MethodPut {
			b, _ := io.ReadAll(r.Body)
			stored = string(b)
			_, _ = io.WriteString(w, `{}`)
			return
		}
		_, _ = io.WriteString(w, stored)
	}))
	t.Cleanup(srv.Close)
	c := newTestClient(t, srv.URL, Options{})
	ctx := context.Background()
	got, err := c.GetResourceRequirements(ctx, jobID)
	require.NoError(t, err)
	require.Equal(t, map[string]Bounds{"cbc357ccb763df2852fee8c4fc7d55f2": {Lower: 1, Upper: 2}}, got)

	want := map[string]Bounds{"cbc357ccb763df2852fee8c4fc7d55f2": {Lower: 1, Upper: 6}, "90bea66de1c231edf33913ecd54406c1": {Lower: 3, Upper: 3}}
	require.NoError(t, c.PutResourceRequirements(ctx, jobID, want))
	require.JSONEq(t, `{"cbc357ccb763df2852fee8c4fc7d55f2":{"parallelism":{"lowerBound":1,"upperBound":6}},
		"90bea66de1c231edf33913ecd54406c1":{"parallelism":{"lowerBound":3,"upperBound":3}}}`, stored)
	got, err = c.GetResourceRequirements(ctx, jobID)
	require.NoError(t, err)
	require.Equal(t, want, got)
	require.ErrorIs(t, c.PutResourceRequirements(ctx, jobID, nil), ErrBadRequest)
}

func TestNonAdaptiveSchedulerIsRecognised(t *testing.T) {
	body := `{"errors":["Internal server error.","<Exception on server side:\njava.util.concurrent.CompletionException: java.lang.UnsupportedOperationException: The DefaultScheduler does not support changing the parallelism without a job restart.\n\tat x\nEnd of exception on server side>"]}`
	srv := wireServer(t, map[string]route{"GET /jobs/" + jobID + "/resource-requirements": {500, body}})
	_, err := newTestClient(t, srv.URL, Options{}).GetResourceRequirements(context.Background(), jobID)
	require.ErrorIs(t, err, ErrServer)
	require.True(t, IsReactiveOrDefaultScheduler(err))
	require.False(t, IsReactiveOrDefaultScheduler(errors.New("other")))
}

func TestNewRejectsBadConfig(t *testing.T) {
	tests := []struct {
		name string
		url  string
		opts Options
	}{
		{"no scheme", "jm:8081", Options{}},
		{"ftp", "ftp://jm:8081", Options{}},
		{"basic and bearer", "http://jm:8081", Options{Username: "u", BearerToken: "t"}},
		{"cert without key", "https://jm:8081", Options{CertFile: "c.pem"}},
		{"missing CA", "https://jm:8081", Options{CAFile: "/nonexistent/ca.pem"}},
		{"TLS with own transport", "https://jm:8081", Options{CAFile: "ca.pem", Transport: http.DefaultTransport}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := New(tt.url, tt.opts)
			require.ErrorIs(t, err, ErrConfig)
		})
	}
}

// checkpointsBody is a GET /jobs/:jobid/checkpoints answer in Flink's shape,
// with a completed, a failed and a restored checkpoint and some history.
const checkpointsBody = `{"counts":{"restored":1,"total":3,"in_progress":0,"completed":2,"failed":1},
"summary":{"state_size":{"min":0,"max":10,"avg":5,"p50":5.0,"p90":"NaN","p95":"NaN","p99":"NaN","p999":"NaN"}},
"latest":{"completed":{"className":"completed","id":12,"status":"COMPLETED","is_savepoint":false,"savepointFormat":null,
"trigger_timestamp":1704067800000,"latest_ack_timestamp":1704067801500,"checkpointed_size":10,"state_size":10,
"end_to_end_duration":1500,"num_subtasks":12,"num_acknowledged_subtasks":12,"checkpoint_type":"CHECKPOINT","tasks":{},
"external_path":"file:/chk-12","discarded":false},"savepoint":null,
"failed":{"className":"failed","id":11,"status":"FAILED","is_savepoint":false,"trigger_timestamp":1704067740000,
"latest_ack_timestamp":-1,"failure_timestamp":1704067750000,"failure_message":"Checkpoint expired before completing."},
"restored":{"id":10,"restore_timestamp":1704067700000,"is_savepoint":false,"external_path":"file:/chk-10"}},
"history":[{"className":"completed","id":12,"status":"COMPLETED","trigger_timestamp":1704067800000},
{"className":"failed","id":11,"status":"FAILED","trigger_timestamp":1704067740000}]}`

func TestLatestCheckpointsIsCheckpointsLatest(t *testing.T) {
	srv := wireServer(t, map[string]route{"GET /jobs/" + jobID + "/checkpoints": {200, checkpointsBody}})
	c := newTestClient(t, srv.URL, Options{})
	full, err := c.Checkpoints(context.Background(), jobID)
	require.NoError(t, err)
	latest, err := c.LatestCheckpoints(context.Background(), jobID)
	require.NoError(t, err)
	require.Equal(t, full.Latest, latest)
	require.Equal(t, int64(1704067801500), latest.Completed.LatestAckTimestamp)
	require.Equal(t, "Checkpoint expired before completing.", latest.Failed.FailureMessage)
	require.Equal(t, int64(10), latest.Restored.ID)
	require.Nil(t, latest.Savepoint)

	_, err = c.LatestCheckpoints(context.Background(), "00000000000000000000000000000000")
	require.ErrorIs(t, err, ErrNotFound)
}
