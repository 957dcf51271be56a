package policy

import (
	"strings"
	"testing"
	"time"

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

// A load that doubles at the same time of every 2-hour period: once two
// periods have shown the rise, the scale-up comes before it, its rationale
// says "forecast", and the lag at the rise stays under the SLO.
func TestOursForecastsARepeatingRise(t *testing.T) {
	cfg := Defaults()
	cfg.Forecast = 2 * time.Hour
	job := newSimJob(t0, []string{"source", "map", "sink"},
		[]float64{1e6, 2000, 1e6}, []float64{1, 1, 1}, []float64{1, 1, 0}, []int{1, 6, 1}, 30)
	rate := func(s int) float64 {
		if in := s % 7200; in >= 3600 && in < 5400 {
			return 20000
		}
		return 10000
	}
	var st State
	forecasts := 0
	maxLagAtRise := 0.0
	for s := 1; s <= 4*7200; s++ {
		job.step(rate(s))
		if in := s % 7200; s > 3*7200 && in >= 3600 && in < 3900 {
			maxLagAtRise = max(maxLagAtRise, job.pending/20000)
		}
		if s%10 != 0 {
			continue
		}
		snap := job.snapshot()
		o := Decide(Input{Snapshot: snap, State: st, Config: cfg, Now: snap.ObservedAt})
		st = o.NewState
		if o.Decision != nil {
			job.apply(o.Decision)
			if strings.Contains(o.Decision.Rationale, "forecast") {
				forecasts++
				require.Greater(t, s, 2*7200, "forecast before two periods were seen: %s", o.Decision.Rationale)
				// what it traded, in numbers (as every decision in the bench)
				require.Regexp(t, `\d+(\.\d+)? restarts?\b`, o.Decision.Rationale)
				require.Regexp(t, `\d+ s over the SLO|lag ~?\d+ s\b`, o.Decision.Rationale)
				require.Regexp(t, `[+-]?\d+ slot-s/h|\d+ slots\b`, o.Decision.Rationale)
				t.Logf("t=%ds %s", s, o.Decision.Rationale)
			}
		}
	}
	require.Positive(t, forecasts)
	require.Less(t, maxLagAtRise, cfg.SLO.MaxLag.Seconds(), "lag at the last rise")
}

// A surge that comes every 40 minutes: once four have been seen, the
// scale-up for the next comes in the trough before it (its rationale says
// "forecast" and names the trade), and the lag at the later surges is
// lower than at the first ones, answered after they came.
func TestOursScalesAheadOfARiseSeenToRepeat(t *testing.T) {
	cfg := Defaults()
	job := newSimJob(t0, []string{"source", "map", "sink"},
		[]float64{1e6, 2000, 1e6}, []float64{1, 1, 1}, []float64{1, 1, 0}, []int{1, 6, 1}, 30)
	const every = 2400
	surge := func(s int) bool { return s%every >= 600 && s%every < 900 }
	rate := func(s int) float64 {
		if surge(s) {
			return 40000
		}
		return 10000
	}
	var st State
	ahead := 0
	lagAt := map[int]float64{} // the most lag during each surge
	for s := 1; s <= 12*every; s++ {
		job.step(rate(s))
		if surge(s) {
			lagAt[s/every] = max(lagAt[s/every], job.pending/40000)
		}
		if s%10 != 0 {
			continue
		}
		snap := job.snapshot()
		o := Decide(Input{Snapshot: snap, State: st, Config: cfg, Now: snap.ObservedAt})
		st = o.NewState
		if o.Decision == nil {
			continue
		}
		job.apply(o.Decision)
		t.Logf("t=%ds %s", s, o.Decision.Rationale)
		if strings.Contains(o.Decision.Rationale, "priced at it now") {
			ahead++
			require.False(t, surge(s), "a forecast scale-up in the surge it forecast: %s", o.Decision.Rationale)
			require.Greater(t, s, 3*every+600, "forecast before four surges were seen")
			require.Regexp(t, `\d+(\.\d+)? restarts?\b`, o.Decision.Rationale)
			require.Regexp(t, `[+-]?\d+ slot-s/h`, o.Decision.Rationale)
		}
	}
	t.Logf("most lag per surge: %v", lagAt)
	require.Positive(t, ahead, "no scale-up ahead of a surge seen to repeat")
	require.Less(t, max(lagAt[9], lagAt[10], lagAt[11]), 10.0, "lag at the late surges (the first ones: %.0f s)", min(lagAt[0], lagAt[1], lagAt[2]))
}
