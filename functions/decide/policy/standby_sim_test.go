package policy_test

import (
	"os"
	"path/filepath"
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/bench"
	"github.com/flinkscaler/flinkscaler/internal/scorecard"
)

// Closed loop on the emulator: ledger-enrich-reactive-standby (Flink's
// reactive mode, 2-slot TaskManagers, slots.standby 1). Flink's reactive
// scheduler runs the job on every registered slot, a standby
// TaskManager's included, so the policy asks for no standby there: each
// decision asks for the TaskManagers its targets fill and the job runs at
// its targets. With the standby kept, a decision for 10 ran at 12 on six
// TaskManagers, none ever showed (each held in flight for RescaleTimeout,
// its restart never learned), and the extra TaskManager was capacity
// nobody priced.
func TestReactiveDecisionsRunAtTheirTargets(t *testing.T) {
	if testing.Short() {
		t.Skip("emulator runs")
	}
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "scenarios", "holdout", "session18", "ledger-enrich-reactive-standby.yaml"))
	require.NoError(t, err)
	for _, seed := range []int64{1, 2} {
		res := runOurs(t, string(data), seed)
		shown := 0
		for k, d := range res.Series.Decisions {
			require.Equal(t, d.TaskManagers.Target*2, slices.Max(d.Targets), "seed %d, decision at %s: no TaskManager beyond its targets' slots", seed, d.Elapsed)
			if ranAt(res, d, k) {
				shown++
			}
		}
		require.GreaterOrEqual(t, 10*shown, 8*len(res.Series.Decisions), "seed %d: %d of %d decisions ran at their targets", seed, shown, len(res.Series.Decisions))
	}
}

// ranAt reports whether the job ran at decision k's targets before the
// next decision.
func ranAt(res bench.Result, d scorecard.Mark, k int) bool {
	ds := res.Series.Decisions
	for _, s := range res.Series.Samples {
		if s.Elapsed < d.Elapsed || k+1 < len(ds) && s.Elapsed >= ds[k+1].Elapsed {
			continue
		}
		if slices.Equal(s.Parallelism, d.Targets) {
			return true
		}
	}
	return false
}
