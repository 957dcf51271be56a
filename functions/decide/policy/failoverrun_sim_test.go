package policy_test

import (
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
)

// failoverStep is faults' job on a cluster whose restarts are as cheap as
// the real-Flink sandbox's (5 s, a replacement TaskManager registering in
// 10 s, Flink 1.20's two restarts for a lost TaskManager), a TaskManager
// lost at 5m and the load doubling to beyond the job's capacity at 5m20s,
// while the job runs on the slots left.
var failoverStep = `name: failover-step
duration: 9m
seed: 1
cluster:
  scaling: adaptive
  slotsPerTaskManager: 1
  slotSharing: shared
  initialTaskManagers: 2
  maxTaskManagers: 16
  taskManagerStartup: 30s
  restart: 5s
  checkpointInterval: 10s
  checkpointDuration: 1s
  faults:
    lostTaskManagerAt: [5m]
  flinkVersion: "1.20"
` + sessionsJob(2) + `load:
  pattern: step
  steps: [{at: 0s, rate: 12000}, {at: 5m20s, rate: 40000}]
  noise: 0.02
slo:
  maxLagSeconds: 60
`

// sessionsJob is faults' job (source, keyed session window, sink) as a
// scenario's job section, its source and window at parallelism p.
func sessionsJob(p int) string {
	return fmt.Sprintf(`job:
  name: sessions
  vertices:
    - name: "Source: events"
      parallelism: %d
      maxParallelism: 128
      capacity: 80000
      partitions: 24
    - name: "Session window"
      inputs: ["Source: events"]
      keyed: true
      parallelism: %d
      maxParallelism: 120
      capacity: 12000
      selectivity: 0.2
    - name: "Sink: db"
      inputs: ["Session window"]
      parallelism: 1
      maxParallelism: 128
      capacity: 40000
      selectivity: 0
`, p, p)
}

// TestOursDecidesInAFailoversRun: a TaskManager lost just before a step
// restarts the job on Flink's own account (with its bounds declared at what
// it ran at, pinBounds, it waits for the replacement rather than running on
// the slots left and restarting again). The run back at the parallelism it
// ran at before, its backlog growing, is answered with a scale-up inside
// its meters' first minute, as the job's first run is; before, every
// restart started the 70 s wait for settled meters again (real-Flink faults
// went 3 minutes without a decision).
func TestOursDecidesInAFailoversRun(t *testing.T) {
	for _, seed := range []int64{1, 2, 3} {
		res := runOurs(t, failoverStep, seed)
		s := res.Series
		// the run back at the parallelism the job ran at before the loss
		back, restarted := time.Duration(-1), false
		for i, x := range s.Samples {
			if x.Elapsed <= 5*time.Minute {
				continue
			}
			restarted = restarted || x.Restarts > s.Samples[i-1].Restarts
			if restarted && x.State == flinksim.StateRunning {
				require.Equal(t, 2, x.Parallelism[1], "seed %d at %s: the job ran on the slots left", seed, x.Elapsed)
				back = x.Elapsed
				break
			}
		}
		require.Positive(t, back, "seed %d: the job never ran again after the loss", seed)
		var first time.Duration
		var why string
		for _, d := range s.Decisions {
			if d.Elapsed > 5*time.Minute {
				first, why = d.Elapsed, d.Rationale
				break
			}
		}
		require.Greater(t, first, back, "seed %d: a decision before the job ran again, at %s: %s", seed, first, why)
		require.Less(t, first-back, policy.MeterSettle, "seed %d: the first decision came %s into the failover's run: %s", seed, first-back, why)
		require.Contains(t, why, "into the run a failover restarted at the parallelism it ran at before", "seed %d", seed)
	}
}
