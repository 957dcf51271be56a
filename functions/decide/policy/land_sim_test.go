package policy_test

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/flinksim"
)

// onsale is ticket-onsale-spikes' job (Flink 2.0, 4-minute checkpoints)
// on 20k orders/s rising to 75k at 20m to stay.
func onsale(t *testing.T) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "scenarios", "fresh", "ticket-onsale-spikes.yaml"))
	require.NoError(t, err)
	text := strings.Replace(string(data), "duration: 4h", "duration: 40m", 1)
	steps := `[{at: 0s, rate: 20000}, {at: 20m, rate: 75000}]`
	return text[:strings.Index(text, "load:")] + "load:\n  pattern: step\n  steps: " + steps + "\n  noise: 0.02\nslo:\n  maxLagSeconds: 60\n"
}

// TestFlinkTwoScaleUpLandsOnTriggeredCheckpoint: on Flink 2 a scale-up
// lands on a completed checkpoint. actuate triggers one once the change
// is declared, so a rise that stays is scaled up within about its
// TaskManagers' start-up, the checkpoint and the restart of its decision
// (under 2 min), not on the periodic checkpoint up to 4 min later, and
// its rationale says so. (Before session 25 the change landed on the next
// periodic checkpoint and was held to the last poll that still made it,
// and a 90-s spike was over before any scale-up could land: none was
// made. Landing within the spike now, a scale-up for it is priced like
// any other.)
func TestFlinkTwoScaleUpLandsOnTriggeredCheckpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("emulator runs")
	}
	for _, seed := range []int64{1, 2, 3} {
		res := runOurs(t, onsale(t), seed)
		var up time.Duration
		var why string
		var before []int
		for _, d := range res.Series.Decisions {
			if d.Elapsed >= 20*time.Minute && up == 0 {
				up, why = d.Elapsed, d.Rationale
			}
		}
		require.Positive(t, up, "seed %d: the rise that stays is not scaled up", seed)
		require.Less(t, up, 22*time.Minute, "seed %d: %s", seed, why)
		require.Contains(t, why, "which actuate triggers", "seed %d", seed)
		landed := time.Duration(0)
		for _, x := range res.Series.Samples {
			switch {
			case x.Elapsed <= up:
				before = x.Parallelism
			case landed == 0 && !slices.Equal(x.Parallelism, before) && x.State == flinksim.StateRunning:
				landed = x.Elapsed
			}
		}
		require.Positive(t, landed, "seed %d: the scale-up never ran", seed)
		require.Less(t, landed-up, 2*time.Minute, "seed %d: decided at %s, running at its parallelism at %s", seed, up, landed)
	}
}
