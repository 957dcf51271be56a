package bench

import (
	"context"
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flink"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
	"github.com/flinkscaler/flinkscaler/scenarios"
)

// The benchmark applies a decision with actuate's own Actuator in virtual
// time: TaskManagers, slots, the requirements PUT, the restart, actuate's
// ledger and its rate limit, all in simulated seconds with no wall-clock
// wait.
func TestExecutorIsActuate(t *testing.T) {
	sc, err := flinksim.ParseScenario(scenarios.Wordcount, "")
	require.NoError(t, err)
	c := flinksim.New(sc, flinksim.Options{})
	transport := inProcess{c.Handler()}
	fl, err := flink.New(emulatorURL, flink.Options{Transport: transport})
	require.NoError(t, err)
	x := newExecutor(c, fl, transport, c.GroundTruth().Time, Options{})
	defer x.close()
	step := func() {
		c.Step()
		x.tick(c.GroundTruth().Time)
	}

	ids := c.VertexIDs() // source, tokenizer, counter at 2, 2, 2 on 2 TaskManagers
	decision := func(id string, counter, tms int) events.Decision {
		gt := c.GroundTruth()
		return events.Decision{DecisionID: id, Cluster: cluster, JobID: c.JobID(), JobName: "wordcount", Mode: events.ModeAdaptive,
			Vertices: []events.VertexDecision{
				{ID: ids[0], Current: 2, Target: 2}, {ID: ids[1], Current: 2, Target: 2}, {ID: ids[2], Current: 2, Target: counter},
			},
			TaskManagers: events.Count{Current: 2, Target: tms}, Slots: events.Slots{PerTaskManager: 1, Sharing: "shared"},
			DecidedAt: gt.Time}
	}
	x.submit(decision("up", 4, 4))
	start := time.Now()
	for range 10 * 60 {
		step()
		if !x.running && x.Applied+x.Failed+x.Skipped > 0 {
			break
		}
	}
	// Wall-clock waits would take the TaskManagers' start-up and the restart,
	// 50 s; the margin is for a loaded machine under the race detector.
	require.Less(t, time.Since(start), 30*time.Second, "virtual time, no wall-clock waits")
	require.Equal(t, 1, x.Applied, "errors: %v", x.Errors)
	require.Equal(t, 4, c.TaskManagers())
	gt := c.GroundTruth()
	require.Equal(t, flinksim.StateRunning, gt.State)
	require.Equal(t, 4, gt.Vertices[2].Parallelism)

	key := events.KVKey(cluster, c.JobID())
	rec, err := x.ledger.Get(context.Background(), key)
	require.NoError(t, err)
	require.Contains(t, string(rec.Value()), `"lastDecisionId":"up"`)
	e, err := x.desired.Get(context.Background(), key)
	require.NoError(t, err)
	var desired struct{ TaskManagers int }
	require.NoError(t, json.Unmarshal(e.Value(), &desired))
	require.Equal(t, 4, desired.TaskManagers, "the count actuate declares for KEDA")

	// actuate's rate limit (30 s after the last change), on the emulator's clock.
	x.submit(decision("down", 2, 2))
	step()
	require.Equal(t, 1, x.Skipped)
	require.Equal(t, 4, c.TaskManagers())

	// A run that ends mid-actuation stops it as a shutdown stops actuate.
	for range 40 {
		step()
	}
	x.submit(decision("more", 6, 6))
	for range 5 {
		step()
	}
	require.True(t, x.running, "waiting for the new TaskManagers' slots")
	x.close()
	require.False(t, x.running)
	require.Equal(t, []int{1, 0}, []int{x.Applied, x.Failed}, "a stopped actuation is not counted")
}
