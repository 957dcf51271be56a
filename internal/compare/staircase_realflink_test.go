package compare

import (
	"slices"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// TestPostFallStaircaseOnRealFlink: wordcount-flatmap on real Flink for
// its whole length at compare's fast timing, as ours read it (compare
// --record-ours, session 21: 16 min, the load halved at 8:00), replayed
// through today's decide with the recording's own header. After the fall
// ours releases in three steps two minutes apart, count 40 → 20 → 15 →
// 12: the first on a ±32 % load uncertainty (fast timing's 2-minute
// metric window holds the fall itself, and every pair of samples a
// reaction time apart spans it), the next two on ±2–3 %, each reading the
// count's capacity higher than the run before it (docs/BENCHMARK.md "Real
// Flink (session 22, s22real)": a level's own uncertainty, tried on
// branch s22real-levelsigma, releases 40 → 18 here, not to 12). 2.5
// rescales a load change on the scorecard; a change to the release after
// a fall shows here first.
func TestPostFallStaircaseOnRealFlink(t *testing.T) {
	got, _ := replayOursFile(t, "testdata/realflink-wordcount-flatmap-ours-whole.jsonl.gz")
	count := func(d events.Decision) int {
		i := slices.IndexFunc(d.Vertices, func(v events.VertexDecision) bool { return v.Name == "count" })
		require.GreaterOrEqual(t, i, 0, d.Rationale)
		return d.Vertices[i].Target
	}
	var counts []int
	for _, d := range got {
		counts = append(counts, count(d))
	}
	require.Equal(t, []int{60, 40, 20, 15, 12}, counts, "first count, the spare's undo, then the releases after the fall")
	require.Contains(t, got[2].Rationale, "uncertainty ±32%", "the first release reads the fall as a spread")
	require.Contains(t, got[3].Rationale, "uncertainty ±3%")
	require.Contains(t, got[4].Rationale, "uncertainty ±2%")
}
