package ingest

import (
	"bytes"
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/function"
	"github.com/prometheus/client_golang/prometheus/testutil"
	"github.com/stretchr/testify/require"
)

// capture is a SnapshotPublisher that keeps what it is given.
type capture struct {
	mu    sync.Mutex
	snaps []events.Snapshot
	fail  error
}

func (c *capture) PublishSnapshot(_ context.Context, s events.Snapshot) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.fail != nil {
		return c.fail
	}
	c.snaps = append(c.snaps, s)
	return nil
}

func (c *capture) take() []events.Snapshot {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := c.snaps
	c.snaps = nil
	return out
}

func testConfig(url string) Config {
	cfg := DefaultConfig()
	cfg.Interval = 2 * time.Second
	cfg.RequestTimeout = 200 * time.Millisecond
	cfg.Backoff = 10 * time.Millisecond
	cfg.Targets = []Target{{Cluster: "c1", URL: url}}
	return cfg
}

// slowMachineConfig is testConfig for a test that runs a whole cycle and
// checks what it did: the interval (the cycle's bound) and the request
// timeout are far above what a local test server takes, so that a loaded
// machine under the race detector cuts nothing short that the test does not
// mean to.
func slowMachineConfig(url string) Config {
	cfg := testConfig(url)
	cfg.Interval, cfg.RequestTimeout = 20*time.Second, 5*time.Second
	return cfg
}

func newTestService(t *testing.T, cfg Config, pub SnapshotPublisher) (*Service, *Telemetry) {
	t.Helper()
	tel := NewTelemetry(cfg.Interval)
	svc, err := NewService(cfg, Deps{Publisher: pub, Telemetry: tel, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
	require.NoError(t, err)
	return svc, tel
}

func TestJobLifecycle(t *testing.T) {
	jm := newTestJobManager(t, healthyJob("a"), &testJob{id: "b", name: "waiting", state: "CREATED"})
	pub := &capture{}
	svc, _ := newTestService(t, testConfig(jm.srv.URL), pub)
	ctx := context.Background()

	rep := svc.Cycle(ctx)
	require.Equal(t, CycleReport{Polled: 1, Published: 1}, rep, "only the running job")
	snaps := pub.take()
	require.Len(t, snaps, 1)
	s := snaps[0]
	require.True(t, s.Complete, "incomplete: %v", s.Incomplete)
	require.Equal(t, "c1", s.Cluster)
	require.Equal(t, 3, s.TaskManagers)
	require.Equal(t, []string{"a-src", "a-sink"}, []string{s.Vertices[0].ID, s.Vertices[1].ID})
	require.InDelta(t, 2000.0, *s.Vertices[1].RecordsInPerSecond, 1e-9, "sum over 2 subtasks")
	require.Equal(t, 600.0, s.Vertices[0].BusyMsPerSecond.Max)

	jm.set(func(j map[string]*testJob) { j["a"].state = "RESTARTING" })
	svc.Cycle(ctx)
	snaps = pub.take()
	require.Len(t, snaps, 1)
	require.Equal(t, "RESTARTING", snaps[0].JobState)
	require.False(t, snaps[0].Complete)

	jm.set(func(j map[string]*testJob) { j["a"].state = "CANCELED" })
	svc.Cycle(ctx)
	snaps = pub.take()
	require.Len(t, snaps, 1, "one final snapshot")
	require.Equal(t, "CANCELED", snaps[0].JobState)

	svc.Cycle(ctx)
	require.Empty(t, pub.take(), "then dropped")
}

func TestMetricsAnsweringEmptyMarkIncomplete(t *testing.T) {
	j := healthyJob("a")
	j.metrics["busyTimeMsPerSecond"] = "NaN"
	delete(j.metrics, "numRecordsOutPerSecond")
	jm := newTestJobManager(t, j)
	pub := &capture{}
	svc, tel := newTestService(t, testConfig(jm.srv.URL), pub)
	require.Equal(t, 1, svc.Cycle(context.Background()).Incomplete)
	s := pub.take()[0]
	require.False(t, s.Complete)
	require.Nil(t, s.Vertices[0].BusyMsPerSecond)
	require.Nil(t, s.Vertices[0].RecordsOutPerSecond)
	require.NotNil(t, s.Vertices[0].IdleMsPerSecond, "other metrics survive")
	require.Contains(t, s.Vertices[0].Incomplete, "busyMsPerSecond")
	require.Equal(t, 1.0, testutil.ToFloat64(tel.polls.WithLabelValues("c1", "incomplete")))
}

// faultProxy sits between ingest and a JobManager and misbehaves on paths
// containing match: it answers status, waits delay, or sends garbage, for
// the next n requests.
type faultProxy struct {
	srv     *httptest.Server
	match   string
	n       atomic.Int32
	mode    string // "status", "delay", "garbage"
	status  int
	delay   time.Duration
	faulted atomic.Int32
}

func newFaultProxy(t *testing.T, upstream string) *faultProxy {
	t.Helper()
	u, err := url.Parse(upstream)
	require.NoError(t, err)
	rp := httputil.NewSingleHostReverseProxy(u)
	p := &faultProxy{}
	p.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !strings.Contains(r.URL.Path, p.match) || p.n.Add(-1) < 0 {
			rp.ServeHTTP(w, r)
			return
		}
		p.faulted.Add(1)
		switch p.mode {
		case "status":
			writeJSON(w, p.status, map[string]any{"errors": []string{"Internal server error."}})
		case "delay":
			select {
			case <-time.After(p.delay):
			case <-r.Context().Done():
			}
			rp.ServeHTTP(w, r)
		case "garbage":
			_, _ = io.WriteString(w, `{"jid": [`)
		}
	}))
	t.Cleanup(p.srv.Close)
	return p
}

func TestFaults(t *testing.T) {
	tests := []struct {
		name, match, mode string
		status, n         int
		delay             time.Duration
		outcome, kind     string
		complete          bool
	}{
		{name: "one 500 is retried", match: "/jobs/a", mode: "status", status: 500, n: 1, outcome: "ok", kind: "server", complete: true},
		{name: "500s past the attempts give up", match: "/jobs/a", mode: "status", status: 500, n: 100, outcome: "failed", kind: "server"},
		{name: "503 on listing skips the cluster", match: "/jobs/overview", mode: "status", status: 503, n: 100, kind: "server"},
		{name: "slow answers time out and are retried", match: "/jobs/a", mode: "delay", delay: time.Minute, n: 1, outcome: "ok", kind: "unreachable", complete: true},
		{name: "malformed JSON", match: "/jobs/a", mode: "garbage", n: 100, outcome: "failed", kind: "malformed"},
		{name: "metrics endpoint failing", match: "/subtasks/metrics", mode: "status", status: 500, n: 100, outcome: "incomplete", kind: "server"},
		{name: "404 for a job that just ended", match: "/jobs/a", mode: "status", status: 404, n: 100, outcome: "failed", kind: "not_found"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			jm := newTestJobManager(t, healthyJob("a"))
			p := newFaultProxy(t, jm.srv.URL)
			p.match, p.mode, p.status, p.delay = tt.match, tt.mode, tt.status, tt.delay
			p.n.Store(int32(tt.n))
			pub := &capture{}
			cfg := slowMachineConfig(p.srv.URL)
			svc, tel := newTestService(t, cfg, pub)
			start := time.Now()
			svc.Cycle(context.Background())
			require.Less(t, time.Since(start), cfg.Interval, "bounded by the interval")
			require.Positive(t, testutil.ToFloat64(tel.errors.WithLabelValues("c1", tt.kind)))
			snaps := pub.take()
			if tt.outcome == "" || tt.outcome == "failed" {
				require.Empty(t, snaps, "no snapshot that invents numbers")
				if tt.outcome == "failed" {
					require.Equal(t, 1.0, testutil.ToFloat64(tel.polls.WithLabelValues("c1", "failed")))
				}
				return
			}
			require.Len(t, snaps, 1)
			require.Equal(t, tt.complete, snaps[0].Complete)
			if !tt.complete {
				for _, v := range snaps[0].Vertices {
					require.Nil(t, v.BusyMsPerSecond)
				}
			}
		})
	}
}

func TestUnreachableJobManagerNeverCrashes(t *testing.T) {
	dead := httptest.NewServer(http.NotFoundHandler())
	url := dead.URL
	dead.Close()
	pub := &capture{}
	svc, tel := newTestService(t, testConfig(url), pub)
	require.Equal(t, CycleReport{}, svc.Cycle(context.Background()))
	require.Equal(t, 3.0, testutil.ToFloat64(tel.errors.WithLabelValues("c1", "unreachable")), "bounded tries")
}

// A URL that answers HTTP but not as Flink's REST API (a web server's 404)
// gives one Error asking whether it is a JobManager, not a warning per
// interval; /healthz fails meanwhile.
func TestNotAJobManagerSaysSoOnce(t *testing.T) {
	web := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "<!DOCTYPE HTML><html>not here</html>", http.StatusNotFound)
	}))
	t.Cleanup(web.Close)
	var logs bytes.Buffer
	cfg := testConfig(web.URL)
	svc, err := NewService(cfg, Deps{Publisher: &capture{}, Logger: slog.New(slog.NewTextHandler(&logs, nil))})
	require.NoError(t, err)
	for range 3 {
		svc.Cycle(context.Background())
	}
	require.Equal(t, 1, strings.Count(logs.String(), "is this the URL of a Flink JobManager"), logs.String())
	require.Equal(t, 1, strings.Count(logs.String(), "level="), "one line for three failed cycles: %s", logs.String())
	require.ErrorContains(t, svc.tel.Ready(), "no Flink target can be polled (0 of 1 answered)")
}

func TestReplicasSplitJobsAndTakeOver(t *testing.T) {
	var jobs []*testJob
	for i := range 20 {
		jobs = append(jobs, healthyJob(string(rune('a'+i))))
	}
	jm := newTestJobManager(t, jobs...)
	polled := func(replica string, members StaticMembers) map[string]bool {
		cfg := slowMachineConfig(jm.srv.URL)
		cfg.Replica = replica
		pub := &capture{}
		svc, err := NewService(cfg, Deps{Publisher: pub, Members: members, Logger: slog.New(slog.NewTextHandler(io.Discard, nil))})
		require.NoError(t, err)
		svc.Cycle(context.Background())
		out := map[string]bool{}
		for _, s := range pub.take() {
			out[s.JobID] = true
		}
		return out
	}
	both := StaticMembers{"r1", "r2"}
	r1, r2 := polled("r1", both), polled("r2", both)
	require.NotEmpty(t, r1)
	require.NotEmpty(t, r2)
	require.Len(t, r1, 20-len(r2), "no job polled twice, none missed")
	for id := range r1 {
		require.False(t, r2[id])
	}
	require.Len(t, polled("r2", StaticMembers{"r2"}), 20, "r2 takes over r1's jobs")
}

// TestHealthzFailsWhenNoTargetCanBePolled: a JobManager that answers 404
// to everything (not Flink) makes ingest unhealthy and not ready, naming
// the target, while it stays alive (/livez: restarting would not help);
// once it answers, healthy again.
func TestHealthzFailsWhenNoTargetCanBePolled(t *testing.T) {
	var flinkUp atomic.Bool
	jm := newTestJobManager(t, healthyJob("a"))
	front := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if !flinkUp.Load() {
			http.NotFound(w, r)
			return
		}
		jm.srv.Config.Handler.ServeHTTP(w, r)
	}))
	t.Cleanup(front.Close)
	svc, tel := newTestService(t, testConfig(front.URL), &capture{})
	srv, err := function.Listen("127.0.0.1:0", tel.Registry(), function.Checks{Health: tel.Health, Live: tel.Liveness})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- srv.Run(ctx) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-done) })
	get := func(path string) (int, string) {
		resp, err := http.Get("http://" + srv.Addr() + path)
		require.NoError(t, err)
		body, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode, string(body)
	}
	svc.Cycle(context.Background())
	for _, path := range []string{"/healthz", "/readyz"} {
		code, body := get(path)
		require.Equal(t, http.StatusServiceUnavailable, code, path)
		require.Contains(t, body, "no Flink target can be polled (0 of 1 answered): c1:", path)
	}
	code, _ := get("/livez")
	require.Equal(t, http.StatusOK, code, "alive: restarting would not help")
	require.InDelta(t, 0, testutil.ToFloat64(tel.up.WithLabelValues("c1")), 0)

	flinkUp.Store(true)
	svc.Cycle(context.Background())
	for _, path := range []string{"/healthz", "/readyz", "/livez"} {
		code, _ = get(path)
		require.Equal(t, http.StatusOK, code, path)
	}
	require.InDelta(t, 1, testutil.ToFloat64(tel.up.WithLabelValues("c1")), 0)
}
