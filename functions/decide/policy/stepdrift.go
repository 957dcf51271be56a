package policy

import (
	"math"
	"time"
)

// loadDrift is the load's relative uncertainty over tau: drift at tau, or,
// when smaller, drift at the rate window (the rates' own resolution)
// grown to tau as a random walk's change grows (× √(tau ÷ rate window)).
// The second does not see a step of the load that the pairs tau apart
// straddle: with a short settled history (a restart a few minutes before
// the step) those are most of the pairs, and their median was the step
// itself (faults: ±70–95 % after its 30k → 60k step, sizing +150 %).
// For noise that does not accumulate the first is the smaller.
func loadDrift(w []Sample, capped []bool, settle, tau, rateWindow time.Duration) float64 {
	long := drift(w, capped, settle, tau)
	if rateWindow <= 0 || rateWindow >= tau {
		return long
	}
	short := drift(w, capped, settle, rateWindow) * math.Sqrt(float64(tau)/float64(rateWindow))
	return math.Min(long, short)
}
