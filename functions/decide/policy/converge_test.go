package policy

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)

// DS2's wordcount (§3.4, §8.2): source 1M sentences/min = 16,667/s; flatmap
// 100K sentences/min = 1,667/s per instance emitting 20 words; count 1M
// words/min = 16,667/s per instance; linear. Optimum: 16,667/1,667 = 10
// flatmaps and 16,667·20/16,667 = 20 counts.
func TestConvergeWordcount(t *testing.T) {
	job := newSimJob(t0, []string{"source", "flatmap", "count"},
		[]float64{1e6, 100e3 / 60, 1e6 / 60}, []float64{1, 1, 1}, []float64{1, 20, 0}, []int{1, 1, 1}, 30)
	cfg := Defaults()
	got := simRun(t, V1{}, cfg, job, 3600, func(int) float64 { return 1e6 / 60 })
	require.NotEmpty(t, got)
	require.LessOrEqual(t, len(got), 2, "rescales: %v", got)
	last := got[len(got)-1]
	require.Equal(t, []int{1, 10, 20}, last, "decisions: %v", got)
}

// A constant load with ±10% noise and sub-linear scaling needs at most one
// rescale.
func TestConvergeNoisyConstant(t *testing.T) {
	job := newSimJob(t0, []string{"source", "map", "sink"},
		[]float64{1e6, 2000, 1e5}, []float64{1, 0.9, 1}, []float64{1, 1, 0}, []int{1, 6, 1}, 30)
	seed := uint64(7)
	noise := func() float64 {
		seed = seed*6364136223846793005 + 1442695040888963407
		return float64(seed>>11)/float64(1<<53)*0.2 - 0.1
	}
	got := simRun(t, V1{}, Defaults(), job, 7200, func(int) float64 { return 15000 * (1 + noise()) })
	require.LessOrEqual(t, len(got), 1, "rescales: %v", got)
	require.LessOrEqual(t, job.pending, 15000*60.0, "lag at the end")
}
