package realflink

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/flink"
)

// triggerScenario checkpoints every 30 min, so no periodic checkpoint
// (the first comes at a random delay up to the interval) is likely to
// land a rescale within the test's minute.
const triggerScenario = `
name: trigger
duration: 40m
seed: 5
cluster:
  scaling: adaptive
  slotsPerTaskManager: 2
  initialTaskManagers: 2
  maxTaskManagers: 2
  taskManagerStartup: 0s
  checkpointInterval: 30m
job:
  name: trigger
  vertices:
    - {name: "Source: events", parallelism: 1, maxParallelism: 16, capacity: 2000, partitions: 4}
    - {name: parse, inputs: ["Source: events"], parallelism: 1, maxParallelism: 16, capacity: 500}
load:
  pattern: constant
  rate: 100
`

// TestTriggeredCheckpointLandsFlink2Rescale: a running Flink 2 job
// rescales for new requirements only on a completed checkpoint; one
// triggered through POST /jobs/<id>/checkpoints (actuate's
// trigger-checkpoint step) lands the rescale at once instead of on the
// next periodic one, up to an interval later.
func TestTriggeredCheckpointLandsFlink2Rescale(t *testing.T) {
	sb := StartSandbox(t, triggerScenario, "2")
	c, err := flink.New(sb.URL(), flink.Options{})
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	parse := func() int {
		j, err := c.JobDetails(ctx, sb.JobID())
		require.NoError(t, err)
		for _, v := range j.Vertices {
			if v.Name == "parse" {
				return v.Parallelism
			}
		}
		require.FailNow(t, "no vertex parse")
		return 0
	}
	// past the scheduler's cooldown after the job began running
	Eventually(t, 2*time.Minute, func() bool {
		j, err := c.JobDetails(ctx, sb.JobID())
		if err != nil || j.State != flink.StateRunning {
			return false
		}
		since, ok := j.RunningSince()
		return ok && time.UnixMilli(j.Now).Sub(since) > 35*time.Second
	}, "the job did not run for 35 s")
	req, err := c.GetResourceRequirements(ctx, sb.JobID())
	require.NoError(t, err)
	ids := map[string]string{}
	j, err := c.JobDetails(ctx, sb.JobID())
	require.NoError(t, err)
	for _, v := range j.Vertices {
		ids[v.Name] = v.ID
	}
	req[ids["parse"]] = flink.Bounds{Lower: 1, Upper: 3}
	require.NoError(t, c.PutResourceRequirements(ctx, sb.JobID(), req))

	time.Sleep(10 * time.Second)
	cp, err := c.Checkpoints(ctx, sb.JobID())
	require.NoError(t, err)
	before := parse()
	t.Logf("10 s after the PUT: %d checkpoints completed, parse at %d", cp.Counts.Completed, before)
	if cp.Counts.Completed == 0 {
		require.Equal(t, 1, before, "rescaled with no checkpoint completed")
	}

	id, err := c.TriggerCheckpoint(ctx, sb.JobID())
	require.NoError(t, err)
	require.NotEmpty(t, id)
	start := time.Now()
	Eventually(t, 45*time.Second, func() bool { return parse() == 3 }, "the triggered checkpoint did not land the rescale")
	t.Logf("rescaled %s after the trigger", time.Since(start).Round(100*time.Millisecond))
}
