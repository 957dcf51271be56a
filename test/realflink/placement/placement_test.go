// Package placement measures where real Flink's adaptive scheduler puts a
// job's subtasks after a scale-down: spread over every TaskManager, or
// packed onto as few as the slots need (its own test binary: the real-Flink
// tests each take minutes).
package placement

import (
	"context"
	"fmt"
	"sort"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/flink"
	"github.com/flinkscaler/flinkscaler/internal/sandbox"
	"github.com/flinkscaler/flinkscaler/test/realflink"
)

// placementScenario: one slot-sharing group, 2 slots per TaskManager, 8
// TaskManagers; the test scales the job 1 → 16 → 4.
const placementScenario = `
name: real-placement
duration: 10m
seed: 3
cluster:
  scaling: adaptive
  slotsPerTaskManager: 2
  initialTaskManagers: 8
  maxTaskManagers: 8
  taskManagerStartup: 1s
  checkpointInterval: 5s
job:
  name: placement
  vertices:
    - {name: "Source: events", parallelism: 1, maxParallelism: 16, capacity: 5000, partitions: 16}
    - {name: work, inputs: ["Source: events"], keyed: true, parallelism: 1, maxParallelism: 16, capacity: 2000}
load:
  pattern: constant
  rate: 200
slo:
  maxLagSeconds: 60
`

// TestPlacementAfterScaleDown records, on Flink 1.20.5 and 2.3.0, how many
// TaskManagers hold the job's subtasks after it scales 16 → 4 on 8
// TaskManagers of 2 slots (2 would do), in a session cluster (the
// sandbox's MiniCluster: execution.target unset) and as in application
// mode (execution.target: embedded, which Kubernetes application clusters
// set). Flink's DefaultSlotAssigner packs only in application mode with
// jobmanager.adaptive-scheduler.prefer-minimal-taskmanagers (default true
// from 1.20.2 and in 2.x) and without local recovery; otherwise the
// subtasks stay spread, and a TaskManager removed after the scale-down
// fails the job over.
func TestPlacementAfterScaleDown(t *testing.T) {
	for _, c := range []struct {
		line, target string
		packs        bool
	}{
		{"1.20", "", false},
		{"1.20", "embedded", true},
		{"2", "", false},
		{"2", "embedded", true},
	} {
		name := fmt.Sprintf("flink-%s/target-%q", c.line, c.target)
		t.Run(name, func(t *testing.T) {
			cfg := sandbox.Config{Flink: c.line, FlinkConfig: map[string]string{}}
			if c.target != "" {
				cfg.FlinkConfig["execution.target"] = c.target
			}
			sb, fl, details := startPlacement(t, cfg)
			ctx := context.Background()
			rescale := func(p int) {
				req := map[string]flink.Bounds{}
				for _, v := range details.Vertices {
					req[v.ID] = flink.Bounds{Lower: 1, Upper: p}
				}
				require.NoError(t, fl.PutResourceRequirements(ctx, sb.JobID(), req))
				realflink.Eventually(t, 3*time.Minute, func() bool {
					d, err := fl.JobDetails(ctx, sb.JobID())
					if err != nil || d.State != flink.StateRunning {
						return false
					}
					for _, v := range d.Vertices {
						if v.Parallelism != p || v.Status != flink.StateRunning {
							return false
						}
					}
					return true
				}, "the job did not run at parallelism %d", p)
			}
			rescale(16)
			up := holding(t, sb, details)
			rescale(4)
			time.Sleep(2 * time.Second) // the REST cache (1 s) shows the new graph
			down := holding(t, sb, details)
			tms, err := fl.TaskManagers(ctx)
			require.NoError(t, err)
			idle := 0
			for _, tm := range tms {
				if tm.Idle() {
					idle++
				}
			}
			t.Logf("Flink %s, execution.target %q: at 16 subtasks on %d TaskManagers; after 16 → 4 the subtasks are on %d of %d TaskManagers %v (2 would do); /taskmanagers shows %d with every slot free",
				sb.FlinkVersion(), c.target, len(up), len(down), len(tms), down, idle)
			if c.packs {
				assert.Len(t, down, 2, "application mode with prefer-minimal-taskmanagers packs onto the fewest TaskManagers")
			} else {
				assert.Greater(t, len(down), 2, "a session cluster leaves the job spread over more TaskManagers than its slots need")
			}
		})
	}
}

// startPlacement starts placementScenario and waits for its 16 slots.
func startPlacement(t *testing.T, cfg sandbox.Config) (*sandbox.Sandbox, *flink.Client, flink.JobDetails) {
	t.Helper()
	sb := realflink.StartSandboxConfig(t, placementScenario, cfg)
	fl, err := flink.New(sb.URL(), flink.Options{})
	require.NoError(t, err)
	details, err := fl.JobDetails(context.Background(), sb.JobID())
	require.NoError(t, err)
	realflink.Eventually(t, time.Minute, func() bool {
		ov, err := fl.Overview(context.Background())
		return err == nil && ov.SlotsTotal == 16
	}, "8 TaskManagers of 2 slots did not register")
	return sb, fl, details
}

// holding returns the TaskManagers that run a subtask of the job, from
// /jobs/<id>/vertices/<vid>/taskmanagers.
func holding(t *testing.T, sb *sandbox.Sandbox, details flink.JobDetails) []string {
	t.Helper()
	set := map[string]bool{}
	for _, v := range details.Vertices {
		var body struct {
			TaskManagers []struct {
				ID           string         `json:"taskmanager-id"`
				StatusCounts map[string]int `json:"status-counts"`
			} `json:"taskmanagers"`
		}
		require.NoError(t, realflink.GetJSON(fmt.Sprintf("%s/jobs/%s/vertices/%s/taskmanagers", sb.URL(), sb.JobID(), v.ID), &body))
		for _, tm := range body.TaskManagers {
			if tm.StatusCounts[flink.StateRunning] > 0 {
				set[tm.ID] = true
			}
		}
	}
	out := make([]string, 0, len(set))
	for id := range set {
		out = append(out, id)
	}
	sort.Strings(out)
	return out
}
