package policy

import (
	"math"
	"testing"
)

// TestMinMaxFAreMathMinMax: maxF and minF return math.Max's and
// math.Min's bits for every pair of special and ordinary values.
func TestMinMaxFAreMathMinMax(t *testing.T) {
	vals := []float64{
		math.NaN(), math.Inf(1), math.Inf(-1), 0, math.Copysign(0, -1),
		1, -1, 0.5, -0.5, 1e308, -1e308, math.MaxFloat64, -math.MaxFloat64,
		math.SmallestNonzeroFloat64, -math.SmallestNonzeroFloat64, 2.5e-310, 3, 1 + 1e-15,
	}
	for _, x := range vals {
		for _, y := range vals {
			if got, want := maxF(x, y), math.Max(x, y); math.Float64bits(got) != math.Float64bits(want) {
				t.Errorf("maxF(%v, %v) = %v, math.Max %v", x, y, got, want)
			}
			if got, want := minF(x, y), math.Min(x, y); math.Float64bits(got) != math.Float64bits(want) {
				t.Errorf("minF(%v, %v) = %v, math.Min %v", x, y, got, want)
			}
		}
	}
}
