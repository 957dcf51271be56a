package policy_test

import (
	"os"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
)

// releaseMetByRise is spikes-dedicated's job on a load that falls from
// 150k to 60k rec/s at 6m and rises back to 150k at RISE, about when the
// run our release of the fall began starts (a spike landing in a release's
// drain, the shipped lag-back misses of spikes-dedicated and
// realistic-load).
func releaseMetByRise(t *testing.T, rise string) string {
	return withLoad(t, "spikes-dedicated.yaml", "duration: 3h", "duration: 16m", `load:
  pattern: step
  steps: [{at: 0s, rate: 150000}, {at: 6m, rate: 60000}, {at: `+rise+`, rate: 150000}]
  noise: 0.02
slo:
  maxLagSeconds: 30
`)
}

// TestOursAnswersARiseInItsReleasesRun: a scale-down's run whose backlog
// grows (the load rose as the release restarted) is answered with a
// scale-up inside its meters' first minute, as the job's first run and a
// failover's run are; before, the cool-down from the run's start, the 70 s
// settle and the scale-up delay held it ~95 s into the run.
func TestOursAnswersARiseInItsReleasesRun(t *testing.T) {
	if testing.Short() {
		t.Skip("emulator runs")
	}
	rise := "9m10s"
	if r := os.Getenv("RELEASE_RISE"); r != "" {
		rise = r
	}
	for _, seed := range []int64{1, 2, 3} {
		res := runOurs(t, releaseMetByRise(t, rise), seed)
		s := res.Series
		var release, up time.Duration
		var why string
		for _, d := range s.Decisions {
			if d.Elapsed > 6*time.Minute && release == 0 && strings.Contains(d.Rationale, "the load stepped down from") {
				release = d.Elapsed
			} else if release > 0 && up == 0 {
				up, why = d.Elapsed, d.Rationale
			}
		}
		require.Positive(t, release, "seed %d: no release after the fall", seed)
		// the release's run: the first running sample after its restart
		var run time.Duration
		for i, x := range s.Samples {
			if x.Elapsed > release && x.Restarts > s.Samples[i-1].Restarts {
				for _, y := range s.Samples[i:] {
					if y.State == flinksim.StateRunning {
						run = y.Elapsed
						break
					}
				}
				break
			}
		}
		if os.Getenv("RELEASE_RISE") != "" {
			t.Logf("seed %d: release %s, run %s, scale-up %s: %s", seed, release, run, up, why)
		}
		require.Positive(t, run, "seed %d: the release never ran", seed)
		require.Positive(t, up, "seed %d: no scale-up after the release", seed)
		require.Less(t, up-run, policy.MeterSettle, "seed %d: the scale-up came %s into the release's run: %s", seed, up-run, why)
		require.Contains(t, why, "into the run our decision that lowered a vertex began", "seed %d", seed)
	}
}
