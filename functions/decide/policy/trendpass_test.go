package policy

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// loadTrend's one pass over times worked out once reads what the plain
// pass (loadTrendLong, for windows past maxDriftSamples) reads, bit for
// bit, over windows with restarts, capped samples and gaps; so does
// recentTrend over the suffix of the whole window's times.
func TestLoadTrendMatchesThePlainPass(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 10))
	for range 300 {
		n := 3 + rng.IntN(120)
		w := make([]Sample, n)
		capped := make([]bool, n)
		at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
		epoch := at
		for i := range w {
			at = at.Add(time.Duration(5+rng.IntN(20)) * time.Second)
			if rng.IntN(40) == 0 {
				epoch = at
			}
			w[i] = Sample{At: at, Epoch: epoch, Offered: 1000 * (1 + rng.Float64())}
			if rng.IntN(10) == 0 {
				w[i].Offered = 0
			}
			capped[i] = rng.IntN(8) == 0
		}
		var times windowTimes
		times.of(w, time.Minute)
		since := w[rng.IntN(n)].At.Add(-time.Second)
		for _, c := range [][]bool{nil, capped} {
			got := loadTrend(w, c, time.Minute, trendSpan)
			want, _ := loadTrendLong(w, c, time.Minute, trendSpan)
			require.Equal(t, math.Float64bits(want), math.Float64bits(got))
			// the window's later samples read the suffix of its times
			got = recentTrend(w, c, time.Minute, time.Minute, 1, since, &times)
			want = recentTrend(w, c, time.Minute, time.Minute, 1, since, nil)
			require.Equal(t, math.Float64bits(want), math.Float64bits(got))
		}
	}
}
