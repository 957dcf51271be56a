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
// measured in one pass over the window (as drift measures one). around is
// the same measured around trend (share of the load per second,
// loadTrend): the changes left when a rise that goes on is priced as the
// rise, not as uncertainty both ways (plain when trend is 0).
func loadDrift(w []Sample, capped []bool, settle, tau, rateWindow time.Duration, trend float64) (plain, around float64) {
	grow := math.Sqrt(float64(tau) / float64(rateWindow))
	switch {
	case rateWindow <= 0 || rateWindow >= tau:
		plain = drift(w, capped, settle, tau, 0)
		if trend == 0 {
			return plain, plain
		}
		return plain, drift(w, capped, settle, tau, trend)
	case len(w) > maxDriftSamples:
		plain = minF(drift(w, capped, settle, tau, 0), drift(w, capped, settle, rateWindow, 0)*grow)
		if trend == 0 {
			return plain, plain
		}
		return plain, minF(drift(w, capped, settle, tau, trend), drift(w, capped, settle, rateWindow, trend)*grow)
	}
	var t windowTimes
	t.of(w, settle)
	return loadDriftTimes(w, capped, t.ts[:len(w)], t.settled[:len(w)], tau, rateWindow, trend)
}

// loadDriftTimes is loadDrift's one pass with the window's times worked
// out (windowTimes: ts and settled, one per sample of w; len(w) ≤
// maxDriftSamples, 0 < rateWindow < tau).
func loadDriftTimes(w []Sample, capped []bool, ts []time.Duration, settled []bool, tau, rateWindow time.Duration, trend float64) (plain, around float64) {
	grow := math.Sqrt(float64(tau) / float64(rateWindow))
	var ok [maxDriftSamples]bool // settled and not capped
	var all lineMoments
	for i := range w {
		ok[i] = settled[i] && !at(capped, i)
		if ok[i] {
			all.add(ts[i].Seconds(), w[i].Offered)
		}
	}
	// per pair the change's size, as read and around the trend
	var longs, shorts, longsT, shortsT [maxDriftSamples]float64
	nl, ns := 0, 0
	kl, ks := 0, 0
	for i := range w {
		a := &w[i]
		if !ok[i] || a.Offered <= 0 {
			continue
		}
		if k, found := pairAt(ts[:len(w)], ok[:len(w)], i, &kl, tau); found {
			c := (w[k].Offered - a.Offered) / a.Offered
			longs[nl], longsT[nl] = math.Abs(c), math.Abs(c-trend*(ts[k]-ts[i]).Seconds())
			nl++
		}
		if k, found := pairAt(ts[:len(w)], ok[:len(w)], i, &ks, rateWindow); found {
			c := (w[k].Offered - a.Offered) / a.Offered
			shorts[ns], shortsT[ns] = math.Abs(c), math.Abs(c-trend*(ts[k]-ts[i]).Seconds())
			ns++
		}
	}
	both := func(longs, shorts []float64) float64 {
		long, short := all.spread(), all.spread() // drift's fallback with fewer than three pairs
		if len(longs) >= 3 {
			long = madScale * median(longs)
		}
		if len(shorts) >= 3 {
			short = madScale * median(shorts)
		}
		return minF(long, short*grow)
	}
	plain = both(longs[:nl], shorts[:ns])
	if trend == 0 {
		return plain, plain
	}
	return plain, both(longsT[:nl], shortsT[:ns])
}

// offTrend is b's offered rate relative to a's, less the rise trend (share
// of the load per second) makes between them.
func offTrend(a, b Sample, trend float64) float64 {
	return (b.Offered-a.Offered)/a.Offered - trend*b.At.Sub(a.At).Seconds()
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
