package policy_test

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// flushJob is tenant-metrics' job (Flink 2.0, packed 2-slot TaskManagers,
// 1-minute checkpoints, a 2-minute SLO) on 14k points/s with a 40-s flush
// to ×2.8 at 10m, 21m, 35m, 44m and 57m (off any beat: flushes at a fixed
// period are a cycle the forecast prices), then a step to 24k at 70m that
// stays.
func flushJob(t *testing.T) string {
	t.Helper()
	steps := "{at: 0s, rate: 14000}"
	for _, m := range []int{10, 21, 35, 44, 57} {
		steps += fmt.Sprintf(", {at: %dm, rate: 39200}, {at: %dm40s, rate: 14000}", m, m)
	}
	steps += ", {at: 70m, rate: 24000}"
	text := withLoad(t, "holdout/session22/tenant-metrics-microspikes-flink2-packed.yaml", "duration: 3h", "duration: 85m",
		"load:\n  pattern: step\n  steps: ["+steps+"]\n  noise: 0.02\nslo:\n  maxLagSeconds: 120\n")
	return strings.Replace(text, "lostTaskManagerPerHour: 0.67, lostDuringRestart: 0.03", "lostTaskManagerPerHour: 0", 1)
}

// TestFlushesCarriedStepFollowed: a 40-s flush is over before a scale-up
// decided on it could run (its TaskManagers, the checkpoint, the restart:
// ~90 s), and its release minutes later undoes it. Once the samples show
// two flushes that ended so (the first ones, each cut short by the
// restart of a scale-up made on it), the flushes from 35m on are carried on the
// current size with no scale-up ("a scale-up now would run after the rise
// it is sized for"), while the step that stays is still scaled up, once it
// has outlasted them. Before session 26 every flush was scaled up and
// released (tenant-metrics: 9.4 decided flaps a run on seeds 200001–200010).
func TestFlushesCarriedStepFollowed(t *testing.T) {
	if testing.Short() {
		t.Skip("emulator runs")
	}
	for _, seed := range []int64{1, 2, 3} {
		res := runOurs(t, flushJob(t), seed)
		raises, step := 0, time.Duration(0)
		for _, d := range res.Series.Decisions {
			var running []int
			for _, x := range res.Series.Samples {
				if x.Elapsed <= d.Elapsed {
					running = x.Parallelism
				}
			}
			up := false
			for i, p := range d.Targets {
				if i < len(running) && p > running[i] {
					up = true
				}
			}
			switch {
			case up && d.Elapsed >= 33*time.Minute && d.Elapsed < 62*time.Minute:
				raises++
				t.Logf("seed %d: a scale-up at %s: %s", seed, d.Elapsed, d.Rationale)
			case up && d.Elapsed >= 70*time.Minute && step == 0:
				step = d.Elapsed
			}
		}
		require.Zero(t, raises, "seed %d: the flushes from the third on are carried on the current size", seed)
		require.Positive(t, step, "seed %d: the step that stays is not scaled up", seed)
		require.Less(t, step, 75*time.Minute, "seed %d: the step is scaled up once it outlasts the flushes", seed)
	}
}
