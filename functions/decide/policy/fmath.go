package policy

import "math"

// maxF is math.Max(x, y), bit for bit (NaN, infinities and signed zeros
// included: when neither is above the other it is math.Max's answer),
// written so the compiler inlines it. math.Max is an assembly call on
// amd64, and pricing's lag paths make thousands of them a decision.
func maxF(x, y float64) float64 {
	if x > y {
		return x
	}
	if y > x {
		return y
	}
	return math.Max(x, y)
}

// minF is math.Min(x, y), bit for bit, inlined (maxF).
func minF(x, y float64) float64 {
	if x < y {
		return x
	}
	if y < x {
		return y
	}
	return math.Min(x, y)
}
