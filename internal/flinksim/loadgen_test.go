package flinksim

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func TestLoadPatterns(t *testing.T) {
	cases := []struct {
		name string
		load Load
		at   time.Duration
		want float64
	}{
		{"constant", Load{Pattern: PatternConstant, Rate: 7}, time.Hour, 7},
		{"step holds", Load{Pattern: PatternStep, Steps: []LoadStep{{0, 1}, {time.Minute, 5}}}, 90 * time.Second, 5},
		{"step before change", Load{Pattern: PatternStep, Steps: []LoadStep{{0, 1}, {time.Minute, 5}}}, 59 * time.Second, 1},
		{"sine quarter", Load{Pattern: PatternSine, Mean: 10, Amplitude: 4, Period: 4 * time.Minute}, time.Minute, 14},
		{"cosine start", Load{Pattern: PatternCosine, Mean: 10, Amplitude: 4, Period: time.Hour}, 0, 14},
		{"cosine clamps at 0", Load{Pattern: PatternCosine, Mean: 1, Amplitude: 4, Period: time.Hour}, 30 * time.Minute, 0},
		{"trace interpolates", Load{Pattern: PatternTrace, Trace: []TracePoint{{0, 10}, {time.Minute, 70}}}, 30 * time.Second, 40},
		{"trace holds last", Load{Pattern: PatternTrace, Trace: []TracePoint{{0, 10}, {time.Minute, 70}}}, time.Hour, 70},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			g := newLoadGen(&tc.load, 1, 0)
			got, _ := g.rate(tc.at)
			require.InDelta(t, tc.want, got, 1e-9)
		})
	}
}

func TestRandomLoadsStayInBounds(t *testing.T) {
	walk := Load{Pattern: PatternRandomWalk, Start: 100, MaxStep: 50, Min: 20, Max: 200, Noise: 0.1}
	spikes := Load{Pattern: PatternSpikes, Base: &Load{Pattern: PatternConstant, Rate: 10},
		ProbabilityPerMinute: 0.2, Magnitude: 3, SpikeDuration: 2 * time.Minute}
	gw, gs := newLoadGen(&walk, 9, 0), newLoadGen(&spikes, 9, 0)
	spiked := false
	for s := range 6 * 3600 {
		at := time.Duration(s) * time.Second
		r, clean := gw.rate(at)
		require.GreaterOrEqual(t, clean, 20.0)
		require.LessOrEqual(t, clean, 200.0)
		require.InDelta(t, clean, r, clean*0.1+1e-9)
		sr, _ := gs.rate(at)
		require.Contains(t, []float64{10, 30}, sr)
		spiked = spiked || sr == 30
	}
	require.True(t, spiked)
}
