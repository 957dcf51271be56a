package flinksim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// lostAtFiveMinutes runs the pipeline (two TaskManagers of one slot, the
// map at 2) until just before one of them is lost at 5 min and returns the
// restarts so far.
func lostAtFiveMinutes(t *testing.T, extra string) (*Cluster, int) {
	t.Helper()
	c := New(pipeline(t, 100, "  faults: {lostTaskManagerAt: [5m]}\n"+extra), Options{})
	c.Advance(5*time.Minute - time.Second)
	gt := c.GroundTruth()
	require.Equal(t, StateRunning, gt.State)
	require.Equal(t, 2, gt.Vertices[1].Parallelism)
	return c, gt.Restarts
}

// advanceTo runs c until 5 min + d.
func advanceTo(c *Cluster, d time.Duration) GroundTruth {
	c.Advance(5*time.Minute + d - c.Elapsed())
	return c.GroundTruth()
}

// Real Flink 1.20.5 on the sandbox (docs/FIDELITY.md): a job that loses a
// TaskManager restarts, waits for resources for the resource-stabilization
// timeout, runs on the slots left, and restarts again back to its
// requirements when the replacement registers. The emulator kept the job
// down for its restart time and ran it at full parallelism once (one
// restart where Flink takes two).
func TestLostTaskManagerRunsOnSlotsLeftThenRescalesBack(t *testing.T) {
	c, r0 := lostAtFiveMinutes(t, "  flinkVersion: \"1.20\"")
	gt := advanceTo(c, 15*time.Second)
	require.Equal(t, StateCreated, gt.State)
	require.Equal(t, r0+1, gt.Restarts)
	require.Equal(t, 1, gt.RegisteredTaskManagers, "the replacement (20 s start-up) is not there at the 10 s stabilization's end")

	gt = advanceTo(c, 35*time.Second)
	require.Equal(t, StateRunning, gt.State)
	require.Equal(t, 1, gt.Vertices[1].Parallelism, "runs on the one slot left")
	require.Equal(t, r0+1, gt.Restarts)

	gt = advanceTo(c, 57*time.Second)
	require.Equal(t, r0+1, gt.Restarts, "1.20: no rescale within scaling-interval.min (30 s) of running")
	gt = advanceTo(c, 63*time.Second)
	require.Equal(t, r0+2, gt.Restarts, "rescales back when the interval passed")

	gt = advanceTo(c, 100*time.Second)
	require.Equal(t, StateRunning, gt.State)
	require.Equal(t, 2, gt.Vertices[1].Parallelism)
	require.Equal(t, r0+2, gt.Restarts)
}

// A replacement that registers within the stabilization timeout meets the
// desired resources: one restart, at full parallelism.
func TestReplacementWithinStabilizationRestartsOnce(t *testing.T) {
	for name, extra := range map[string]string{
		"stabilization 25 s": "  resourceStabilizationTimeout: 25s",
		"stabilization 60 s": "  resourceStabilizationTimeout: 60s",
	} {
		t.Run(name, func(t *testing.T) {
			c, r0 := lostAtFiveMinutes(t, extra)
			gt := advanceTo(c, 5*time.Minute)
			require.Equal(t, StateRunning, gt.State)
			require.Equal(t, 2, gt.Vertices[1].Parallelism)
			require.Equal(t, r0+1, gt.Restarts)
		})
	}
}

// minParallelismIncrease 2: the replacement would raise the map by 1 only,
// so the job keeps running on the slots left.
func TestMinParallelismIncrease(t *testing.T) {
	c, r0 := lostAtFiveMinutes(t, "  minParallelismIncrease: 2")
	gt := advanceTo(c, 5*time.Minute)
	require.Equal(t, StateRunning, gt.State)
	require.Equal(t, 1, gt.Vertices[1].Parallelism)
	require.Equal(t, r0+1, gt.Restarts)
	require.Equal(t, 2, gt.RegisteredTaskManagers)
}

func TestStabilizationOptions(t *testing.T) {
	sc := pipeline(t, 100, "")
	require.Equal(t, 10*time.Second, sc.Cluster.ResourceStabilization, "Flink's default")
	require.Equal(t, 1, sc.Cluster.MinParallelismIncrease)
	sc = pipeline(t, 100, "  scaling: reactive")
	require.Equal(t, time.Duration(0), sc.Cluster.ResourceStabilization, "reactive mode's default")
	for _, bad := range []string{"  resourceStabilizationTimeout: -1s", "  minParallelismIncrease: 0"} {
		_, err := ParseScenario([]byte(pipelineDoc(100, bad)), ".")
		require.Error(t, err, bad)
	}
}
