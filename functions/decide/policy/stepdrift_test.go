package policy

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A job restarted 10 min ago (its restarts take ~3 min, so its reaction
// time is ~4 min) ran at 30k rec/s, then the load stepped to 60k over the
// rates' 60 s window 5 min ago. The pairs of samples 4 min apart that
// straddle the step are most of the pairs, so their median change was the
// step (±148 %, and the next decision sized +150 %); at the rate window a
// step is a few pairs among many and the load is known to ±2 % (the floor).
func TestLoadDriftSeesThroughAStep(t *testing.T) {
	epoch := t0
	tau, rw := 4*time.Minute, time.Minute // Defaults' rate window
	var w []Sample
	for s := 0; s <= 600; s += 10 {
		x := math.Min(math.Max(float64(s-300)/60, 0), 1)
		w = append(w, Sample{At: epoch.Add(time.Duration(80+s) * time.Second), Epoch: epoch, Offered: 30000 * (1 + x)})
	}
	require.Greater(t, drift(w, nil, MeterSettle, tau, 0), 1.0, "the median over tau is the step")
	plain, _ := loadDrift(w, nil, MeterSettle, tau, rw, 0)
	require.Less(t, plain, 0.05)

	st := State{Epoch: epoch, Window: w, Restarts: []RestartObs{{Downtime: 150 * time.Second, Outage: 90 * time.Second}}}
	ld := measureLoad(st, jobView{offered: 60000}, Defaults(), w[len(w)-1].At)
	require.Less(t, ld.sigma, 0.05, "%s", ld)
}

// loadDrift's one pass pairs samples as drift does: without a step between
// them the two agree at tau.
func TestLoadDriftPairsAsDrift(t *testing.T) {
	var w []Sample
	epoch := t0
	for s := 0; s <= 900; s += 10 {
		e := epoch
		if s >= 400 {
			e = epoch.Add(400 * time.Second) // a restart
		}
		w = append(w, Sample{At: epoch.Add(time.Duration(80+s) * time.Second), Epoch: e, Offered: 30000 * (1 + 0.1*math.Sin(float64(s)/97))})
	}
	capped := make([]bool, len(w))
	capped[20] = true
	for _, n := range []int{len(w), 14, 3} { // a long history, one too short for pairs tau apart, none
		for _, tau := range []time.Duration{90 * time.Second, 2 * time.Minute, 4 * time.Minute} {
			long := drift(w[len(w)-n:], capped[len(w)-n:], MeterSettle, tau, 0)
			short := drift(w[len(w)-n:], capped[len(w)-n:], MeterSettle, time.Minute, 0) * math.Sqrt(float64(tau)/float64(time.Minute))
			plain, around := loadDrift(w[len(w)-n:], capped[len(w)-n:], MeterSettle, tau, time.Minute, 0)
			require.InDelta(t, math.Min(long, short), plain, 1e-12, "%d samples, tau %s", n, tau)
			require.Equal(t, plain, around, "no trend")
		}
	}
}
