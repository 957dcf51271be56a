package policy

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// twoPeaks is a 30-minute cycle with a morning and a higher evening peak
// (20k to 100k rec/s), as a compressed day.
func twoPeaks(minute int) float64 {
	ph := float64(minute%30) / 30
	return 20000 + 40000*math.Exp(-math.Pow((ph-0.3)/0.08, 2)) + 80000*math.Exp(-math.Pow((ph-0.75)/0.08, 2))
}

// learnPeriod finds a repeating shape's period, and none in a load that
// changes without repeating (a random walk, a step) or hardly changes.
func TestLearnPeriod(t *testing.T) {
	rng := rand.New(rand.NewPCG(23001, 1))
	series := func(n int, f func(int) float64) []float64 {
		x := make([]float64, n)
		for i := range x {
			x[i] = f(i) * (1 + 0.03*rng.NormFloat64())
		}
		return x
	}
	p, fit := learnPeriod(series(120, twoPeaks))
	require.Equal(t, 30*time.Minute, p)
	require.Greater(t, fit, 0.8)
	hourly := func(m int) float64 { // a 4-minute batch at the top of a 20-minute "hour"
		if m%20 < 4 {
			return 80000
		}
		return 35000
	}
	p, _ = learnPeriod(series(120, hourly))
	require.Equal(t, 20*time.Minute, p)
	walk := 50000.0
	p, _ = learnPeriod(series(240, func(int) float64 { walk *= 1 + 0.05*rng.NormFloat64(); return walk }))
	require.Zero(t, p, "a random walk")
	p, _ = learnPeriod(series(120, func(m int) float64 { return 30000 + 30000*float64(m/60) }))
	require.Zero(t, p, "a step")
	p, _ = learnPeriod(series(120, func(int) float64 { return 40000 }))
	require.Zero(t, p, "noise")
	p, _ = learnPeriod(series(80, twoPeaks))
	require.Zero(t, p, "less than three periods")
}

// A cycle is forecast only once two past periods show it; the series stays
// bounded and withMinute never changes the series it is given.
func TestSeriesForecastsASeenCycle(t *testing.T) {
	var s *Series
	start := t0.Truncate(time.Hour)
	feed := func(from, to int) {
		for m := from; m < to; m++ {
			for k := range 6 {
				s = s.withMinute(start.Add(time.Duration(m)*time.Minute+time.Duration(k)*10*time.Second), twoPeaks(m))
			}
		}
	}
	// the trough before the evening peak: minute 16 of the cycle
	feed(0, 76)
	require.Nil(t, s.ahead(start.Add(76*time.Minute)), "a shape seen twice is not yet learned")
	feed(76, 106)
	before := *s
	c := s.ahead(start.Add(106 * time.Minute))
	require.NotNil(t, c)
	require.Equal(t, 30*time.Minute, c.period)
	require.Equal(t, 3, c.cycles)
	r, at := c.riseWithin(5 * time.Minute)
	require.Greater(t, r, 1.2)
	require.LessOrEqual(t, at, 5*time.Minute)
	why := string(c.describe(nil))
	require.True(t, strings.HasPrefix(why, "a 30m0s cycle seen in 3 past periods"), why)
	require.Contains(t, why, "next rise ×")
	_ = s.withMinute(start.Add(107*time.Minute), 1)
	require.Equal(t, before, *s)
	// kept in the state KV: the series survives a decide restart
	raw, err := json.Marshal(State{Minutes: s})
	require.NoError(t, err)
	var back State
	require.NoError(t, json.Unmarshal(raw, &back))
	require.Equal(t, s, back.Minutes)
	feed(106, 1000)
	require.LessOrEqual(t, len(s.Rates), seriesMinutes)
	require.Equal(t, 3, s.ahead(start.Add(1000*time.Minute)).cycles)
}

// BenchmarkLearnPeriod is the period search over a full series (six hours
// of minutes), run once every periodEvery minutes per job, not per
// decision.
func BenchmarkLearnPeriod(b *testing.B) {
	x := make([]float64, seriesMinutes)
	for i := range x {
		x[i] = twoPeaks(i)
	}
	for b.Loop() {
		learnPeriod(x)
	}
}

// feedMinutes records f(m) for the minutes from, …, to−1 after start, six
// samples a minute, times (1 + noise × a standard normal).
func feedMinutes(s *Series, start time.Time, from, to int, f func(int) float64, rng *rand.Rand, noise float64) *Series {
	for m := from; m < to; m++ {
		for k := range 6 {
			s = s.withMinute(start.Add(time.Duration(m)*time.Minute+time.Duration(k)*10*time.Second), f(m)*(1+noise*rng.NormFloat64()))
		}
	}
	return s
}

// Three random bursts 44 minutes apart read as a 44-minute cycle that
// explains nearly all of the load's variance; it is forgotten at the
// minute the fourth burst it forecast fails to come (not at the next
// search, a period's latest-repeat rule later), and not learned again. A
// true cycle's forecasts keep coming true: it is never forgotten.
func TestChanceRepeatForgottenWhenItsForecastMisses(t *testing.T) {
	rng := rand.New(rand.NewPCG(33002, 1))
	start := t0.Truncate(time.Hour)
	bursts := func(m int) float64 {
		for _, b := range []int{20, 64, 108} {
			if m >= b && m < b+4 {
				return 120000
			}
		}
		return 50000
	}
	s := feedMinutes(nil, start, 0, 153, bursts, rng, 0.03)
	require.Equal(t, 44*time.Minute, s.Period, "three bursts a period apart read as a cycle, before the fourth is due")
	s = feedMinutes(s, start, 153, 154, bursts, rng, 0.03)
	require.Zero(t, s.Period, "the fourth burst did not come (minute 152)")
	require.Equal(t, start.Add(152*time.Minute).Unix()/60, s.Missed)
	s = feedMinutes(s, start, 154, 240, bursts, rng, 0.03)
	require.Zero(t, s.Period)

	s = feedMinutes(nil, start, 0, 400, twoPeaks, rng, 0.03)
	require.Equal(t, 30*time.Minute, s.Period)
	require.Zero(t, s.Missed, "a true cycle's forecasts come true")
}
