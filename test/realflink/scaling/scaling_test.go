// Package scaling runs the whole pipeline (metrics-ingest → decide →
// actuate over NATS) against a real Flink job: scale up on a load step,
// scale down when it falls, and a TaskManager lost in the middle of a
// rescale.
package scaling

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flink"
	"github.com/flinkscaler/flinkscaler/internal/sandbox"
	"github.com/flinkscaler/flinkscaler/test/realflink"
)

// stepScenario: work needs 1 subtask at 60 records/s, 3 at 250/s.
const stepScenario = `
name: real-step
duration: 10m
seed: 11
cluster:
  scaling: adaptive
  slotsPerTaskManager: 1
  initialTaskManagers: 1
  maxTaskManagers: 6
  taskManagerStartup: 2s
  checkpointInterval: 5s
job:
  name: orders
  vertices:
    - {name: "Source: orders", parallelism: 1, maxParallelism: 16, capacity: 5000, partitions: 12}
    - {name: work, inputs: ["Source: orders"], keyed: true, parallelism: 1, maxParallelism: 12, capacity: 100}
load:
  pattern: step
  steps: [{at: 0s, rate: 60}, {at: 30s, rate: 250}, {at: 3m, rate: 60}]
slo:
  maxLagSeconds: 60
`

// sample is one look at the sandbox's ground truth.
type sample struct {
	at          time.Time
	parallelism int // work's
	registered  int
	slotsInUse  int
	slotsTotal  int
	lag         float64
	state       string
	restarts    int
}

// watcher samples the ground truth every 500 ms until the test ends.
type watcher struct {
	t   *testing.T
	sb  *sandbox.Sandbox
	ch  chan sample
	all []sample
}

func watch(t *testing.T, sb *sandbox.Sandbox) *watcher {
	w := &watcher{t: t, sb: sb, ch: make(chan sample, 8192)}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		tick := time.NewTicker(500 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick.C:
			}
			gt, err := sb.GroundTruth(ctx)
			if err != nil {
				continue
			}
			w.ch <- sample{time.Now(), gt.Vertices[1].Parallelism, gt.RegisteredTaskManagers, gt.SlotsInUse, gt.SlotsTotal, gt.LagSeconds, gt.State, gt.Restarts}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
	return w
}

// until waits for a sample that satisfies cond.
func (w *watcher) until(within time.Duration, cond func(s sample) bool, what string) sample {
	w.t.Helper()
	deadline := time.After(within)
	for {
		select {
		case s := <-w.ch:
			w.all = append(w.all, s)
			if cond(s) {
				return s
			}
		case <-w.sb.Done():
			require.FailNow(w.t, "the sandbox died", "%v", w.sb.Err())
		case <-deadline:
			require.FailNow(w.t, what, "not within %s", within)
		}
	}
}

// failovers are the exceptions in the job's history, by name.
func failovers(t *testing.T, sb *sandbox.Sandbox) []string {
	t.Helper()
	var exceptions struct {
		History struct {
			Entries []struct {
				Name string `json:"exceptionName"`
			} `json:"entries"`
		} `json:"exceptionHistory"`
	}
	require.NoError(t, realflink.GetJSON(sb.URL()+"/jobs/"+sb.JobID()+"/exceptions", &exceptions))
	var names []string
	for _, e := range exceptions.History.Entries {
		names = append(names, e.Name)
	}
	return names
}

// TestScaleUpAndDown: a load step on a real job goes through ingest →
// decide → actuate over NATS: TaskManagers are added, the resource
// requirements PUT, the job RUNNING at the higher parallelism and the lag
// back under the SLO; when the load falls the job is scaled down with the
// TaskManagers' removal folded into the rescale's restart (actuate removes
// them first, the job fails over once, expectedly, and comes back at the
// lower parallelism): one restart per parallelism change, and no failover
// but that removal's.
func TestScaleUpAndDown(t *testing.T) {
	sb := realflink.StartSandbox(t, stepScenario, "1.20")
	p := realflink.StartPipeline(t, sb, func(c *policy.Config) {
		c.ScaleDownWindow = 45 * time.Second
		c.MinInterval = 20 * time.Second
	})
	w := watch(t, sb)
	up := w.until(3*time.Minute, func(s sample) bool { return s.state == flink.StateRunning && s.parallelism >= 3 }, "work did not reach 3 subtasks")
	t.Logf("scaled up: work=%d with %d TaskManagers", up.parallelism, up.registered)
	w.until(2*time.Minute, func(s sample) bool { return s.state == flink.StateRunning && s.lag < 60 && s.parallelism >= 3 }, "lag not back under the SLO")
	down := w.until(4*time.Minute, func(s sample) bool {
		return s.state == flink.StateRunning && s.parallelism < up.parallelism && s.registered < up.registered
	}, "not scaled down with TaskManagers removed")
	t.Logf("scaled down: work=%d with %d TaskManagers", down.parallelism, down.registered)

	// The job never used more slots than were registered.
	changes := 0
	for i, s := range w.all {
		assert.LessOrEqual(t, s.slotsInUse, s.slotsTotal, "at %s the job used more slots than registered", s.at.Format(time.TimeOnly))
		if i > 0 && s.parallelism != w.all[i-1].parallelism {
			changes++
		}
	}
	// Every rescale is a restart in the ground truth, however short (the
	// scorecard's lag-back and recovery measures start at each restart).
	last := w.all[len(w.all)-1]
	t.Logf("%d restarts in the ground truth, %d parallelism changes seen", last.restarts-w.all[0].restarts, changes)
	assert.GreaterOrEqual(t, last.restarts-w.all[0].restarts, changes, "restarts in the ground truth against parallelism changes seen")
	assert.LessOrEqual(t, last.restarts-w.all[0].restarts, changes, "a scale-down restarted the job twice: its TaskManagers' removal was not folded into the rescale")
	fo := failovers(t, sb)
	assert.LessOrEqual(t, len(fo), 1, "failovers %v: only the scale-down's folded removal may fail the job over", fo)
	for _, name := range fo {
		assert.Equal(t, "org.apache.flink.util.FlinkExpectedException", name, "a failover that is not a TaskManager released on purpose")
	}
	realflink.Eventually(t, time.Minute, func() bool { return len(p.Results()) >= len(p.Decisions()) }, "decisions without a result")
	for _, r := range p.Results() {
		assert.NotEqual(t, events.OutcomeFailed, r.Outcome, "decision %s failed: %s", r.DecisionID, r.Error)
	}
}
