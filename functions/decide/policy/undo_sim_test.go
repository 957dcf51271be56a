package policy_test

import (
	"testing"

	"github.com/stretchr/testify/require"
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
	text := withLoad(t, "clickstream-bursts.yaml", "duration: 2h", "duration: 30m", `load:
  pattern: step
  steps: [{at: 0s, rate: 42000}, {at: 8m, rate: 29000}]
  noise: 0.03
slo:
  maxLagSeconds: 120
`)
	for _, seed := range []int64{1, 2, 3} {
		res := runOurs(t, text, seed)
		require.Zero(t, res.Summary.Flaps, "seed %d: %+v", seed, res.Summary)
		require.Positive(t, res.Summary.Rescales, "seed %d: the start's scale-up", seed)
	}
}
