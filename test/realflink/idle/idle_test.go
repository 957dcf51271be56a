// Package idle has decide release a real Flink job's idle TaskManager
// without a rescale (its own test binary: the real-Flink tests each take
// minutes).
package idle

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flink"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
	"github.com/flinkscaler/flinkscaler/test/realflink"
)

// idleScenario: a job whose 2 slots (one slot-sharing group, map at 2)
// fit on one of its two 2-slot TaskManagers, as chains-windows starts.
// Flink runs it on the first TaskManager to register; the second is idle.
// The map needs its 2 subtasks (one carries 200 of the 300 records/s) and
// cannot have more (maxParallelism 2), so however fast the shared machine
// runs it, keeping every vertex is decide's choice.
const idleScenario = `
name: real-idle
duration: 10m
seed: 5
cluster:
  scaling: adaptive
  slotsPerTaskManager: 2
  initialTaskManagers: 2
  maxTaskManagers: 4
  taskManagerStartup: 3s
  checkpointInterval: 10s
job:
  name: idle-start
  vertices:
    - {name: "Source: events", parallelism: 1, maxParallelism: 16, capacity: 5000, partitions: 8}
    - {name: map, inputs: ["Source: events"], parallelism: 2, maxParallelism: 2, capacity: 200}
load:
  pattern: constant
  rate: 300
slo:
  maxLagSeconds: 60
`

// TestIdleTaskManagerReleased: decide lets the idle TaskManager go in a
// TaskManager-only decision once the job has settled: one TaskManager
// left, the job RUNNING at the parallelism it started with, no restart.
// Before, decide decided only when a parallelism changed, and the idle
// TaskManager stayed (session 8's chains-windows compare: about 2 slots ×
// 210 s of the cost gap to the operator autoscaler, whose TaskManagers
// follow Flink's resource manager).
func TestIdleTaskManagerReleased(t *testing.T) {
	sb := realflink.StartSandbox(t, idleScenario, "1.20")
	p := realflink.StartPipeline(t, sb, func(c *policy.Config) { c.MinInterval = 20 * time.Second })
	t.Cleanup(func() {
		if t.Failed() {
			for _, d := range p.Decisions() {
				t.Logf("decision %s: TaskManagers %+v; %s", d.DecisionID, d.TaskManagers, d.Rationale)
			}
			for _, r := range p.Results() {
				t.Logf("result %s: %s %s", r.DecisionID, r.Outcome, r.Error)
			}
		}
	})
	var gt flinksim.GroundTruth
	realflink.Eventually(t, 4*time.Minute, func() bool {
		var err error
		gt, err = sb.GroundTruth(context.Background())
		return err == nil && gt.TaskManagers == 1 && gt.RegisteredTaskManagers == 1
	}, "the idle TaskManager was not released")
	realflink.Eventually(t, time.Minute, func() bool { return len(p.Results()) >= len(p.Decisions()) }, "decisions without a result")
	gt, err := sb.GroundTruth(context.Background())
	require.NoError(t, err)
	require.Equal(t, flink.StateRunning, gt.State)
	require.Zero(t, gt.Restarts, "releasing an idle TaskManager restarted the job")
	require.Equal(t, 1, gt.Vertices[0].Parallelism)
	require.Equal(t, 2, gt.Vertices[1].Parallelism)
	ds := p.Decisions()
	require.Len(t, ds, 1)
	require.Equal(t, 1, ds[0].TaskManagers.Target)
	for _, v := range ds[0].Vertices {
		require.Equal(t, v.Current, v.Target)
	}
	require.Contains(t, ds[0].Rationale, "idle TaskManager")
	// Its put declares the bounds at what runs (Flink's default lower
	// bound 1 raised), which restarts nothing: the release is not folded
	// into a restart and waits for no checkpoint (on real Flink 2.3.0 it
	// had waited 39 s for one, session 26's third chains-windows compare).
	var steps []string
	for _, r := range p.Results() {
		if r.DecisionID == ds[0].DecisionID {
			require.Equal(t, events.OutcomeApplied, r.Outcome, r.Error)
			for _, s := range r.Steps {
				steps = append(steps, s.Name)
			}
		}
	}
	require.Equal(t, []string{"put-requirements", "verify-requirements", "wait-parallelism", "scale-taskmanagers"}, steps)
}
