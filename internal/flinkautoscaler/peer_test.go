package flinkautoscaler

import (
	"context"
	"errors"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/flinksim"
	"github.com/flinkscaler/flinkscaler/internal/sandbox"
)

// overloaded is a two-vertex job offered twice what its map sustains, with
// TaskManagers to spare, so the autoscaler has a decision to make at once.
const overloaded = `
name: overloaded
duration: 10m
seed: 3
cluster: {scaling: adaptive, slotsPerTaskManager: 2, initialTaskManagers: 4, maxTaskManagers: 4, taskManagerStartup: 0s, restart: 2s}
job:
  name: overloaded
  vertices:
    - {name: "Source: in", parallelism: 1, maxParallelism: 128, capacity: 100000, partitions: 8}
    - {name: map, inputs: ["Source: in"], parallelism: 1, maxParallelism: 128, capacity: 2000}
load: {pattern: constant, rate: 4000}
`

// resolve returns the default release, skipping the test where Java or
// Maven is not installed; any other failure fails it.
func resolve(t *testing.T) *Artifact {
	t.Helper()
	if testing.Short() {
		t.Skip("starts a JVM")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	a, err := Resolve(ctx, DefaultVersion, nil)
	if errors.Is(err, ErrTooling) {
		t.Skipf("no Java tooling: %v", err)
	}
	require.NoError(t, err)
	return a
}

// fastOptions make a decision within seconds of simulated (= real) time.
var fastOptions = map[string]string{
	"job.autoscaler.enabled":                      "true",
	"autoscaler.standalone.control-loop.interval": "1s",
	"job.autoscaler.stabilization.interval":       "1s",
	"job.autoscaler.metrics.window":               "12s",
	"job.autoscaler.restart.time":                 "2s",
	"job.autoscaler.scale-down.interval":          "0",
}

// TestDecidesAgainstEmulator runs the real autoscaler against the emulator
// in real time: it reads everything it needs and rescales the overloaded
// vertex through PUT /jobs/:jobid/resource-requirements.
func TestDecidesAgainstEmulator(t *testing.T) {
	a := resolve(t)
	sc, err := flinksim.ParseScenario([]byte(overloaded), ".")
	require.NoError(t, err)
	c := flinksim.New(sc, flinksim.Options{Start: time.Now().UTC()})
	srv := httptest.NewServer(c.Handler())
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	go func() { _ = c.Run(ctx, 1, nil) }() // ends with ctx
	requireRescale(ctx, t, a, srv.URL, c.JobID(), c.VertexIDs()[1])
}

// TestDecidesAgainstSandbox runs the real autoscaler against real Flink
// (the sandbox's MiniCluster) running the same overloaded job.
func TestDecidesAgainstSandbox(t *testing.T) {
	a := resolve(t)
	path := filepath.Join(t.TempDir(), "overloaded.yaml")
	require.NoError(t, os.WriteFile(path, []byte(overloaded), 0o644))
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var jvm strings.Builder
	var jvmMu sync.Mutex
	s, err := sandbox.Start(ctx, sandbox.Config{Scenario: path,
		Log: writerFunc(func(b []byte) { jvmMu.Lock(); jvm.Write(b); jvmMu.Unlock() })})
	if errors.Is(err, sandbox.ErrMissingTool) {
		t.Skipf("no sandbox tooling: %v", err)
	}
	require.NoError(t, err)
	defer func() { _ = s.Stop(context.Background()) }()
	var mapID string
	gt, err := s.GroundTruth(ctx)
	require.NoError(t, err)
	for _, v := range gt.Vertices {
		if v.Name == "map" {
			mapID = v.ID
		}
	}
	require.NotEmpty(t, mapID)
	requireRescale(ctx, t, a, s.URL(), s.JobID(), mapID)
}

// requireRescale runs the autoscaler against the JobManager at url until
// its first rescale, which must raise vertex and be accepted.
func requireRescale(ctx context.Context, t *testing.T, a *Artifact, url, jobID, vertex string) {
	t.Helper()
	var log strings.Builder
	var mu sync.Mutex
	got := make(chan Rescale, 8)
	var collects, reports atomic.Int64
	p, err := Start(ctx, Config{
		Artifact: a, JobManager: url, Options: fastOptions,
		Log:       writerFunc(func(b []byte) { mu.Lock(); log.Write(b); mu.Unlock() }),
		OnRescale: func(r Rescale) { got <- r },
		OnCollect: func(time.Time) { collects.Add(1) },
		OnReport:  func(_ time.Time, line string) { reports.Add(1) },
	})
	require.NoError(t, err)
	defer p.Stop()
	select {
	case r := <-got:
		require.Equal(t, 200, r.Status, r.Error)
		require.Equal(t, jobID, r.JobID)
		require.Greater(t, r.Targets[vertex], 1, "the overloaded map is scaled up: %v", r.Targets)
		require.Len(t, r.Targets, 2, "every vertex is sent")
	case <-p.Done():
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("the JVM exited: %v\n%s", p.Err(), log.String())
	case <-ctx.Done():
		mu.Lock()
		defer mu.Unlock()
		t.Fatalf("no rescale within the deadline; stats %+v\n%s", p.Stats(), log.String())
	}
	st := p.Stats()
	require.Positive(t, st.Reports)
	require.Positive(t, collects.Load(), "every collection reads the job's details")
	require.Positive(t, reports.Load(), "the scaling report before the rescale")
	require.Positive(t, st.Requests["GET /jobs/:id/jobmanager/config 200"])
	require.Positive(t, st.Requests["GET /taskmanagers/metrics 200"])
	p.Stop()
	require.NoError(t, p.Err(), "a stopped JVM is no failure")
}

// TestJVMDeathIsReported: a JVM that exits on its own is reported by Done
// and Err with what it logged.
func TestJVMDeathIsReported(t *testing.T) {
	a := resolve(t)
	broken := *a
	broken.MainClass = "flinkscaler.peer.NoSuchMain"
	p, err := Start(context.Background(), Config{Artifact: &broken, JobManager: "http://127.0.0.1:1"})
	require.NoError(t, err)
	select {
	case <-p.Done():
	case <-time.After(30 * time.Second):
		p.Stop()
		t.Fatal("the JVM did not exit")
	}
	require.ErrorContains(t, p.Err(), "the autoscaler's JVM exited")
}

func TestResolveRejectsBadVersions(t *testing.T) {
	_, err := Resolve(context.Background(), "latest", nil)
	require.ErrorIs(t, err, ErrVersionMissing)
	require.ErrorContains(t, err, "X.Y.Z")
}

func TestScaledOptions(t *testing.T) {
	require.Equal(t, []Option{Enabled}, Scaled(1))
	m := Map(Scaled(5))
	require.Equal(t, "true", m["job.autoscaler.enabled"])
	require.Equal(t, "180000ms", m["job.autoscaler.metrics.window"])
	require.Equal(t, "720000ms", m["job.autoscaler.scale-down.interval"])
	require.Len(t, m, 1+len(TimeOptions))
}

func TestPathPattern(t *testing.T) {
	require.Equal(t, "/jobs/:id/vertices/:id/subtasks/metrics",
		pathPattern("/v1/jobs/0123456789abcdef0123456789abcdef/vertices/fedcba9876543210fedcba9876543210/subtasks/metrics"))
	require.Equal(t, "/taskmanagers/metrics", pathPattern("/v1/taskmanagers/metrics"))
}

type writerFunc func([]byte)

func (f writerFunc) Write(b []byte) (int, error) { f(b); return len(b), nil }

// TestResolveMissingVersion: a release Maven Central does not have is
// ErrVersionMissing, naming what was looked for.
func TestResolveMissingVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("asks Maven Central")
	}
	t.Setenv("XDG_CACHE_HOME", t.TempDir())
	_, err := Resolve(context.Background(), "1.12.1", nil)
	if errors.Is(err, ErrTooling) {
		t.Skipf("no Maven: %v", err)
	}
	require.ErrorIs(t, err, ErrVersionMissing)
	require.ErrorContains(t, err, "flink-autoscaler")
}

// TestResolveUnreachable: Maven with no reachable repository is
// ErrMavenUnreachable.
func TestResolveUnreachable(t *testing.T) {
	if testing.Short() {
		t.Skip("runs Maven")
	}
	dir := t.TempDir()
	t.Setenv("XDG_CACHE_HOME", dir)
	settings := dir + "/settings.xml"
	require.NoError(t, os.WriteFile(settings, []byte(`<settings><mirrors><mirror><id>nowhere</id><mirrorOf>*</mirrorOf><url>http://127.0.0.1:1/maven2</url></mirror></mirrors></settings>`), 0o644))
	mavenArgs = []string{"-s", settings, "-Dmaven.repo.local=" + dir + "/m2"}
	defer func() { mavenArgs = nil }()
	_, err := Resolve(context.Background(), DefaultVersion, nil)
	if errors.Is(err, ErrTooling) && strings.Contains(err.Error(), "not on PATH") {
		t.Skipf("no Maven: %v", err)
	}
	require.ErrorIs(t, err, ErrMavenUnreachable)
}
