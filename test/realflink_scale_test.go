package test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/functions/decide/decider"
	"github.com/flinkscaler/flinkscaler/functions/metrics-ingest/ingest"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flink"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
	"github.com/flinkscaler/flinkscaler/internal/sandbox"
)

// realStepScenario: work needs 1 subtask at 60 records/s, 3 at 250/s.
const realStepScenario = `
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
  steps: [{at: 0s, rate: 60}, {at: 45s, rate: 250}, {at: 3m30s, rate: 60}]
slo:
  maxLagSeconds: 60
`

// pipeline runs ingest, decide and actuate over a real nats-server against a
// sandbox, the TaskManagers owned by actuate through the control endpoint.
func startRealPipeline(t *testing.T, sb *sandbox.Sandbox, tune func(*decider.Config)) string {
	t.Helper()
	ns := startNATSProcess(t)
	e := &emulator{url: sb.URL(), speed: 1}
	dc := decideConfig(t, ns.url())
	dc.Policy.MaxTaskManagers = sb.Scenario().Cluster.MaxTaskManagers
	if tune != nil {
		tune(&dc)
	}
	require.NoError(t, dc.Policy.Validate())
	startDecide(t, dc, testLog("decide"))
	startActuate(t, actuateConfig(t, e, ns.url()), testLog("actuate"))
	cfg := ingestConfig(e, ns.url())
	cfg.Interval = 5 * time.Second
	cfg.RequestTimeout = 5 * time.Second
	require.NoError(t, cfg.Validate())
	log := testLog("ingest")
	goRun(t, "ingest", func(ctx context.Context) error {
		nc, js, err := events.Connect(events.ConnOptions{URL: ns.url(), Name: "ingest"})
		if err != nil {
			return err
		}
		defer nc.Close()
		svc, err := ingest.NewService(cfg, ingest.Deps{
			Publisher: ingest.JetStreamPublisher{JS: js, Attempts: cfg.Attempts},
			Members:   ingest.StaticMembers{cfg.Replica}, Logger: log,
		})
		if err != nil {
			return err
		}
		return svc.Run(ctx)
	})
	return ns.url()
}

// watchTruth samples the sandbox's ground truth every 500 ms until the test
// ends.
func watchTruth(t *testing.T, sb *sandbox.Sandbox, each func(flinksim.GroundTruth)) {
	t.Helper()
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
				if gt, err := sb.GroundTruth(ctx); err == nil {
					each(gt)
				}
			}
		}
	}()
	t.Cleanup(func() { cancel(); <-done })
}

// TestRealFlinkScaleUpAndDown: a load step on a real job goes through
// ingest → decide → actuate over NATS: TaskManagers are added, the resource
// requirements PUT, the job RUNNING at the higher parallelism and the lag
// back under the SLO; when the load falls the job is scaled down and
// TaskManagers are removed only once it runs at the lower parallelism, so
// nothing fails over.
func TestRealFlinkScaleUpAndDown(t *testing.T) {
	sb := startSandbox(t, realStepScenario, "1.20", nil)
	natsURL := startRealPipeline(t, sb, func(c *decider.Config) {
		c.Policy.ScaleDownWindow = 45 * time.Second
		c.Policy.MinInterval = 20 * time.Second
	})
	c, err := flink.New(sb.URL(), flink.Options{})
	require.NoError(t, err)

	type sample struct {
		at          time.Time
		parallelism int
		registered  int
		slotsInUse  int
		lag         float64
		state       string
	}
	samples := make(chan sample, 4096)
	watchTruth(t, sb, func(gt flinksim.GroundTruth) {
		samples <- sample{time.Now(), gt.Vertices[1].Parallelism, gt.RegisteredTaskManagers, gt.SlotsInUse, gt.LagSeconds, gt.State}
	})
	var hist []sample
	drain := func() {
		for {
			select {
			case s := <-samples:
				hist = append(hist, s)
			default:
				return
			}
		}
	}
	wait := func(within time.Duration, cond func(s sample) bool, what string) sample {
		t.Helper()
		deadline := time.Now().Add(within)
		for time.Now().Before(deadline) {
			select {
			case s := <-samples:
				hist = append(hist, s)
				if cond(s) {
					return s
				}
			case <-sb.Done():
				require.FailNow(t, "sandbox died", "%v", sb.Err())
			case <-time.After(time.Second):
			}
		}
		require.FailNow(t, what, "not within %s", within)
		return sample{}
	}

	up := wait(3*time.Minute, func(s sample) bool { return s.state == flink.StateRunning && s.parallelism >= 3 }, "work did not reach 3 subtasks on real Flink")
	t.Logf("scaled up: work=%d with %d TaskManagers", up.parallelism, up.registered)
	wait(2*time.Minute, func(s sample) bool { return s.state == flink.StateRunning && s.lag < 60 && s.parallelism >= 3 }, "lag not back under the SLO")
	peak := up.parallelism

	down := wait(4*time.Minute, func(s sample) bool {
		return s.state == flink.StateRunning && s.parallelism < peak && s.registered < up.registered
	}, "not scaled down with TaskManagers removed")
	t.Logf("scaled down: work=%d with %d TaskManagers", down.parallelism, down.registered)
	drain()

	// TaskManagers went only once the job no longer needed their slots: no
	// sample shows the job using more slots than are registered, and Flink
	// recorded no failure.
	for _, s := range hist {
		assert.LessOrEqual(t, s.slotsInUse, s.registered, "at %s the job used more slots than registered", s.at.Format(time.TimeOnly))
	}
	var exceptions struct {
		History struct {
			Entries []struct {
				Name string `json:"exceptionName"`
			} `json:"entries"`
		} `json:"exceptionHistory"`
	}
	require.NoError(t, getJSONTest(sb.URL()+"/jobs/"+sb.JobID()+"/exceptions", &exceptions))
	assert.Empty(t, exceptions.History.Entries, "the job failed over during the rescales")

	got := readStream(t, natsURL)
	assert.Empty(t, got.lost(), "decisions without a result")
	assert.Empty(t, got.duplicates())
	for id, rs := range got.results {
		for _, r := range rs {
			assert.NotEqual(t, events.OutcomeFailed, r.Outcome, "decision %s failed: %s", id, r.Error)
		}
	}
	details, err := c.JobDetails(context.Background(), sb.JobID())
	require.NoError(t, err)
	assert.Equal(t, flink.StateRunning, details.State)

}
