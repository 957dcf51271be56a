package flinksim

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// series draws n seconds of relative deviation rate/clean − 1 of l.
func series(l *Load, n int) []float64 {
	g := newLoadGen(l, 3, 0)
	out := make([]float64, n)
	for i := range out {
		r, clean := g.rate(time.Duration(i) * time.Second)
		out[i] = r/clean - 1
	}
	return out
}

// autocorrelation of xs at lag k.
func autocorrelation(xs []float64, k int) float64 {
	m := 0.0
	for _, x := range xs {
		m += x
	}
	m /= float64(len(xs))
	num, den := 0.0, 0.0
	for i, x := range xs {
		den += (x - m) * (x - m)
		if i+k < len(xs) {
			num += (x - m) * (xs[i+k] - m)
		}
	}
	return num / den
}

func stddev(xs []float64) float64 {
	m, v := 0.0, 0.0
	for _, x := range xs {
		m += x
	}
	m /= float64(len(xs))
	for _, x := range xs {
		v += (x - m) * (x - m)
	}
	return math.Sqrt(v / float64(len(xs)))
}

// TestCorrelatedNoise: the correlated fluctuation has the configured
// standard deviation and correlation time (autocorrelation e^(−lag/τ)),
// and survives a 60 s average, which per-second noise does not.
func TestCorrelatedNoise(t *testing.T) {
	const days = 2
	l := Load{Pattern: PatternConstant, Rate: 1000, CorrelatedNoise: 0.1, NoiseCorrelation: 5 * time.Minute}
	xs := series(&l, days*86400)
	require.InDelta(t, 0.1, stddev(xs), 0.015)
	require.InDelta(t, math.Exp(-1.0/5), autocorrelation(xs, 60), 0.06)
	require.InDelta(t, math.Exp(-1.0), autocorrelation(xs, 300), 0.08)

	iid := series(&Load{Pattern: PatternConstant, Rate: 1000, Noise: 0.17}, days*86400) // same σ: 0.17/√3
	require.InDelta(t, 0, autocorrelation(iid, 60), 0.02)
	avg := func(xs []float64) []float64 {
		var out []float64
		for i := 0; i+60 <= len(xs); i += 60 {
			s := 0.0
			for _, x := range xs[i : i+60] {
				s += x
			}
			out = append(out, s/60)
		}
		return out
	}
	require.Greater(t, stddev(avg(xs)), 0.07, "a minute's mean keeps most of a 5 min correlated fluctuation")
	require.Less(t, stddev(avg(iid)), 0.02, "a minute's mean erases per-second noise")
}

// TestBursts: bursts multiply the rate by their magnitude for their
// duration, about perHour times an hour.
func TestBursts(t *testing.T) {
	l := Load{Pattern: PatternConstant, Rate: 100, Bursts: &Bursts{PerHour: 3, Magnitude: 2, Duration: 2 * time.Minute}}
	g := newLoadGen(&l, 5, 0)
	const hours = 200
	on, starts := 0, 0
	prev := false
	for i := range hours * 3600 {
		r, _ := g.rate(time.Duration(i) * time.Second)
		require.Contains(t, []float64{100, 200}, r)
		cur := r == 200
		if cur {
			on++
		}
		if cur && !prev {
			starts++
		}
		prev = cur
	}
	require.InDelta(t, 3.0, float64(starts)/hours, 0.4)
	require.InDelta(t, 120.0, float64(on)/float64(starts), 1) // each lasts its duration
}

// TestLoadDefaultsUnchanged: without the new fields the generator draws
// exactly what it drew before (the noise stream is untouched).
func TestLoadDefaultsUnchanged(t *testing.T) {
	a := series(&Load{Pattern: PatternConstant, Rate: 1000, Noise: 0.1}, 100)
	b := series(&Load{Pattern: PatternConstant, Rate: 1000, Noise: 0.1, Bursts: &Bursts{PerHour: 1e-9, Magnitude: 2, Duration: time.Second}}, 100)
	require.Equal(t, a, b)
}

func TestLoadDisturbanceValidation(t *testing.T) {
	for _, tc := range []struct{ yaml, path string }{
		{"correlatedNoise: 1.5", "load.correlatedNoise"},
		{"noiseCorrelation: 1m", "load.noiseCorrelation"},
		{"correlatedNoise: 0.1\n  noiseCorrelation: -1m", "load.noiseCorrelation"},
		{"bursts: {magnitude: 2, duration: 1m}", "load.bursts.perHour"},
		{"bursts: {perHour: 1, magnitude: 0, duration: 1m}", "load.bursts.magnitude"},
		{"bursts: {perHour: 1, magnitude: 2}", "load.bursts.duration"},
	} {
		_, err := ParseScenario([]byte(minimalScenario+"  "+tc.yaml+"\n"), ".")
		var ve *ValidationError
		require.ErrorAs(t, err, &ve, tc.yaml)
		require.Equal(t, tc.path, ve.Problems[0].Path, tc.yaml)
	}
	sc, err := ParseScenario([]byte(minimalScenario+"  correlatedNoise: 0.2\n  bursts: {perHour: 2, magnitude: 1.5, duration: 90s}\n"), ".")
	require.NoError(t, err)
	require.Equal(t, defaultNoiseCorrelation, sc.Load.NoiseCorrelation)
	require.Equal(t, &Bursts{PerHour: 2, Magnitude: 1.5, Duration: 90 * time.Second}, sc.Load.Bursts)
}

// minimalScenario ends inside the load block, so a test can append load
// fields (indented by two spaces) or, unindented, further blocks.
const minimalScenario = `name: m
duration: 1h
seed: 1
job:
  name: m
  vertices:
    - {name: "Source: s", capacity: 1000, partitions: 8, parallelism: 2}
    - {name: k, inputs: ["Source: s"], keyed: true, capacity: 1000, parallelism: 2}
load:
  pattern: constant
  rate: 1000
`
