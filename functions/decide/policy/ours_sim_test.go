package policy

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// Ours on DS2's wordcount: at most two rescales, ending with enough
// capacity for the load (10 flatmaps and 20 counts carry it exactly) and
// no more than half again as much.
func TestOursWordcount(t *testing.T) {
	job := newSimJob(t0, []string{"source", "flatmap", "count"},
		[]float64{1e6, 100e3 / 60, 1e6 / 60}, []float64{1, 1, 1}, []float64{1, 20, 0}, []int{1, 1, 1}, 30)
	got := simRun(t, Ours{}, Defaults(), job, 3600, func(int) float64 { return 1e6 / 60 })
	require.NotEmpty(t, got)
	require.LessOrEqual(t, len(got), 2, "rescales: %v", got)
	last := got[len(got)-1]
	require.GreaterOrEqual(t, last[1], 10, "decisions: %v", got)
	require.GreaterOrEqual(t, last[2], 20, "decisions: %v", got)
	require.LessOrEqual(t, last[1], 15, "decisions: %v", got)
	require.Less(t, job.pending, 1e6/60*30, "lag at the end")
}
