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
	require.Greater(t, drift(w, nil, MeterSettle, tau), 1.0, "the median over tau is the step")
	require.Less(t, loadDrift(w, nil, MeterSettle, tau, rw), 0.05)

	st := State{Epoch: epoch, Window: w, Restarts: []RestartObs{{Downtime: 150 * time.Second, Outage: 90 * time.Second}}}
	ld := measureLoad(st, jobView{offered: 60000}, Defaults(), w[len(w)-1].At)
	require.Less(t, ld.sigma, 0.05, "%s", ld)
}
