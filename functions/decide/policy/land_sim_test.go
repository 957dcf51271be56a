package policy_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// onsale is ticket-onsale-spikes' job (Flink 2.0, 4-minute checkpoints)
// on 20k orders/s with a 90-s spike to 75k at 20m, or, with step set, a
// rise to 75k that stays.
func onsale(t *testing.T, step bool) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "scenarios", "fresh", "ticket-onsale-spikes.yaml"))
	require.NoError(t, err)
	text := strings.Replace(string(data), "duration: 4h", "duration: 40m", 1)
	steps := `[{at: 0s, rate: 20000}, {at: 20m, rate: 75000}, {at: 21m30s, rate: 20000}]`
	if step {
		steps = `[{at: 0s, rate: 20000}, {at: 20m, rate: 75000}]`
	}
	return text[:strings.Index(text, "load:")] + "load:\n  pattern: step\n  steps: " + steps + "\n  noise: 0.02\nslo:\n  maxLagSeconds: 60\n"
}

// TestFlinkTwoScaleUpHeldToItsCheckpoint: on Flink 2 a scale-up decided on
// a 90-s spike lands on a checkpoint minutes later, after the spike,
// and is released on the same load. Held to the last poll that still
// lands on that checkpoint (awaitLanding), the spike is over by then and
// no scale-up is made for it; a rise that stays is scaled up on the same
// checkpoint schedule, its rationale saying how long it was held.
func TestFlinkTwoScaleUpHeldToItsCheckpoint(t *testing.T) {
	if testing.Short() {
		t.Skip("emulator runs")
	}
	raises := func(ps, qs []int) bool {
		for i := range ps {
			if i < len(qs) && qs[i] > ps[i] {
				return true
			}
		}
		return false
	}
	for _, seed := range []int64{1, 2, 3} {
		res := runOurs(t, onsale(t, false), seed)
		for _, d := range res.Series.Decisions {
			if d.Elapsed < 19*time.Minute {
				continue
			}
			var cur []int
			for _, x := range res.Series.Samples {
				if x.Elapsed <= d.Elapsed {
					cur = x.Parallelism
				}
			}
			require.False(t, raises(cur, d.Targets), "seed %d: a scale-up at %s for a 90-s spike: %s", seed, d.Elapsed, d.Rationale)
		}

		res = runOurs(t, onsale(t, true), seed)
		var up time.Duration
		var why string
		for _, d := range res.Series.Decisions {
			if d.Elapsed >= 20*time.Minute && up == 0 {
				up, why = d.Elapsed, d.Rationale
			}
		}
		require.Positive(t, up, "seed %d: the rise that stays is not scaled up", seed)
		require.Less(t, up, 25*time.Minute, "seed %d: %s", seed, why)
		require.Contains(t, why, "made at the last poll that lands on the checkpoint due in", "seed %d", seed)
	}
}
