package actuator

import (
	"context"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/functions/actuate/plan"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flink"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
)

// simClock is the emulator's time: a sleep advances the emulated cluster,
// so a wait runs in virtual time against the emulator's REST API.
type simClock struct{ c *flinksim.Cluster }

func (s simClock) Now() time.Time { return s.c.Now() }

func (s simClock) Sleep(ctx context.Context, d time.Duration) error {
	s.c.Advance(d)
	return ctx.Err()
}

// backpressuredCheckpoints is a job whose load steps above its capacity at
// 100 s: the checkpoint triggered at 60 s completes in its 8 s, the one
// triggered at 120 s runs under backpressure and takes four times as long
// (its barriers queue behind the buffered records), completing at 152 s.
const backpressuredCheckpoints = `
name: backpressured-checkpoints
duration: 1h
seed: 3
cluster:
  slotsPerTaskManager: 1
  initialTaskManagers: 2
  maxTaskManagers: 4
  taskManagerStartup: 2s
  restart: 2s
  checkpointInterval: 60s
  checkpointDuration: 8s
job:
  name: orders
  vertices:
    - {name: "Source: orders", parallelism: 1, maxParallelism: 16, capacity: 50000, partitions: 16}
    - {name: enrich, inputs: ["Source: orders"], parallelism: 1, maxParallelism: 16, capacity: 2000}
load:
  pattern: step
  steps: [{at: 0s, rate: 1000}, {at: 100s, rate: 5000}]
`

// A restart's checkpoint wait whose bound passes while the checkpoint it
// waited for is still in progress (slowed by backpressure) waits for that
// one to complete instead of restarting from the checkpoint before it,
// which would replay a whole interval. At 125 s the latest checkpoint
// completed at 68 s, so the next is due in 3 s and the wait's bound is 9 s
// (due + a tenth of the interval); the one in flight completes at 152 s.
func TestCheckpointWaitAwaitsTheOneInFlight(t *testing.T) {
	sim, fc := emulatedAt(t, backpressuredCheckpoints, 125*time.Second)
	at, ok := sim.LatestCheckpoint()
	require.True(t, ok)
	require.Equal(t, 68*time.Second, at, "the checkpoint before the backpressure took its 8 s")

	clk := simClock{sim}
	x := &execution{a: New(Deps{Clock: clk}, Options{Poll: time.Second, CheckpointWait: 30 * time.Second}),
		fl: fc, d: events.Decision{JobID: sim.JobID()}}
	state, err := x.waitCheckpoint(context.Background(), plan.Step{Kind: plan.KindWaitCheckpoint, CheckpointInterval: time.Minute})
	require.NoError(t, err)
	require.Contains(t, state, "checkpoint 2 completed, 32s after its trigger (in flight when the wait's bound passed)")
	at, _ = sim.LatestCheckpoint()
	require.Equal(t, 152*time.Second, at)
	require.Equal(t, at, sim.Elapsed(), "the restart follows the completion")

	// The second wait is bounded too: by the configured bound, and by the
	// replay the checkpoint in flight saves (the time between its trigger
	// and the latest completed one's).
	sim2, fc2 := emulatedAt(t, backpressuredCheckpoints, 125*time.Second)
	x = &execution{a: New(Deps{Clock: simClock{sim2}}, Options{Poll: time.Second, CheckpointWait: 5 * time.Second}),
		fl: fc2, d: events.Decision{JobID: sim2.JobID()}}
	state, err = x.waitCheckpoint(context.Background(), plan.Step{Kind: plan.KindWaitCheckpoint, CheckpointInterval: time.Minute})
	require.NoError(t, err)
	require.Regexp(t, `^restart anyway: timed out after 5s: .*; waited for the one in flight: timed out after 5s: checkpoint 2 in progress since`, state)
	require.Equal(t, 135*time.Second, sim2.Elapsed(), "5 s, then 5 s more")
}

// emulatedAt is the scenario doc emulated up to elapsed, and a Flink client
// of its REST API.
func emulatedAt(t *testing.T, doc string, elapsed time.Duration) (*flinksim.Cluster, *flink.Client) {
	t.Helper()
	sc, err := flinksim.ParseScenario([]byte(doc), ".")
	require.NoError(t, err)
	sim := flinksim.New(sc, flinksim.Options{})
	ts := httptest.NewServer(sim.Handler())
	t.Cleanup(ts.Close)
	fc, err := flink.New(ts.URL, flink.Options{Timeout: 5 * time.Second})
	require.NoError(t, err)
	sim.Advance(elapsed)
	return sim, fc
}

func TestCheckpointInFlight(t *testing.T) {
	completed := &flink.Checkpoint{ID: 4, Status: "COMPLETED", TriggerTimestamp: 1_000_000}
	cp := flink.Checkpoints{Latest: flink.LatestCheckpoints{Completed: completed},
		History: []flink.Checkpoint{
			{ID: 6, Status: "IN_PROGRESS", IsSavepoint: true, TriggerTimestamp: 1_200_000},
			{ID: 5, Status: "IN_PROGRESS", TriggerTimestamp: 1_180_000},
			*completed,
		}}
	c, saved := checkpointInFlight(cp, 4)
	require.NotNil(t, c)
	require.Equal(t, int64(5), c.ID, "a savepoint is not a checkpoint the restart restores")
	require.Equal(t, 3*time.Minute, saved)
	c, _ = checkpointInFlight(cp, 5)
	require.Nil(t, c, "nothing newer than 5 in flight")
	cp.History[1].Status = "FAILED"
	c, _ = checkpointInFlight(cp, 4)
	require.Nil(t, c)
	cp.Latest.Completed, cp.History[1].Status = nil, "IN_PROGRESS"
	_, saved = checkpointInFlight(cp, 0)
	require.Greater(t, saved, 24*time.Hour, "without a completed checkpoint a restart restores none")
}

// A job that is not running (a failover's restart, or waiting for slots)
// takes no checkpoint: the restart's checkpoint wait does not wait for one.
// At 170 s the latest checkpoint completed 42 s before (due in 18 s), and
// one of the two TaskManagers the job runs on is gone: the job restarts
// (60 s downtime).
func TestCheckpointWaitSkipsAJobNotRunning(t *testing.T) {
	doc := strings.Replace(backpressuredCheckpoints, "restart: 2s", "restart: 60s", 1)
	doc = strings.Replace(doc, "steps: [{at: 0s, rate: 1000}, {at: 100s, rate: 5000}]", "steps: [{at: 0s, rate: 1000}]", 1)
	doc = strings.Replace(doc, "parallelism: 1, maxParallelism: 16, capacity: 2000", "parallelism: 2, maxParallelism: 16, capacity: 2000", 1)
	sim, fc := emulatedAt(t, doc, 170*time.Second)
	sim.SetTaskManagers(1)
	sim.Advance(2 * time.Second)
	x := &execution{a: New(Deps{Clock: simClock{sim}}, Options{Poll: time.Second, CheckpointWait: 30 * time.Second}),
		fl: fc, d: events.Decision{JobID: sim.JobID()}}
	state, err := x.waitCheckpoint(context.Background(), plan.Step{Kind: plan.KindWaitCheckpoint, CheckpointInterval: time.Minute})
	require.NoError(t, err)
	require.Equal(t, "restart now: the job is CREATED and takes no checkpoint until it runs", state)
	require.Equal(t, 172*time.Second, sim.Elapsed(), "no wait")
}
