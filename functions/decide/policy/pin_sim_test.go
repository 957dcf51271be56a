package policy_test

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/flinksim"
)

// lostBeforeAnyDecision is faults' job sized for its load from the start
// (no decision needed), on Flink 1.19 with its default 10 s resource
// stabilization, losing a TaskManager at 5m whose replacement starts in
// 30 s.
var lostBeforeAnyDecision = `name: lost-before-any-decision
duration: 8m
seed: 1
cluster:
  scaling: adaptive
  slotsPerTaskManager: 1
  slotSharing: shared
  initialTaskManagers: 3
  maxTaskManagers: 16
  taskManagerStartup: 30s
  restart: 20s
  checkpointInterval: 30s
  checkpointDuration: 1s
  faults:
    lostTaskManagerAt: [5m]
  flinkVersion: "1.19"
` + sessionsJob(3) + `load:
  pattern: constant
  rate: 24000
  noise: 0.02
slo:
  maxLagSeconds: 60
`

// TestBoundsPinnedBeforeALostTaskManager: a job no decision has sized yet
// carries Flink's default requirements (lower bound 1), so a lost
// TaskManager's failover ran on the slots left after the resource
// stabilization and restarted again when the replacement registered: two
// outages and two replays (faults, every seed, at 20 min). Ours declares
// the parallelism the job runs at as its bounds once keeping is cheapest,
// restarting nothing; the lost TaskManager's failover then waits for the
// replacement and comes back in one restart (at 3, or at what a fold into
// it declared), never on the slots left.
func TestBoundsPinnedBeforeALostTaskManager(t *testing.T) {
	for _, seed := range []int64{1, 2, 3} {
		res := runOurs(t, lostBeforeAnyDecision, seed)
		s := res.Series
		require.NotEmpty(t, s.Decisions, "seed %d", seed)
		pin := s.Decisions[0]
		require.Less(t, pin.Elapsed, 5*time.Minute, "seed %d", seed)
		require.Equal(t, []int{3, 3, 1}, pin.Targets, "seed %d: %s", seed, pin.Rationale)
		require.True(t, strings.HasPrefix(pin.Rationale, "declare the parallelism the job runs at as its bounds"), "seed %d: %s", seed, pin.Rationale)
		restarts, back := 0, time.Duration(0)
		for i, x := range s.Samples {
			require.False(t, x.Elapsed < 5*time.Minute && x.Restarts > 0, "seed %d: the pin restarted the job at %s", seed, x.Elapsed)
			if i > 0 && x.Restarts > s.Samples[i-1].Restarts {
				restarts++
			}
			if x.Elapsed > 5*time.Minute && restarts > 0 && x.State == flinksim.StateRunning {
				require.GreaterOrEqual(t, x.Parallelism[1], 3, "seed %d at %s: the job ran on the slots left", seed, x.Elapsed)
				back = x.Elapsed
				break
			}
		}
		require.Positive(t, back, "seed %d: the job never ran again after the loss", seed)
		require.Equal(t, 1, restarts, "seed %d: the lost TaskManager's failover is one restart (back at %s)", seed, back)
	}
}
