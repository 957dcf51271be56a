package policy

import (
	"encoding/json"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// windowFigures are float64s whose JSON takes every path of encoding/json's
// float encoding: zero and −0, exponent form below 1e-6 and from 1e21 on
// (e-07 written e-7), the shortest round-trip decimal in between.
var windowFigures = []float64{0, math.Copysign(0, -1), -1, 0.85, 1.0 / 3, 40000, 39683.82671731085, 1e-6, 9.99e-7,
	1e-7, 1.5e-300, 5e-324, 1e20, 1e21, 123456789e15, math.MaxFloat64, -math.MaxFloat64, -2.5e-9, 1e100}

// randomWindow is a window of n samples of m vertices with figures drawn
// from windowFigures and random doubles, times with and without fractions
// and zones.
func randomWindow(rng *rand.Rand, n, m int) []Sample {
	fig := func() float64 {
		if rng.IntN(2) == 0 {
			return windowFigures[rng.IntN(len(windowFigures))]
		}
		return math.Float64frombits(rng.Uint64()&^(0x7ff<<52) | uint64(rng.IntN(0x7ff))<<52) // finite
	}
	zones := []*time.Location{time.UTC, time.FixedZone("", 3600), time.FixedZone("", -5*3600-1800)}
	at := func() time.Time {
		if rng.IntN(5) == 0 {
			return time.Time{}
		}
		return time.Unix(1_700_000_000+rng.Int64N(1e8), rng.Int64N(1e9)*int64(rng.IntN(2))).In(zones[rng.IntN(len(zones))])
	}
	w := make([]Sample, n)
	for i := range w {
		w[i] = Sample{At: at(), Epoch: at(), Offered: fig()}
		if rng.IntN(10) > 0 {
			w[i].V = make([]VertexSample, m)
		}
		for j := range w[i].V {
			w[i].V[j] = VertexSample{P: rng.IntN(1000) - 1, BusyMax: fig(), BusyAvg: fig(), BP: fig(), In: fig(), Out: fig(), Pending: fig()}
		}
	}
	return w
}

// AppendWindow writes json.Marshal's bytes, and ParseWindow reads them back
// as json.Unmarshal does.
func TestWindowJSON(t *testing.T) {
	rng := rand.New(rand.NewPCG(16, 126001))
	for _, tc := range []struct {
		name string
		w    []Sample
	}{
		{"nil", nil},
		{"empty", []Sample{}},
		{"one sample without vertices", []Sample{{At: t0, Epoch: t0}}},
		{"empty vertices", []Sample{{At: t0, V: []VertexSample{}}}},
		{"random 1×1", randomWindow(rng, 1, 1)},
		{"random 60×10", randomWindow(rng, 60, 10)},
		{"random 200×3", randomWindow(rng, 200, 3)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := json.Marshal(tc.w)
			require.NoError(t, err)
			got, ok := AppendWindow([]byte("x"), tc.w)
			require.True(t, ok)
			require.Equal(t, "x"+string(want), string(got))
			if tc.w == nil {
				return
			}
			requireParsesAsJSON(t, append(want, `,"rest":1}`...))
		})
	}
}

// A window json.Marshal refuses is refused too.
func TestAppendWindowRefusesWhatJSONRefuses(t *testing.T) {
	for name, w := range map[string][]Sample{
		"NaN":        {{At: t0, Offered: math.NaN()}},
		"infinite":   {{At: t0, V: []VertexSample{{In: math.Inf(1)}}}},
		"year 10000": {{At: time.Date(10000, 1, 1, 0, 0, 0, 0, time.UTC)}},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := json.Marshal(w)
			require.Error(t, err)
			_, ok := AppendWindow(nil, w)
			require.False(t, ok)
		})
	}
}

// requireParsesAsJSON: when ParseWindow reads a window from b, json.Unmarshal
// reads the same from the bytes it took.
func requireParsesAsJSON(t *testing.T, b []byte) {
	t.Helper()
	got, n, ok := ParseWindow(b)
	if !ok {
		return
	}
	var want []Sample
	require.NoError(t, json.Unmarshal(b[:n], &want), "%q", b[:n])
	require.Equal(t, want, got)
}

// TestParseWindowForms: the form AppendWindow writes is read; other forms
// are left to encoding/json.
func TestParseWindowForms(t *testing.T) {
	for _, tc := range []struct {
		in string
		ok bool
	}{
		{`[]`, true},
		{`[{"t":"2026-11-21T09:00:00Z","e":"0001-01-01T00:00:00Z","o":1.5,"v":[]}]`, true},
		{`[{"t":"2026-11-21T09:00:00.5+01:00","e":"2026-11-21T09:00:00Z","o":-0,"v":[{"p":4,"bm":0.9,"ba":-1,"bp":0,"i":1e21,"x":2.5e-7,"q":-1}]}],"next":1`, true},
		{`null`, false},
		{`[{"t":"2026-11-21T09:00:00Z","e":"2026-11-21T09:00:00Z","o":1,"v":null}]`, false},
		{`[ ]`, false},
		{`[{"e":"2026-11-21T09:00:00Z","t":"2026-11-21T09:00:00Z","o":1,"v":[]}]`, false},
		{`[{"T":"2026-11-21T09:00:00Z","e":"2026-11-21T09:00:00Z","o":1,"v":[]}]`, false},
		{`[{"t":"2026-11-21T09:00:00\u005a","e":"2026-11-21T09:00:00Z","o":1,"v":[]}]`, false},
		{`[{"t":null,"e":"2026-11-21T09:00:00Z","o":1,"v":[]}]`, false},
		{`[{"t":"2026-11-21T09:00:00Z","e":"2026-11-21T09:00:00Z","o":01,"v":[]}]`, false},
		{`[{"t":"2026-11-21T09:00:00Z","e":"2026-11-21T09:00:00Z","o":1e400,"v":[]}]`, false},
		{`[{"t":"2026-11-21T09:00:00Z","e":"2026-11-21T09:00:00Z","o":.5,"v":[]}]`, false},
		{`[{"t":"2026-11-21T09:00:00Z","e":"2026-11-21T09:00:00Z","o":1,"v":[{"p":4.0,"bm":0,"ba":0,"bp":0,"i":0,"x":0,"q":0}]}]`, false},
		{`[{"t":"2026-11-21T09:00:00Z","e":"2026-11-21T09:00:00Z","o":1,"v":[{"p":4,"bm":0,"ba":0,"bp":0,"i":0,"x":0,"q":0,"z":1}]}]`, false},
		{`[{"t":"2026-11-21T09:00:00Z","e":"2026-11-21T09:00:00Z","o":1,"v":[]},]`, false},
		{`[{"t":"2026-11-21T09:00:00Z","e":"2026-11-21T09:00:00Z","o":1,"v":[]}`, false},
		{`[{"t":"2026-11-21T09:00:00Z","e":"2026-11-21T09:00:00Z","o":1.,"v":[]}]`, false},
		{`[{"t":"2026-11-21T09:00:00Z","e":"2026-11-21T09:00:00Z","o":1.e5,"v":[]}]`, false},
		{`[{"t":"2026-11-21T09:00:00Z","e":"2026-11-21T09:00:00Z","o":-,"v":[]}]`, false},
		{`[{"t":"2026-11-21T09:00:00Z","e":"2026-11-21T09:00:00Z","o":1e+,"v":[]}]`, false},
		{`[{"t":"2026-11-21T09:00:00Z","e":"2026-11-21T09:00:00Z","o":+1,"v":[]}]`, false},
		{`[{"t":"2026-11-21T09:00:00Z","e":"2026-11-21T09:00:00Z","o":-0.5E-3,"v":[]}]`, true},
		{`[{"t":"2026-11-21T25:00:00Z","e":"2026-11-21T09:00:00Z","o":1,"v":[]}]`, false},
	} {
		t.Run(tc.in, func(t *testing.T) {
			_, _, ok := ParseWindow([]byte(tc.in))
			require.Equal(t, tc.ok, ok)
			requireParsesAsJSON(t, []byte(tc.in))
		})
	}
}

// FuzzParseWindow: whatever ParseWindow reads, json.Unmarshal reads the same.
func FuzzParseWindow(f *testing.F) {
	rng := rand.New(rand.NewPCG(16, 126002))
	for _, w := range [][]Sample{{}, randomWindow(rng, 2, 2), randomWindow(rng, 3, 1)} {
		b, _ := json.Marshal(w)
		f.Add(b)
	}
	f.Add([]byte(`[{"t":"2026-11-21T09:00:00Z","e":"2026-11-21T09:00:00Z","o":-0.0e+0,"v":[{"p":-0,"bm":1E5,"ba":0,"bp":0,"i":0,"x":0,"q":0}]}]`))
	f.Fuzz(func(t *testing.T, b []byte) {
		requireParsesAsJSON(t, b)
	})
}
