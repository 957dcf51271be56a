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
// through today's decide with the recording's own header. As recorded,
// ours released in three steps two minutes apart after the fall, count
// 40 → 20 → 15 → 12, each ~80 s into the run the last one began, before
// learnScaling stored that run's efficiency point: every step was sized
// on the one parallelism measured (60) and the prior's p^0.90, where the
// sandbox's count scales ~p^0.65 (47, 59 and 82 rec/s a subtask at 60, 40
// and 12). Since session 23 a vertex running below every parallelism it
// was measured at fits its current reading too (belowMeasured): the first
// release goes 40 → 15 at p^0.85±0.09 on 2 parallelisms (the load still
// read ±32 %, the fall itself in fast timing's 2-minute window), the next
// (the recording's run at 15) 15 → 12 at p^0.75±0.05, which puts a subtask
// of 12 at 82.5 rec/s (the run at 12 measured 82). The replay follows the
// recorded stream, which went to 20 at 22:54, so the decisions after the
// first release are read on that stream's runs (docs/BENCHMARK.md "Real
// Flink (session 23, s23real)"). A change to the release after a fall
// shows here first.
func TestPostFallStaircaseOnRealFlink(t *testing.T) {
	got, _ := replayOursFile(t, "testdata/realflink-wordcount-flatmap-ours-whole.jsonl.gz")
	count := func(d events.Decision) (int, string) {
		i := slices.IndexFunc(d.Vertices, func(v events.VertexDecision) bool { return v.Name == "count" })
		require.GreaterOrEqual(t, i, 0, d.Rationale)
		return d.Vertices[i].Target, d.Vertices[i].Reason
	}
	var counts []int
	for _, d := range got {
		c, _ := count(d)
		counts = append(counts, c)
	}
	require.Equal(t, []int{60, 40, 15, 12}, counts, "first count, the spare's undo, then the releases after the fall")
	require.Contains(t, got[2].Rationale, "uncertainty ±32%", "the first release reads the fall as a spread")
	_, why := count(got[2])
	require.Contains(t, why, "at efficiency p^0.85±0.09 (2 parallelisms measured)", "60 as stored and 40 as read now")
	_, why = count(got[3])
	require.Contains(t, why, "at efficiency p^0.75±0.05 (2 parallelisms measured)")
}
