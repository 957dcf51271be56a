package scaling

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/internal/flink"
	"github.com/flinkscaler/flinkscaler/test/realflink"
)

// TestFlink2ScaleUpLandsOnTriggeredCheckpoint: the whole pipeline on real
// Flink 2, which rescales a running job only on a completed checkpoint,
// with 10-minute checkpoints. actuate asks for a checkpoint right after
// the new requirements, so the scale-up at the load's step runs within
// about a minute of its decision, not on the periodic checkpoint (the
// first comes at a random delay up to the interval, the next 10 minutes
// later), and its result says so.
func TestFlink2ScaleUpLandsOnTriggeredCheckpoint(t *testing.T) {
	scenario := strings.Replace(stepScenario, "checkpointInterval: 5s", "checkpointInterval: 10m", 1)
	require.NotEqual(t, stepScenario, scenario)
	sb := realflink.StartSandbox(t, scenario, "2")
	p := realflink.StartPipeline(t, sb, func(c *policy.Config) {
		c.MinInterval = 20 * time.Second
	})
	w := watch(t, sb)
	up := w.until(4*time.Minute, func(s sample) bool { return s.state == flink.StateRunning && s.parallelism >= 3 }, "work did not reach 3 subtasks")
	t.Logf("scaled up: work=%d with %d TaskManagers", up.parallelism, up.registered)

	// the last decision that triggered a checkpoint before work ran at 3
	var detail string
	var decided time.Time
	realflink.Eventually(t, time.Minute, func() bool {
		for _, r := range p.Results() {
			for _, s := range r.Steps {
				if s.Name != "trigger-checkpoint" || !strings.HasPrefix(s.Detail, "checkpoint requested") {
					continue
				}
				for _, d := range p.Decisions() {
					if d.DecisionID == r.DecisionID && !d.DecidedAt.After(up.at) && d.DecidedAt.After(decided) {
						decided, detail = d.DecidedAt, s.Detail
					}
				}
			}
		}
		return !decided.IsZero()
	}, "no scale-up result with a checkpoint requested")
	t.Logf("trigger-checkpoint: %s", detail)
	took := up.at.Sub(decided)
	t.Logf("running at the new parallelism %s after the decision", took.Round(time.Second))
	require.Less(t, took, 2*time.Minute, "the scale-up did not land on the triggered checkpoint")
}
