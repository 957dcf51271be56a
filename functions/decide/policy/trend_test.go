package policy

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// A load that rises steadily is priced as its rise, not as uncertainty
// both ways: a job whose restarts take ~3 min (reaction time ~4m40s) and
// whose load has risen 6 % of 30k per minute for 10 min expects it ×1.2
// higher by the time a restart made now is over, and its uncertainty is
// the noise around the rise (a few %), where the changes' median over the
// reaction time read ±40 % and the next scale-up took the top headroom
// while sizing for the load as read. A step of the load that the recent
// pairs straddle, a rise that has stopped, and noise are not trends.
func TestRisePricedAsTrend(t *testing.T) {
	epoch := t0
	restarts := []RestartObs{{Downtime: 3 * time.Minute, Outage: 2 * time.Minute}}
	measure := func(rate func(s int) float64) load {
		var w []Sample
		for s := 0; s <= 600; s += 10 {
			w = append(w, Sample{At: epoch.Add(time.Duration(80+s) * time.Second), Epoch: epoch, Offered: rate(s)})
		}
		st := State{Epoch: epoch, Window: w, Restarts: restarts}
		return measureLoad(st, jobView{offered: w[len(w)-1].Offered}, Defaults(), w[len(w)-1].At)
	}
	noise := func(s int) float64 { return 1 + 0.02*math.Sin(float64(s)*1.7) }

	ld := measure(func(s int) float64 { return 30000 * (1 + 0.001*float64(s)) * noise(s) })
	require.Greater(t, ld.forecast, 1.1, "%s", ld)
	require.Less(t, ld.sigma, 0.1, "%s", ld)
	require.True(t, strings.Contains(ld.String(), "(trend): priced as its rise"), "%s", ld)
	old := measure(func(s int) float64 { return 30000 * (1 + 0.001*float64(s)) * noise(s) })
	require.Equal(t, ld, old, "measured alike twice")

	for name, rate := range map[string]func(int) float64{
		"step 3 min ago": func(s int) float64 { return 30000 * (1 + math.Min(math.Max(float64(s-420)/60, 0), 1)) * noise(s) },
		"rise that stopped 4 min ago": func(s int) float64 {
			return 30000 * (1 + 0.001*math.Min(float64(s), 360)) * noise(s)
		},
		"noise": func(s int) float64 { return 30000 * noise(s) },
		"fall":  func(s int) float64 { return 30000 * (1 - 0.0005*float64(s)) * noise(s) },
	} {
		ld := measure(rate)
		require.Equal(t, 1.0, ld.forecast, "%s: %s", name, ld)
		require.False(t, strings.Contains(ld.String(), "trend"), "%s: %s", name, ld)
	}
}

// BenchmarkMeasureLoadRising measures the load of a 60-sample window that
// rises 6 % a minute: the per-decision work the trend adds (a second
// trend over the recent samples and the drift around it) is on this path
// only; BenchmarkDecideCore's load is flat.
func BenchmarkMeasureLoadRising(b *testing.B) {
	var w []Sample
	for s := 0; s < 600; s += 10 {
		w = append(w, Sample{At: t0.Add(time.Duration(80+s) * time.Second), Epoch: t0, Offered: 30000 * (1 + 0.001*float64(s)) * (1 + 0.02*math.Sin(float64(s)*1.7))})
	}
	st := State{Epoch: t0, Window: w, Restarts: []RestartObs{{Downtime: 3 * time.Minute, Outage: 2 * time.Minute}}}
	j, cfg, now := jobView{offered: w[len(w)-1].Offered}, Defaults(), w[len(w)-1].At
	b.ReportAllocs()
	for b.Loop() {
		measureLoad(st, j, cfg, now)
	}
}
