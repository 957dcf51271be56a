package policy

import (
	"math"
	"reflect"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

func windowSample(k int, offered float64) Sample {
	at := time.Date(2026, 1, 1, 0, 0, 10*k, 0, time.UTC)
	return Sample{At: at, Epoch: at, Offered: offered, V: []VertexSample{{P: 2, BusyMax: 0.5, BusyAvg: 0.4, In: offered, Out: offered, Pending: -1}}}
}

// Two windows grown from one window by different samples each keep their
// own sample: the second finds the first's in the free slot and copies.
func TestWithSampleNeverChangesAWindow(t *testing.T) {
	var w []Sample
	for k := range 5 {
		w = withSample(w, windowSample(k, 100), time.Hour, 100)
	}
	require.Greater(t, cap(w), len(w), "room for the next sample")
	a := withSample(w, windowSample(5, 200), time.Hour, 100)
	b := withSample(w, windowSample(5, 300), time.Hour, 100)
	again := withSample(w, windowSample(5, 200), time.Hour, 100)
	require.Len(t, w, 5)
	require.Equal(t, 200.0, a[5].Offered)
	require.Equal(t, 300.0, b[5].Offered)
	require.Equal(t, 200.0, again[5].Offered)
	require.Same(t, &a[5], &w[:6][5], "a took the free slot")
	require.NotSame(t, &b[5], &w[:6][5], "b copied")
	require.Same(t, &again[5], &a[5], "the same sample shares the slot")
	for k := range 5 {
		require.Equal(t, windowSample(k, 100), w[k])
		require.Equal(t, windowSample(k, 100), b[k])
	}
	// trimmed to the last 3 samples, then grown past its array
	c := w
	for k := 6; k < 40; k++ {
		c = withSample(c, windowSample(k, float64(k)), time.Hour, 3)
		require.Len(t, c, 3)
		if k >= 8 {
			require.Equal(t, []float64{float64(k - 2), float64(k - 1), float64(k)}, []float64{c[0].Offered, c[1].Offered, c[2].Offered})
		}
	}
}

// sameSample tells apart samples that differ in any one field, −0 and 0
// included; a field added to Sample or VertexSample fails here until
// sameSample compares it.
func TestSameSampleComparesEveryField(t *testing.T) {
	base := windowSample(1, 100)
	require.True(t, sameSample(base, windowSample(1, 100)))
	require.Equal(t, 4, reflect.TypeFor[Sample]().NumField(), "sameSample compares every field of Sample")
	require.Equal(t, 7, reflect.TypeFor[VertexSample]().NumField(), "sameSample compares every field of VertexSample")
	zero := math.Copysign(0, -1)
	for _, change := range []func(s *Sample){
		func(s *Sample) { s.At = s.At.Add(time.Second) },
		func(s *Sample) { s.Epoch = s.Epoch.Add(-time.Second) },
		func(s *Sample) { s.Epoch = s.Epoch.In(time.FixedZone("x", 0)) },
		func(s *Sample) { s.Offered = 101 },
		func(s *Sample) { s.V = nil },
		func(s *Sample) { s.V[0].P = 3 },
		func(s *Sample) { s.V[0].BusyMax = 0.6 },
		func(s *Sample) { s.V[0].BusyAvg = 0.6 },
		func(s *Sample) { s.V[0].BP = zero },
		func(s *Sample) { s.V[0].In = 1 },
		func(s *Sample) { s.V[0].Out = 1 },
		func(s *Sample) { s.V[0].Pending = 1 },
	} {
		s := windowSample(1, 100)
		change(&s)
		require.False(t, sameSample(base, s))
	}
}
