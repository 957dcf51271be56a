package actuator

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
)

// failingRestores is a keyed job on Flink 1.19 whose restarts take 30 s
// plus a state restore (40 s for the whole state) that fails half the
// time; with seed 5 the rescale at 60 s (aggregate 2→4) fails its restore
// twice and runs 3m20s after the PUT.
const failingRestores = `
name: failing-restores
duration: 1h
seed: 5
cluster:
  scaling: adaptive
  slotsPerTaskManager: 2
  initialTaskManagers: 2
  maxTaskManagers: 4
  taskManagerStartup: 2s
  restart: 30s
  stateRestore: 40s
  checkpointInterval: 60s
  faults: {failedRestore: 0.5}
  flinkVersion: "1.19"
job:
  name: totals
  vertices:
    - {name: "Source: payments", parallelism: 2, maxParallelism: 16, capacity: 50000, partitions: 16}
    - {name: aggregate, inputs: ["Source: payments"], keyed: true, parallelism: 2, maxParallelism: 16, capacity: 20000}
load:
  pattern: constant
  rate: 10000
`

// A rescale whose state restore fails restarts the job again (Flink's
// restart strategy), and each restart takes its downtime once more: the
// wait for the new parallelism runs its bound from the latest restart, so
// a rescale that two failed restores stretch to 3m20s is seen through, not
// reported as timed out after 3 min (daily-checkpoints-failovers seed
// 5001: three failed restores in a row after a 5→15 TaskManager rescale,
// reported failed although the job ran at its targets 5 min after the
// PUT). A job that keeps failing is still given up, at twice the bound.
func TestParallelismWaitOutlastsFailedRestores(t *testing.T) {
	sim, fc := emulatedAt(t, failingRestores, time.Minute)
	ids := sim.VertexIDs()
	want := map[string]int{ids[0]: 2, ids[1]: 4}
	require.NoError(t, sim.PutRequirements(map[string]flinksim.Bounds{ids[0]: {Lower: 2, Upper: 2}, ids[1]: {Lower: 4, Upper: 4}}))
	before := sim.GroundTruth().Restarts

	x := &execution{a: New(Deps{Clock: simClock{sim}}, Options{Poll: time.Second, ParallelismWait: 3 * time.Minute}),
		fl: fc, d: events.Decision{JobID: sim.JobID()}}
	state, err := x.waitParallelism(context.Background(), want)
	require.NoError(t, err)
	require.Equal(t, 2, sim.GroundTruth().Restarts-before, "two failed restores after the rescale's own restart")
	require.InDelta(t, (time.Minute + 3*time.Minute + 20*time.Second).Seconds(), sim.Elapsed().Seconds(), 1, "runs 3m20s after the PUT (one poll)")
	require.Contains(t, state, "job RUNNING")
	require.Contains(t, state, "2 restarts began during the wait; its bound runs from the latest")

	// A bound shorter than one restart after the last failure still
	// times out, at most twice the bound after the wait began.
	sim2, fc2 := emulatedAt(t, failingRestores, time.Minute)
	require.NoError(t, sim2.PutRequirements(map[string]flinksim.Bounds{ids[0]: {Lower: 2, Upper: 2}, ids[1]: {Lower: 4, Upper: 4}}))
	x = &execution{a: New(Deps{Clock: simClock{sim2}}, Options{Poll: time.Second, ParallelismWait: 50 * time.Second}),
		fl: fc2, d: events.Decision{JobID: sim2.JobID()}}
	_, err = x.waitParallelism(context.Background(), want)
	require.ErrorIs(t, err, ErrTimeout)
	require.LessOrEqual(t, sim2.Elapsed(), time.Minute+150*time.Second, "twice the bound (Flink 1.19 waits for no checkpoint)")
}

// flink2LongCheckpoints is a job on Flink 2.0, whose adaptive scheduler
// rescales on the next completed checkpoint, with 6-minute checkpoints.
const flink2LongCheckpoints = `
name: flink2-long-checkpoints
duration: 1h
seed: 3
cluster:
  scaling: adaptive
  slotsPerTaskManager: 2
  initialTaskManagers: 2
  maxTaskManagers: 4
  taskManagerStartup: 2s
  restart: 20s
  checkpointInterval: 6m
  flinkVersion: "2.0"
job:
  name: dedup
  vertices:
    - {name: "Source: events", parallelism: 2, maxParallelism: 16, capacity: 50000, partitions: 16}
    - {name: dedup, inputs: ["Source: events"], keyed: true, parallelism: 2, maxParallelism: 16, capacity: 20000}
load:
  pattern: constant
  rate: 10000
`

// On Flink 2 a declaration that fits shows at the next checkpoint, up to a
// checkpoint interval after the PUT: the wait allows that interval (at
// most the bound) before its own bound, so the rescale is seen through
// (hourly-batch-dedup: 5 of 6 rescales reported timed out, each run at its
// targets minutes later).
func TestParallelismWaitAllowsFlink2sCheckpoint(t *testing.T) {
	sim, start := rescaleFlink2JustAfterACheckpoint(t, flink2LongCheckpoints)
	require.Greater(t, sim.Elapsed()-start, 3*time.Minute, "the rescale waited for the next checkpoint, past the bound alone")
}

// flink2FailedCheckpoint is flink2LongCheckpoints whose checkpoints take
// 10 s and fail half the time; with seed 2 the checkpoint at 6 min
// completes, the one at 12 min fails and the one at 18 min completes.
const flink2FailedCheckpoint = `
name: flink2-failed-checkpoint
duration: 1h
seed: 2
cluster:
  scaling: adaptive
  slotsPerTaskManager: 2
  initialTaskManagers: 2
  maxTaskManagers: 4
  taskManagerStartup: 2s
  restart: 20s
  checkpointInterval: 6m
  checkpointDuration: 10s
  checkpointFailure: 0.5
  flinkVersion: "2.0"
job:
  name: dedup
  vertices:
    - {name: "Source: events", parallelism: 2, maxParallelism: 16, capacity: 50000, partitions: 16}
    - {name: dedup, inputs: ["Source: events"], keyed: true, parallelism: 2, maxParallelism: 16, capacity: 20000}
load:
  pattern: constant
  rate: 10000
`

// On Flink 2 a declaration whose next checkpoint fails lands on the one
// after, two intervals after the PUT: the wait allows that
// (events.CheckpointGate, which decide allows too), so the rescale is seen
// through at ~12 min instead of reported timed out at 6 min (3 min and
// one interval at most the bound) while decide still waited 11 min for it
// (hourly-batch-dedup seed 52006).
func TestParallelismWaitOutlastsAFailedFlink2Checkpoint(t *testing.T) {
	sim, start := rescaleFlink2JustAfterACheckpoint(t, flink2FailedCheckpoint)
	last, ok := sim.LatestCheckpoint()
	require.True(t, ok)
	require.Greater(t, last, 18*time.Minute, "landed on the checkpoint at 18 min: the one at 12 min failed")
	require.Greater(t, sim.Elapsed()-start, 11*time.Minute, "the rescale waited two intervals, past the old bound of 6 min")
	require.Less(t, sim.Elapsed()-start, 3*time.Minute+events.CheckpointGate("2.0.1", 6*time.Minute))
}

// rescaleFlink2JustAfterACheckpoint declares dedup 2 → 4 on scenario's
// Flink 2 job just after its first checkpoint and waits, as actuate does,
// until the job runs at it; it returns the emulator and when the PUT was.
func rescaleFlink2JustAfterACheckpoint(t *testing.T, scenario string) (*flinksim.Cluster, time.Duration) {
	t.Helper()
	sim, fc := emulatedAt(t, scenario, 6*time.Minute+30*time.Second) // just after a checkpoint
	ids := sim.VertexIDs()
	want := map[string]int{ids[0]: 2, ids[1]: 4}
	require.NoError(t, sim.PutRequirements(map[string]flinksim.Bounds{ids[0]: {Lower: 2, Upper: 2}, ids[1]: {Lower: 4, Upper: 4}}))
	start := sim.Elapsed()
	x := &execution{a: New(Deps{Clock: simClock{sim}}, Options{Poll: time.Second, ParallelismWait: 3 * time.Minute}),
		fl: fc, d: events.Decision{JobID: sim.JobID()}}
	state, err := x.waitParallelism(context.Background(), want)
	require.NoError(t, err)
	require.Contains(t, state, "job RUNNING")
	return sim, start
}
