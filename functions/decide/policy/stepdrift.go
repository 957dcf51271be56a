package policy

import (
	"math"
	"slices"
	"time"
)

// loadDrift is the load's relative uncertainty over tau: drift at tau, or,
// when smaller, drift at the rate window (the rates' own resolution)
// grown to tau as a random walk's change grows (× √(tau ÷ rate window)).
// The second does not see a step of the load that the pairs tau apart
// straddle: with a short settled history (a restart a few minutes before
// the step) those are most of the pairs, and their median was the step
// itself (faults: ±70–95 % after its 30k → 60k step, sizing +150 %).
// For noise that does not accumulate the first is the smaller. Both are
// measured in one pass over the window (as drift measures one).
func loadDrift(w []Sample, capped []bool, settle, tau, rateWindow time.Duration) float64 {
	switch {
	case rateWindow <= 0 || rateWindow >= tau:
		return drift(w, capped, settle, tau)
	case len(w) > maxDriftSamples:
		return math.Min(drift(w, capped, settle, tau), drift(w, capped, settle, rateWindow)*math.Sqrt(float64(tau)/float64(rateWindow)))
	}
	var ts [maxDriftSamples]time.Duration // since the first sample
	var ok [maxDriftSamples]bool          // settled and not capped
	var all moments
	for i, s := range w {
		ts[i] = s.At.Sub(w[0].At)
		ok[i] = s.At.Sub(s.Epoch) >= settle && !at(capped, i)
		if ok[i] {
			all.add(s.Offered)
		}
	}
	var longs, shorts [maxDriftSamples]float64
	nl, ns := 0, 0
	kl, ks := 0, 0
	for i, a := range w {
		if !ok[i] || a.Offered <= 0 {
			continue
		}
		if k, found := pairAt(ts[:len(w)], ok[:len(w)], i, &kl, tau); found {
			longs[nl] = math.Abs(w[k].Offered-a.Offered) / a.Offered
			nl++
		}
		if k, found := pairAt(ts[:len(w)], ok[:len(w)], i, &ks, rateWindow); found {
			shorts[ns] = math.Abs(w[k].Offered-a.Offered) / a.Offered
			ns++
		}
	}
	long, short := all.cv(), all.cv() // drift's fallback with fewer than three pairs
	if nl >= 3 {
		long = madScale * median(longs[:nl])
	}
	if ns >= 3 {
		short = madScale * median(shorts[:ns])
	}
	return math.Min(long, short*math.Sqrt(float64(tau)/float64(rateWindow)))
}

// maxDriftSamples bounds the windows loadDrift measures in one pass on
// the stack (Config.MaxSamples is 120 by default); longer ones take two
// passes of drift.
const maxDriftSamples = 256

// pairAt advances *k to the first usable sample at least tau after sample
// i and reports it when it is within 1.5 tau (drift's pairing).
func pairAt(ts []time.Duration, ok []bool, i int, k *int, tau time.Duration) (int, bool) {
	*k = max(*k, i+1)
	for *k < len(ts) && (ts[*k]-ts[i] < tau || !ok[*k]) {
		*k++
	}
	return *k, *k < len(ts) && ts[*k]-ts[i] <= tau*3/2
}

// median sorts xs and returns its median.
func median(xs []float64) float64 {
	slices.Sort(xs)
	m := len(xs) / 2
	if len(xs)%2 == 0 {
		return (xs[m-1] + xs[m]) / 2
	}
	return xs[m]
}
