package policy_test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/bench"
)

// Closed loop on the emulator: clickstream-bursts' job (4-slot
// TaskManagers, 3-minute checkpoints) at 42k rec/s, falling to 29k after
// 8 minutes. The start's scale-up (Sessionize 4→8) carries the spare that
// drains a restart's replay of up to 90 s within 3 min; once drained, the
// fall makes releasing it cheaper than keeping it, 6–7 minutes after the
// scale-up, on a load whose need moved by one slot, less than a
// TaskManager: a move undone on the same load (a flap). Priced as the
// restart it is, the release waits until 15 minutes after the scale-up.
func TestOursDoesNotUndoADrainOnTheSameLoad(t *testing.T) {
	if testing.Short() {
		t.Skip("emulator runs")
	}
	text := drainThenFall(t)
	for _, seed := range []int64{1, 2, 3} {
		res := runOurs(t, text, seed)
		require.Zero(t, res.Summary.Flaps, "seed %d: %+v", seed, res.Summary)
		require.Positive(t, res.Summary.Rescales, "seed %d: the start's scale-up", seed)
	}
}

// The same on Flink 2.0 with 4-minute checkpoints: a rescale runs on the
// next completed checkpoint, up to 4 minutes after its decision, so the
// window counts from the move, as the scorecard times a flap. Counted
// from the decision, the release held to its end ran inside it whenever
// the scale-up waited longer for its checkpoint than the release (7 of
// seeds 1–8 flapped).
func TestOursDoesNotUndoADrainOnFlink2(t *testing.T) {
	if testing.Short() {
		t.Skip("emulator runs")
	}
	text := drainThenFall(t)
	text = strings.Replace(text, `flinkVersion: "1.20"`, `flinkVersion: "2.0"`, 1)
	text = strings.Replace(text, "checkpointInterval: 3m", "checkpointInterval: 4m", 1)
	for _, seed := range []int64{1, 2, 3} {
		res := runOurs(t, text, seed)
		require.Zero(t, res.Summary.Flaps, "seed %d: %+v", seed, res.Summary)
		require.Positive(t, res.Summary.Rescales, "seed %d: the start's scale-up", seed)
	}
}

// Closed loop on the emulator: keyed-aggregation's sine (50–250 k rec/s,
// 2 h period). At the first trough the job goes to 2 Window subtasks and
// back to 4 within 15 min (the history has not shown that level yet); at
// the second the minute history has: the load rose beyond the 2
// subtasks' capacity within 15 min of most minutes at that rate, and the
// 2 slots freed until then are worth less than the restart and the undo,
// so the job stays at 4 through it. At most one rescale per load change.
func TestOursHoldsATroughTheLoadRoseFrom(t *testing.T) {
	if testing.Short() {
		t.Skip("emulator runs")
	}
	data, err := os.ReadFile(filepath.Join("..", "..", "..", "scenarios", "keyed-aggregation.yaml"))
	require.NoError(t, err)
	for _, seed := range []int64{1, 2, 3} {
		res := runOurs(t, string(data), seed)
		require.LessOrEqual(t, res.Summary.Rescales, res.Summary.LoadChanges, "seed %d: %+v", seed, res.Summary)
		for _, at := range []time.Duration{3*time.Hour + 25*time.Minute, 3*time.Hour + 30*time.Minute, 3*time.Hour + 35*time.Minute} {
			require.GreaterOrEqual(t, windowAt(res, at), 4, "seed %d: the second trough at %s", seed, at)
		}
	}
}

// windowAt is keyed-aggregation's Window parallelism running at elapsed
// time at.
func windowAt(res bench.Result, at time.Duration) int {
	p := 0
	for _, s := range res.Series.Samples {
		if s.Elapsed <= at && len(s.Parallelism) > 1 && s.Parallelism[1] > 0 {
			p = s.Parallelism[1]
		}
	}
	return p
}

// drainThenFall is clickstream-bursts' job for 30 minutes at 42k rec/s,
// falling to 29k after 8 minutes, with a 120 s SLO: the load of the undo
// tests above.
func drainThenFall(t *testing.T) string {
	t.Helper()
	return withLoad(t, "clickstream-bursts.yaml", "duration: 2h", "duration: 30m", `load:
  pattern: step
  steps: [{at: 0s, rate: 42000}, {at: 8m, rate: 29000}]
  noise: 0.03
slo:
  maxLagSeconds: 120
`)
}
