package sandbox

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/flinksim"
	jvmsrc "github.com/flinkscaler/flinkscaler/sandbox"
)

const tiny = `
name: tiny
duration: 5m
cluster: {scaling: adaptive, slotsPerTaskManager: 1, initialTaskManagers: 2, maxTaskManagers: 3, taskManagerStartup: 0s, checkpointInterval: 5s}
job:
  name: tiny
  vertices:
    - {name: "Source: in", parallelism: 1, maxParallelism: 8, capacity: 1000, partitions: 2}
    - {name: work, inputs: ["Source: in"], parallelism: 1, maxParallelism: 8, capacity: 500}
load: {pattern: constant, rate: 50}
`

func scenarioFile(t *testing.T, yaml string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "scenario.yaml")
	require.NoError(t, os.WriteFile(path, []byte(yaml), 0o600))
	return path
}

func TestMissingJavaOrMavenIsNamed(t *testing.T) {
	t.Setenv("XDG_CACHE_HOME", t.TempDir()) // no cached jar
	t.Setenv("PATH", t.TempDir())
	_, err := BuildJar(context.Background(), "1.20", nil)
	require.ErrorIs(t, err, ErrMissingTool)
	assert.Contains(t, err.Error(), "java not found on PATH")
	assert.Contains(t, err.Error(), "install a JDK")
}

func TestUnknownFlinkLine(t *testing.T) {
	_, err := BuildJar(context.Background(), "1.17", nil)
	require.Error(t, err)
	assert.Contains(t, err.Error(), `want "1.20" or "2"`)
}

func TestPortInUse(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	defer ln.Close()
	_, err = Start(context.Background(), Config{Scenario: scenarioFile(t, tiny), Listen: ln.Addr().String()})
	require.Error(t, err)
	assert.Contains(t, err.Error(), "address already in use")
	assert.Contains(t, err.Error(), "pick another address")
}

func TestScenarioTheSandboxCannotRun(t *testing.T) {
	session := strings.Replace(tiny, "scaling: adaptive", "scaling: session", 1)
	_, err := Start(context.Background(), Config{Scenario: scenarioFile(t, session)})
	require.Error(t, err)
	assert.Contains(t, err.Error(), `scaling "session" is not supported by the sandbox`)
}

func TestRecordScaleKeepsThePeakWithinBudget(t *testing.T) {
	sc, err := flinksim.ParseScenario([]byte(tiny), ".")
	require.NoError(t, err)
	assert.Equal(t, 1.0, RecordScale(sc, DefaultRecordBudget)) // 50 + 50 records/s
	assert.Equal(t, 5.0, RecordScale(sc, 25))                  // 100 / 25 = 4 → 5
	sp := buildSpec(sc, 5)
	assert.InDelta(t, 10, sp.Rates[0], 1e-9)
	assert.InDelta(t, 100, sp.Vertices[1].SubtaskCapacity[0], 1e-9)
	assert.Len(t, sp.Vertices[1].VertexCapacity, 8)
}

// TestSpecLosesTheScenariosTaskManagers: the JVM is told the scenario's
// lost TaskManagers: the scheduled ones and, at the scenario's rate, ones
// drawn from its seed (the same on every run), within its duration.
func TestSpecLosesTheScenariosTaskManagers(t *testing.T) {
	sc, err := flinksim.ParseScenario([]byte(tiny), ".")
	require.NoError(t, err)
	assert.Empty(t, buildSpec(sc, 1).LostTaskManagers)
	b, err := json.Marshal(buildSpec(sc, 1))
	require.NoError(t, err)
	assert.Contains(t, string(b), `"lostTaskManagers":[]`, "none is an empty list: the JVM's spec had read null and failed to start")

	sc.Duration = 10 * time.Hour
	sc.Cluster.Faults = flinksim.Faults{LostTaskManagerAt: []time.Duration{3 * time.Minute, 11 * time.Hour}, LostTaskManagerPerHour: 2}
	sp := buildSpec(sc, 1)
	assert.Equal(t, sp.LostTaskManagers, buildSpec(sc, 1).LostTaskManagers, "drawn from the seed")
	assert.InDelta(t, 21, len(sp.LostTaskManagers), 12, "one scheduled (the other is after the end) and ~20 at 2/h")
	scheduled := false
	for i, l := range sp.LostTaskManagers {
		scheduled = scheduled || l.AtMs == 180_000
		assert.Less(t, l.AtMs, int64(10*time.Hour/time.Millisecond))
		assert.GreaterOrEqual(t, l.Pick, 0.0)
		assert.Less(t, l.Pick, 1.0)
		if i > 0 {
			assert.GreaterOrEqual(t, l.AtMs, sp.LostTaskManagers[i-1].AtMs, "in order of time")
		}
	}
	assert.True(t, scheduled, "the scheduled loss at 3m")
}

// TestLostTaskManagerFailsOverAndIsReplaced runs a real sandbox whose
// scenario loses a TaskManager at 20 s: both TaskManagers hold a subtask,
// so real Flink fails the job over, and a replacement registers after the
// scenario's start-up time (as Kubernetes restarts a pod) on which the job
// runs again.
func TestLostTaskManagerFailsOverAndIsReplaced(t *testing.T) {
	needRealFlink(t)
	lossy := strings.Replace(tiny, "taskManagerStartup: 0s,", "taskManagerStartup: 5s, faults: {lostTaskManagerAt: [20s]},", 1)
	lossy = strings.Replace(lossy, "{name: work, inputs: [\"Source: in\"], parallelism: 1", "{name: work, inputs: [\"Source: in\"], parallelism: 2", 1)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	sb, err := Start(ctx, Config{Scenario: scenarioFile(t, lossy)})
	require.NoError(t, err)
	defer func() { assert.NoError(t, sb.Stop(context.Background())) }()
	gt, err := sb.GroundTruth(ctx)
	require.NoError(t, err)
	require.Equal(t, "RUNNING", gt.State)
	require.Equal(t, 2, gt.RegisteredTaskManagers)
	before := gt.Restarts
	lost, back := false, false
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline) && !back; time.Sleep(500 * time.Millisecond) {
		gt, err = sb.GroundTruth(ctx)
		require.NoError(t, err)
		lost = lost || gt.RegisteredTaskManagers < 2
		back = lost && gt.RegisteredTaskManagers == 2 && gt.State == "RUNNING" && gt.Restarts > before
	}
	assert.True(t, lost, "no TaskManager lost")
	assert.True(t, back, "after the loss: %d of %d TaskManagers registered, %s, restarts %d (before %d)", gt.RegisteredTaskManagers, gt.TaskManagers, gt.State, gt.Restarts, before)
	assert.Equal(t, 2, gt.TaskManagers, "the replacement counts as one of the TaskManagers asked for")
}

// TestDownJobShowsTheParallelismItRanAt: a job submitted at parallelism 2
// that runs at 1 (one slot) loses its only TaskManager. While it waits for
// the replacement, Flink's graph shows the submission's 2; the ground truth
// keeps the 1 it ran at, so the scorecard sees no move up and back down
// that nobody made (a real-Flink faults run read 6 such moves as
// oscillations).
func TestDownJobShowsTheParallelismItRanAt(t *testing.T) {
	needRealFlink(t)
	sc := strings.Replace(tiny, "initialTaskManagers: 2, maxTaskManagers: 3, taskManagerStartup: 0s,",
		"initialTaskManagers: 1, maxTaskManagers: 2, taskManagerStartup: 5s, faults: {lostTaskManagerAt: [20s]},", 1)
	sc = strings.Replace(sc, "{name: work, inputs: [\"Source: in\"], parallelism: 1", "{name: work, inputs: [\"Source: in\"], parallelism: 2", 1)
	require.NotEqual(t, tiny, sc)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	sb := startSandbox(ctx, t, sc)
	gt, err := sb.GroundTruth(ctx)
	require.NoError(t, err)
	require.Equal(t, "RUNNING", gt.State)
	require.Equal(t, 1, gt.Vertices[1].Parallelism, "one slot: work runs at 1 of its 2")
	before := gt.Restarts
	down, back := 0, false
	for deadline := time.Now().Add(2 * time.Minute); time.Now().Before(deadline) && !back; time.Sleep(250 * time.Millisecond) {
		gt, err = sb.GroundTruth(ctx)
		require.NoError(t, err)
		if gt.State != "RUNNING" {
			down++
		}
		require.Equal(t, 1, gt.Vertices[1].Parallelism, "work's parallelism at %s, %s", gt.Elapsed, gt.State)
		back = down > 0 && gt.State == "RUNNING" && gt.Restarts > before
	}
	assert.True(t, back, "the job never went down and came back: %s, restarts %d (before %d), %d samples down", gt.State, gt.Restarts, before, down)
}

// TestEveryRequestedTaskManagerRegisters scales a sandbox up by several
// TaskManagers at once, three times: the count it reports must settle at
// what was asked and every one must register. TaskManagers due at the same
// instant start on two threads; each start used to drop the first pending
// start it found, not its own, so one could stay counted as starting for
// ever (a real-Flink keyed-aggregation run reported 5 TaskManagers asked for
// and 4 registered for 8 minutes, and a rescale waiting for the fifth timed
// out).
func TestEveryRequestedTaskManagerRegisters(t *testing.T) {
	needRealFlink(t)
	sc := strings.Replace(tiny, "maxTaskManagers: 3, taskManagerStartup: 0s,", "maxTaskManagers: 8, taskManagerStartup: 2s,", 1)
	require.NotEqual(t, tiny, sc)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	sb := startSandbox(ctx, t, sc)
	for round := range 3 {
		setTaskManagers(ctx, t, sb, 8)
		var gt flinksim.GroundTruth
		var err error
		for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline); time.Sleep(250 * time.Millisecond) {
			gt, err = sb.GroundTruth(ctx)
			require.NoError(t, err)
			if gt.RegisteredTaskManagers == 8 {
				break
			}
		}
		require.Equal(t, 8, gt.RegisteredTaskManagers, "round %d: registered", round)
		time.Sleep(time.Second)
		gt, err = sb.GroundTruth(ctx)
		require.NoError(t, err)
		require.Equal(t, 8, gt.TaskManagers, "round %d: asked for 8, all 8 registered: none still starting", round)
		setTaskManagers(ctx, t, sb, 2)
	}
}

// TestJVMDeathSurfaces starts a real sandbox, kills its JVM and expects
// Done closed and Err naming the exit.
func TestJVMDeathSurfaces(t *testing.T) {
	needRealFlink(t)
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute) // the first build downloads Flink
	defer cancel()
	sb, err := Start(ctx, Config{Scenario: scenarioFile(t, tiny)})
	require.NoError(t, err)
	gt, err := sb.GroundTruth(ctx)
	require.NoError(t, err)
	assert.Equal(t, "RUNNING", gt.State)
	assert.Equal(t, 2, gt.RegisteredTaskManagers)
	require.NoError(t, sb.cmd.Process.Kill())
	select {
	case <-sb.Done():
	case <-time.After(30 * time.Second):
		t.Fatal("Done not closed after the JVM was killed")
	}
	require.Error(t, sb.Err())
	assert.Contains(t, sb.Err().Error(), "the Flink JVM exited")
	_, err = sb.GroundTruth(ctx)
	require.Error(t, err)
	require.NoError(t, sb.Stop(ctx))
	assert.False(t, errors.Is(sb.Err(), context.Canceled))
}

// Every TaskManager of the MiniCluster takes its network buffers and its
// Netty arenas from the one JVM's direct memory: the limit grows with the
// TaskManagers the scenario allows, and covers the network memory the
// sandbox configures per TaskManager (a fixed 1 GiB ran out at 30).
func TestDirectMemoryCoversEveryTaskManager(t *testing.T) {
	src, err := fs.ReadFile(jvmsrc.Sources, "src/main/java/dev/flinkscaler/sandbox/Sandbox.java")
	require.NoError(t, err)
	m := regexp.MustCompile(`"taskmanager\.memory\.network\.max", "(\d+)m"`).FindSubmatch(src)
	require.NotNil(t, m, "Sandbox.java sets taskmanager.memory.network.max in MiB")
	networkMiB, err := strconv.Atoi(string(m[1]))
	require.NoError(t, err)
	const nettyMiB = 2 * 4 // one arena per slot (2 in the shipped scenarios), 4 MiB chunks

	for _, tms := range []int{1, 16, 30, 32, 64} {
		args := strings.Join(jvmArgs("/tmp", "sandbox.jar", "spec.json", tms), " ")
		m := regexp.MustCompile(`-XX:MaxDirectMemorySize=(\d+)m`).FindStringSubmatch(args)
		require.NotNil(t, m, args)
		limit, _ := strconv.Atoi(m[1])
		assert.GreaterOrEqual(t, limit, 128+tms*(networkMiB+nettyMiB), "%d TaskManagers", tms)
	}
}

// needRealFlink skips a test that runs a real Flink with -short, and where
// java or mvn is not on PATH (CheckTools).
func needRealFlink(t *testing.T) {
	t.Helper()
	if testing.Short() {
		t.Skip("real Flink: skipped with -short")
	}
	if err := CheckTools(); err != nil {
		t.Skipf("real Flink: %v", err)
	}
}

// startSandbox starts a sandbox on scenario sc and stops it when the test
// ends.
func startSandbox(ctx context.Context, t *testing.T, sc string) *Sandbox {
	t.Helper()
	sb, err := Start(ctx, Config{Scenario: scenarioFile(t, sc)})
	require.NoError(t, err)
	t.Cleanup(func() { assert.NoError(t, sb.Stop(context.Background())) })
	return sb
}

// setTaskManagers asks the sandbox for n TaskManagers through its control
// endpoint, as actuate's emulator backend does.
func setTaskManagers(ctx context.Context, t *testing.T, sb *Sandbox, n int) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, sb.URL()+flinksim.ControlPrefix+"taskmanagers", strings.NewReader(fmt.Sprintf(`{"replicas": %d}`, n)))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)
}
