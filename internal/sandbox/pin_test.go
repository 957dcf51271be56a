package sandbox

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/flink"
)

// TestPinningWhatRunsRestartsNothing: a job that declares parallelism 2 for
// work but got one slot runs at 1. Declaring work's upper bound at the 1
// it runs at (actuate's pin before a scale-up) restarts nothing, and a
// TaskManager registering afterwards does not rescale the pinned job
// either. Without the pin (measured: the PUT left out) the new TaskManager
// makes Flink's adaptive scheduler rescale work to its declared 2 on its
// own, one restart: the second one actuate's scale-up used to cause.
func TestPinningWhatRunsRestartsNothing(t *testing.T) {
	needRealFlink(t)
	sc := strings.Replace(tiny, "initialTaskManagers: 2, maxTaskManagers: 3, taskManagerStartup: 0s,",
		"initialTaskManagers: 1, maxTaskManagers: 2, taskManagerStartup: 2s,", 1)
	sc = strings.Replace(sc, "{name: work, inputs: [\"Source: in\"], parallelism: 1", "{name: work, inputs: [\"Source: in\"], parallelism: 2", 1)
	require.NotEqual(t, tiny, sc)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	sb := startSandbox(ctx, t, sc)
	gt, err := sb.GroundTruth(ctx)
	require.NoError(t, err)
	require.Equal(t, "RUNNING", gt.State)
	require.Equal(t, 1, gt.Vertices[1].Parallelism, "one slot: work runs at 1 of its 2")
	before := gt.Restarts

	fc, err := flink.New(sb.URL(), flink.Options{Timeout: 10 * time.Second})
	require.NoError(t, err)
	req, err := fc.GetResourceRequirements(ctx, sb.JobID())
	require.NoError(t, err)
	pinned := map[string]flink.Bounds{}
	for id, b := range req {
		pinned[id] = flink.Bounds{Lower: 1, Upper: min(b.Upper, 1)}
	}
	require.NoError(t, fc.PutResourceRequirements(ctx, sb.JobID(), pinned))
	time.Sleep(15 * time.Second)
	gt, err = sb.GroundTruth(ctx)
	require.NoError(t, err)
	require.Equal(t, "RUNNING", gt.State)
	require.Equal(t, before, gt.Restarts, "the pin restarts nothing")

	setTaskManagers(ctx, t, sb, 2)
	for deadline := time.Now().Add(time.Minute); time.Now().Before(deadline) && gt.RegisteredTaskManagers < 2; time.Sleep(250 * time.Millisecond) {
		gt, err = sb.GroundTruth(ctx)
		require.NoError(t, err)
	}
	require.Equal(t, 2, gt.RegisteredTaskManagers)
	time.Sleep(40 * time.Second) // past Flink's rescale cooldown and resource stabilization
	gt, err = sb.GroundTruth(ctx)
	require.NoError(t, err)
	require.Equal(t, "RUNNING", gt.State)
	require.Equal(t, before, gt.Restarts, "the new slots do not rescale the pinned job: %s", fmt.Sprint(gt.Vertices[1].Parallelism))
	require.Equal(t, 1, gt.Vertices[1].Parallelism)
}
