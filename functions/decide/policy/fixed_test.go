package policy

import (
	"math"
	"math/rand/v2"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
)

// text.f writes what strconv's 'f' format writes, for every precision a
// decision uses: on values of every magnitude and sign, on halves (exact
// ties round to even) and on their neighbours one bit away.
func TestTextFMatchesStrconv(t *testing.T) {
	rng := rand.New(rand.NewPCG(18, 11))
	vals := []float64{0, math.Copysign(0, -1), 0.5, 1.5, 2.5, -2.5, 0.05, 0.15, 0.25, 0.125, 0.375, 1.005, 2.675,
		999999999.5, 1e9, -1e9, 1e9 - 1, 123456789.125, math.NaN(), math.Inf(1), math.Inf(-1), math.MaxFloat64,
		math.SmallestNonzeroFloat64, 5e-324, 0.49999999999999994, 0.5000000000000001, 4503599627370495.5}
	for range 200000 {
		x := math.Pow(10, rng.Float64()*14-6) * float64(1-2*rng.IntN(2))
		vals = append(vals, x)
	}
	for range 20000 { // halves at each precision, and one bit either side
		for _, scale := range []float64{1, 10, 100} {
			h := (float64(rng.IntN(2_000_000)) + 0.5) / scale
			vals = append(vals, h, math.Nextafter(h, 0), math.Nextafter(h, math.Inf(1)))
		}
	}
	var want, got []byte
	for _, x := range vals {
		for prec := range 3 {
			want = strconv.AppendFloat(append(want[:0], 'x'), x, 'f', prec, 64)
			got = text(append(got[:0], 'x')).f(x, prec)
			if string(want) != string(got) {
				require.Equal(t, string(want), string(got), "%v prec %d", x, prec)
			}
		}
	}
}

// appendFixed leaves to strconv what it cannot tell for sure.
func TestAppendFixedDeclines(t *testing.T) {
	for _, c := range []struct {
		name string
		x    float64
		prec int
	}{{"an exact half", 2.5, 0}, {"NaN", math.NaN(), 1}, {"too large", 2e9, 0}, {"precision 3", 1.25, 3}} {
		t.Run(c.name, func(t *testing.T) {
			b, ok := appendFixed(nil, c.x, c.prec)
			require.False(t, ok)
			require.Empty(t, b)
		})
	}
	b, ok := appendFixed(nil, -0.04, 1)
	require.True(t, ok)
	require.Equal(t, "-0.0", string(b))
}

func BenchmarkTextF(b *testing.B) {
	buf := make(text, 0, 64)
	for b.Loop() {
		buf = buf[:0].f(123.456, 1).f(0.8734, 2).f(98765.4, 0)
	}
}
