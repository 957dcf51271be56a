package policy

import "math"

// maxF is math.Max(x, y), bit for bit (NaN, infinities and signed zeros
// included), written so the compiler inlines it. math.Max is an assembly
// call on amd64, and pricing's lag paths make thousands of them a
// decision. Equal arguments have the same bits unless they are zeros of
// two signs, where math.Max is +0 unless both are −0: their bits' AND.
// Otherwise one is a NaN: math.Max is +Inf if the other is, else NaN.
func maxF(x, y float64) float64 {
	switch {
	case x > y:
		return x
	case y > x:
		return y
	case x == y:
		return math.Float64frombits(math.Float64bits(x) & math.Float64bits(y))
	case x > math.MaxFloat64 || y > math.MaxFloat64:
		return math.Inf(1)
	}
	return math.NaN()
}

// minF is math.Min(x, y), bit for bit, inlined (maxF). Equal zeros: −0
// unless both are +0, their bits' OR; with a NaN, −Inf if the other is.
func minF(x, y float64) float64 {
	switch {
	case x < y:
		return x
	case y < x:
		return y
	case x == y:
		return math.Float64frombits(math.Float64bits(x) | math.Float64bits(y))
	case x < -math.MaxFloat64 || y < -math.MaxFloat64:
		return math.Inf(-1)
	}
	return math.NaN()
}
