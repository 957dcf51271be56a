package policy

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"slices"
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

// surges is a 4-minute batch of +45k rec/s on a 35k base at each minute
// of at.
func surges(at ...int) func(int) float64 {
	return func(m int) float64 {
		for _, b := range at {
			if m >= b && m < b+4 {
				return 80000
			}
		}
		return 35000
	}
}

// A rise the load made from its level now to above a release's capacity
// four times, every one at the same interval, is due again: comeback says
// when and how high. Three rises, rises off the beat (random bursts), a
// rise overdue (the forecast missed), a level the rises never passed, and
// rises from far below the level now are none.
func TestComebackSeenToRepeat(t *testing.T) {
	rng := rand.New(rand.NewPCG(43001, 1))
	start := t0.Truncate(time.Hour)
	at := func(m int) time.Time { return start.Add(time.Duration(m)*time.Minute + 30*time.Second) }
	hourly := surges(10, 30, 50, 70, 90)

	s := feedMinutes(nil, start, 0, 60, hourly, rng, 0.03)
	_, ok := s.comeback(at(59), 35000, 60000)
	require.False(t, ok, "three rises: not yet seen to repeat")
	s = feedMinutes(s, start, 60, 80, hourly, rng, 0.03)
	c, ok := s.comeback(at(79), 35000, 60000)
	require.True(t, ok, "four rises 20 min apart")
	require.Equal(t, 20*time.Minute, c.every)
	require.Equal(t, 4, c.seen)
	require.InDelta(t, (10*time.Minute + 30*time.Second).Seconds(), c.in.Seconds(), 1, "the next is due at 90 (its first minute above the level)")
	require.InDelta(t, 80000.0/35000, c.peak, 0.2)
	_, ok = s.comeback(at(79), 35000, 90000)
	require.False(t, ok, "the rises never passed 90k")
	_, ok = s.comeback(at(79), 70000, 90000)
	require.False(t, ok, "not from 70k")

	late := feedMinutes(nil, start, 0, 110, surges(10, 30, 50, 70), rng, 0.03)
	_, ok = late.comeback(at(109), 35000, 60000)
	require.False(t, ok, "the rise due at 90 did not come: forgotten by 96")

	random := feedMinutes(nil, start, 0, 100, surges(5, 16, 38, 52, 81), rng, 0.03)
	_, ok = random.comeback(at(99), 35000, 60000)
	require.False(t, ok, "bursts 11, 22, 14, 29 min apart")
	chance := feedMinutes(nil, start, 0, 100, surges(2, 40, 51, 62, 73), rng, 0.03)
	_, ok = chance.comeback(at(80), 35000, 60000)
	require.False(t, ok, "the last four 11 min apart, the one before 38 min before them")
}

// A release the load's rise seen to repeat undoes within the horizon is
// priced with the restart that undoes it and the lag until that restart
// is over, and keeping wins; the same release on a load whose rises came
// off the beat is made, as before.
func TestReleaseUndoneByARiseSeenToRepeat(t *testing.T) {
	rng := rand.New(rand.NewPCG(43002, 1))
	start := t0.Truncate(time.Hour)
	now := start.Add(79*time.Minute + 30*time.Second)
	cfg := Defaults()
	cfg.SLO.MaxLag = 3 * time.Minute
	rc := restartCost{restartStats: restartStats{downtime: 2 * time.Minute, outage: time.Minute}, wait: time.Minute, replay: time.Minute}
	choice := func(s *Series) (evaluation, []evaluation) {
		ld := load{offered: 35000, forecast: 1, sigma: 0.05, react: 3 * time.Minute, minutes: s, now: now, top: s.spanMax()}
		keep := evaluation{candidate: candidate{ps: []int{16}, headroom: -1}, h: 3.8, paid: 16}
		down := evaluation{candidate: candidate{ps: []int{4}, headroom: 0.2}, h: 0.2, paid: 4}
		sizes := [3]int{16, 4, 16}
		var evs []evaluation
		for _, e := range []evaluation{keep, down} {
			e.back = ld.comebackAbove(e.h, keep.h)
			price(&e, plan{restart: !e.keep()}, &ld, &rc, keep.h, sizes, &cfg)
			evs = append(evs, e)
		}
		return choose(evs), evs
	}

	best, evs := choice(feedMinutes(nil, start, 0, 80, surges(10, 30, 50, 70), rng, 0.03))
	require.True(t, best.keep(), "%s; %s", evs[0].summary(), evs[1].summary())
	require.Equal(t, 2.0, evs[1].restarts)
	require.Contains(t, evs[1].summary(), "undone in ~10m30s (forecast: the load rose from its level now to ×2.")
	require.Contains(t, evs[1].summary(), "4 times, every ~20m0s: that restart priced)")

	best, evs = choice(feedMinutes(nil, start, 0, 80, surges(5, 16, 38, 52), rng, 0.03))
	require.False(t, best.keep(), "%s; %s", evs[0].summary(), evs[1].summary())
	require.Equal(t, 1.0, evs[1].restarts)
	best, _ = choice(nil)
	require.False(t, best.keep())
}

// BenchmarkComeback is one release candidate's look for rises seen to
// repeat over a full span of a two-peak cycle.
func BenchmarkComeback(b *testing.B) {
	rng := rand.New(rand.NewPCG(43003, 1))
	s := feedMinutes(nil, t0, 0, 400, twoPeaks, rng, 0.03)
	now := t0.Add(400 * time.Minute)
	for b.Loop() {
		s.comeback(now, 22000, 50000)
	}
}

// A rise seen to repeat (four on the beat) whose next one is due before a
// restart made now would be over is what every candidate is priced at now,
// and the reason says "forecast"; no rise is forecast earlier in the
// trough, from three rises, from rises off the beat (random bursts, three
// at chance intervals then one off), from a step, a steady rise or noise,
// or for a job with a source without pendingRecords.
func TestAheadOfARiseSeenToRepeat(t *testing.T) {
	rng := rand.New(rand.NewPCG(55001, 1))
	start := t0.Truncate(time.Hour)
	at := func(m int) time.Time { return start.Add(time.Duration(m)*time.Minute + 30*time.Second) }
	cfg := Defaults()
	known := jobView{vs: []vertexView{{source: true, est: estimate{pending: 1000}}}}
	ahead := func(s *Series, m int, j jobView) load {
		ld := load{offered: 35000, forecast: 1, react: 3 * time.Minute, minutes: s, now: at(m), top: s.spanMax()}
		return ld.aheadOf(j, cfg)
	}

	s := feedMinutes(nil, start, 0, 88, surges(10, 30, 50, 70, 90), rng, 0.03)
	ld := ahead(s, 87, known)
	require.InDelta(t, 80000.0/35000, ld.forecast, 0.2, "the rise at 90, due in 2m30s, within the reaction time and a decision interval")
	require.Contains(t, ld.why, "forecast: the load rose from its level now to ×2.")
	require.Contains(t, ld.why, "4 times, every ~20m0s, the next due in ~2m30s: priced at it now")
	require.Equal(t, 1.0, ahead(s, 84, known).forecast, "due in 5m30s: not yet")
	// decide keeps State (its Minutes too) in KV as JSON: a restarted
	// decide forecasts the same from what it reads back
	data, err := json.Marshal(State{Minutes: s})
	require.NoError(t, err)
	var back State
	require.NoError(t, json.Unmarshal(data, &back))
	require.Equal(t, ld.forecast, ahead(back.Minutes, 87, known).forecast)
	blind := jobView{vs: []vertexView{{source: true, est: estimate{pending: -1}}}}
	require.Equal(t, 1.0, ahead(s, 87, blind).forecast, "a source without pendingRecords: its catch-ups read as rises")

	for name, f := range map[string]func(int) float64{
		"three rises":   surges(30, 50, 70),
		"random bursts": surges(5, 16, 38, 52, 75),
		"chance beat":   surges(2, 40, 51, 62, 73),
		"a step":        func(m int) float64 { return 35000 + 45000*float64(min(max(m-40, 0), 1)) },
		"a steady rise": func(m int) float64 { return 20000 + 400*float64(m) },
		"noise":         func(int) float64 { return 35000 },
	} {
		s := feedMinutes(nil, start, 0, 88, f, rng, 0.05)
		for m := 60; m < 88; m++ {
			require.Equal(t, 1.0, ahead(s, m, known).forecast, "%s, minute %d", name, m)
		}
	}
}

// ads-join-groups' 15-minute rises (seed 135001, its minute history at
// the release 1h17m in: -1 for minutes a restart hid) are on one beat,
// though the restarts' hidden minutes and the blind source's catch-up
// reads after them move single rises' middles by up to ~1.3 minutes: the
// gaps between middles are 13.5–17 minutes, more than riseAgree apart,
// while every middle lies within beatOff of the beat fitted through all
// five. A middle off that beat by more is still no beat.
func TestComebackOnABeatReadThroughRestarts(t *testing.T) {
	rates := []float64{21, 21, 22, 29, 38, 51, 59, 63, 61, -1, -1, -1, 52, 41, 20, 20, 23, 28, 39, 50, -1, -1, 111, 108, 100, 90, 77, 37, 25, 23, -1, -1, 25, 29, 39, 55, 68, 71, -1, -1, 61, 31, 24, 21, 20, 21, 24, 31, 38, -1, -1, 88, 89, -1, -1, 103, 96, 90, 60, 22, 21, 21, 23, 28, 40, 55, 69, 76, 70, 59, 45, 34, 26, 22, 21, 22}
	for i := range rates {
		if rates[i] > 0 {
			rates[i] *= 1000
		}
	}
	start := t0.Truncate(time.Hour)
	s := &Series{Start: start.Unix() / 60, Rates: rates}
	now := start.Add(77 * time.Minute)
	c, ok := s.comeback(now, 23253, 47139)
	require.True(t, ok, "five rises every ~15 min")
	require.Equal(t, 5, c.seen)
	require.InDelta(t, 15*time.Minute.Seconds(), c.every.Seconds(), 30)
	require.InDelta(t, 3*time.Minute.Seconds(), c.in.Seconds(), 60, "the last rose at 65")

	off := slices.Clone(rates)
	copy(off[35:45], rates[31:41]) // the third rise 4 minutes late
	_, ok = (&Series{Start: s.Start, Rates: off}).comeback(now, 23253, 47139)
	require.False(t, ok, "one rise 4 minutes (a quarter of the beat) late")
}
