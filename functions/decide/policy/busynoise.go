package policy

import (
	"math"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// A vertex whose input is split by key groups or partitions is sized from
// its busiest subtask: Flink's busy time max over the subtasks. Measured
// busy time carries a per-subtask error (machines that differ, noisy
// neighbours: a relative error σ drawn per deploy), and the maximum of p
// readings is biased up by about σ × the expected maximum of p standard
// normals (5 % at p = 4, 7 % at 8, 9 % at 16 with σ = 5 %), so the busiest
// subtask's true rate, and the vertex's capacity, read that much short.
// Session 16 traced clickstream-bursts' Sessionize reading 3–9 % under the
// emulator's truth, and the raises bought against it.
//
// busyNoise measures σ from the job itself: a vertex whose input is spread
// evenly (no key groups, no partitions) has subtasks of equal load, so its
// busy max over its busy average, less one, is the noise's maximum over its
// subtasks (σ × (max of p normals − their mean), whose expectation is σ ×
// e(p)). busiestBusy then reads a keyed vertex's busiest subtask as the
// level its busy average gives (the even share) raised by the part of the
// max the noise does not explain.

// noiseMinBusy is the busy average from which an even vertex's max ÷ avg
// is read as noise: below it a fixed overhead may differ between subtasks.
const noiseMinBusy = 0.3

// noiseDeploys is how many deploys' readings of σ the running mean
// weighs (a deploy draws each subtask's error once, so one deploy of a
// vertex at p = 2 reads σ within about ±75 %).
const noiseDeploys = 8

// busyNoise is σ, the relative error of a subtask's measured busy time:
// the deploys before this one (st.BusyNoise) and this one (epochNoise)
// each weigh one. 0 when none was read.
func busyNoise(st State, units func(i int) int, settle time.Duration) float64 {
	n := min(st.BusyNoise.Deploys, noiseDeploys)
	sum := st.BusyNoise.Sigma * float64(n)
	if x, ok := windowNoise(st, units, settle).sigma(); ok {
		sum, n = sum+x, n+1
	}
	if n == 0 {
		return 0
	}
	return sum / float64(n)
}

// learnNoise folds the deploy that just ended (prev's epoch, read from
// prev's window) into the running mean of σ.
func learnNoise(prev State, units func(i int) int, settle time.Duration) NoiseEstimate {
	e := prev.BusyNoise
	x, ok := windowNoise(prev, units, settle).sigma()
	if !ok {
		return e
	}
	n := min(e.Deploys, noiseDeploys-1)
	return NoiseEstimate{Sigma: (e.Sigma*float64(n) + x) / float64(n+1), Deploys: e.Deploys + 1}
}

// windowNoise is epochNoise's sum over st's window and epoch: st.Noise
// when it was kept for this window (gateRecord), else the walk.
func windowNoise(st State, units func(i int) int, settle time.Duration) NoiseSum {
	even, ok := evenMask(st.Window, units)
	if ok && st.Noise.keptFor(st.Window, st.Epoch, settle, even) {
		return st.Noise
	}
	return epochNoise(st.Window, st.Epoch, units, settle)
}

// noiseScale is 1 ÷ the resolution of epochNoise's terms: each is rounded
// to a multiple of 2⁻³⁶ (1.5 × 10⁻¹¹) and summed as an integer, so the sum
// is exact, the same in any order, and a running sum that takes out the
// samples leaving the window (NoiseSum, kept by gateRecord) equals the
// walk bit for bit. |term| < 8 (busy average ≥ noiseMinBusy, max < 1,
// e(p) ≥ e(2)), so the int64 holds 2²⁴ terms (a window of 10,000 samples
// of 1,600 vertices); wrapping arithmetic keeps a partial sum past that
// exact as long as the total is within it.
const noiseScale = 1 << 36

// noiseTerm is a sample's vertex's term of epochNoise, (busy max ÷ busy
// avg − 1) ÷ e(p) in units of 1/noiseScale, when the vertex is read: at
// least two subtasks, busy on average at least noiseMinBusy, not
// saturated (its input spread evenly is the caller's check).
func noiseTerm(x *VertexSample) (int64, bool) {
	if x.P < 2 || x.BusyAvg < noiseMinBusy || x.BusyMax >= saturated {
		return 0, false
	}
	t := (x.BusyMax/x.BusyAvg - 1) / expectedMax(x.P)
	if !(t > -64 && t < 64) { // NaN or a reading no Flink sends
		return 0, false
	}
	return int64(math.Round(t * noiseScale)), true
}

// epochNoise is the sum behind σ read over the window's settled samples
// of one deploy (epoch) from every vertex whose input is spread evenly
// (units(i) == 0) with at least two subtasks, busy on average at least
// noiseMinBusy and not saturated: the mean over those of (busy max ÷ busy
// avg − 1) ÷ e(p) (NoiseSum.sigma); none when there is none.
func epochNoise(w []Sample, epoch time.Time, units func(i int) int, settle time.Duration) NoiseSum {
	var ns NoiseSum
	for k := range w {
		s := &w[k]
		if !noiseCounts(s, epoch, settle) {
			continue
		}
		for i := range s.V {
			if units(i) != 0 {
				continue
			}
			if t, ok := noiseTerm(&s.V[i]); ok {
				ns.Sum += t
				ns.N++
			}
		}
	}
	return ns
}

// noiseCounts: sample s is of the deploy epoch and settled into it.
func noiseCounts(s *Sample, epoch time.Time, settle time.Duration) bool {
	return sameTime(s.Epoch, epoch) && s.At.Sub(s.Epoch) >= settle
}

// sigma is σ read from the sum: the mean term, at least 0; false when no
// term was read.
func (ns NoiseSum) sigma() (float64, bool) {
	if ns.N <= 0 {
		return 0, false
	}
	return maxF(float64(ns.Sum)/noiseScale/float64(ns.N), 0), true
}

// evenMask is the window's vertices read for σ (units(i) == 0) as bits;
// false past 64 vertices (their sum is then walked every decision).
func evenMask(w []Sample, units func(i int) int) (uint64, bool) {
	if len(w) == 0 || len(w[len(w)-1].V) > 64 {
		return 0, false
	}
	var m uint64
	for i := range w[len(w)-1].V {
		if units(i) == 0 {
			m |= 1 << i
		}
	}
	return m, true
}

// keptFor: ns is the sum over window w (its oldest and newest samples'
// times) of deploy epoch, read with settle and the even vertices even.
func (ns NoiseSum) keptFor(w []Sample, epoch time.Time, settle time.Duration, even uint64) bool {
	if len(w) == 0 || ns.Last == 0 || ns.Even != even || ns.Settle != settle {
		return false
	}
	e, ok1 := unixNano(epoch)
	f, ok2 := unixNano(w[0].At)
	l, ok3 := unixNano(w[len(w)-1].At)
	return ok1 && ok2 && ok3 && ns.Epoch == e && ns.First == f && ns.Last == l
}

// unixNano is t in Unix nanoseconds; false past ±285 years of 1970, where
// they are not defined (then the sum is not kept: the window is walked).
func unixNano(t time.Time) (int64, bool) {
	if s := t.Unix(); s <= -9e9 || s >= 9e9 {
		return 0, false
	}
	return t.UnixNano(), true
}

// slideNoise is the sum over window w after gateRecord made it from old
// (samples dropped at its front, one appended): old's sum (kept) less the
// dropped samples' terms plus the new one's; the walk when kept is not
// old's or w is not made so.
func slideNoise(kept NoiseSum, old, w []Sample, epoch time.Time, units func(i int) int, settle time.Duration) NoiseSum {
	even, ok := evenMask(w, units)
	if !ok {
		return NoiseSum{}
	}
	walk := func() NoiseSum {
		ns := epochNoise(w, epoch, units, settle)
		ns.Settle, ns.Even = settle, even
		return ns.at(w, epoch)
	}
	if !kept.keptFor(old, epoch, settle, even) {
		return walk()
	}
	drop := len(old) + 1 - len(w)
	if drop < 0 || (drop < len(old) && !sameTime(old[drop].At, w[0].At)) || !w[len(w)-1].At.After(old[len(old)-1].At) {
		return walk()
	}
	ns := kept
	add := func(s *Sample, sign int64) {
		if !noiseCounts(s, epoch, settle) {
			return
		}
		for i := range s.V {
			if even&(1<<i) == 0 {
				continue
			}
			if t, ok := noiseTerm(&s.V[i]); ok {
				ns.Sum += sign * t
				ns.N += int(sign)
			}
		}
	}
	for k := range drop {
		add(&old[k], -1)
	}
	add(&w[len(w)-1], 1)
	return ns.at(w, epoch)
}

// at is ns marked as the sum over window w of deploy epoch; unmarked (not
// kept) when a time is past what unixNano reads.
func (ns NoiseSum) at(w []Sample, epoch time.Time) NoiseSum {
	e, ok1 := unixNano(epoch)
	f, ok2 := unixNano(w[0].At)
	l, ok3 := unixNano(w[len(w)-1].At)
	if !ok1 || !ok2 || !ok3 {
		return NoiseSum{}
	}
	ns.Epoch, ns.First, ns.Last = e, f, l
	return ns
}

// busiestBusy is the busy fraction of a vertex's busiest subtask with the
// busy-time noise σ taken out of its max: p subtasks, u units (key groups
// or partitions, 0 when even), max and avg as Flink reports them. Even
// keys put the busiest subtask at even = avg × p × share(u, p); the max's
// excess over it, in noise units z = (max ÷ even − 1) ÷ σ, is read as a
// busiest subtask d noise units above the rest (a hot key) whose max with
// p − 1 noisy others is expected at z (g(d) = z, Clark's approximation of
// the maximum of two normals): the busiest's busy is even × (1 + σd). A
// max within what noise explains (z ≤ g(0) = e(p)) reads even; a max far
// above it (d ≫ e(p)) reads itself. Unchanged when σ is 0, p < 2, the
// average is unknown, or the max is saturated (there the max, at most 1,
// is the busiest's own reading, exact on the emulator).
func busiestBusy(max, avg float64, p, u int, sigma float64) float64 {
	if sigma <= 0 || p < 2 || avg <= 0 || max <= 0 || max >= saturated {
		return max
	}
	even := minF(avg*float64(p)*share(u, p), max)
	z := (max/even - 1) / sigma
	rest := restOf(p)
	if z <= rest.excess(0) {
		return even
	}
	lo, hi := 0.0, z
	for range 40 {
		mid := (lo + hi) / 2
		if rest.excess(mid) < z {
			lo = mid
		} else {
			hi = mid
		}
	}
	return minF(even*(1+sigma*(lo+hi)/2), max)
}

// busiestExcess is g(d): the expected maximum of one normal at mean d and
// p − 1 standard normals, by Clark's formula with the p − 1's maximum
// taken as a normal at e(p−1) with its standard deviation.
func busiestExcess(d float64, p int) float64 { return restOf(p).excess(d) }

// maxOfRest is the maximum of a busiest subtask's p − 1 others, taken as a
// normal: its mean e(p−1) and θ = √(1 + its variance), read once for
// busiestBusy's search (each step then costs two Erfc and one Exp, not
// also an Erfinv and two Logs).
type maxOfRest struct{ mu, theta float64 }

func restOf(p int) maxOfRest {
	sd := maxSD(p - 1)
	return maxOfRest{mu: expectedMax(p - 1), theta: math.Sqrt(1 + sd*sd)}
}

// excess is g(d) by Clark's formula.
func (r maxOfRest) excess(d float64) float64 {
	a := (d - r.mu) / r.theta
	return d*normCDF(a) + r.mu*normCDF(-a) + r.theta*normPDF(a)
}

// expectedMax is e(n), the expected maximum of n standard normals (Blom's
// approximation Φ⁻¹((n − 0.375) ÷ (n + 0.25)); 0.59 at 2, 1.05 at 4, 1.43
// at 8, 1.78 at 16). epochNoise reads it for every settled sample and
// even vertex, so n up to maxTabled is read from a table blom filled.
func expectedMax(n int) float64 {
	if n <= maxTabled {
		return expectedMaxes[max(n, 0)]
	}
	return blom(n)
}

// maxTabled is the largest n whose e(n) is tabled (expectedMaxes).
const maxTabled = 512

var expectedMaxes = func() (t [maxTabled + 1]float64) {
	for n := range t {
		t[n] = blom(n)
	}
	return t
}()

// blom is Blom's approximation of e(n); 0 for n ≤ 1.
func blom(n int) float64 {
	if n <= 1 {
		return 0
	}
	q := (float64(n) - 0.375) / (float64(n) + 0.25)
	return math.Sqrt2 * math.Erfinv(2*q-1)
}

// maxSDs is the standard deviation of the maximum of n standard normals at
// n = 1, 2, 3, 4, 5, 10, 20, 50, 100, 200, 500 (Tippett's tables).
var maxSDs = [...]struct{ n, sd float64 }{
	{1, 1}, {2, 0.8256}, {3, 0.7480}, {4, 0.7012}, {5, 0.6690}, {10, 0.5868},
	{20, 0.5251}, {50, 0.4634}, {100, 0.4294}, {200, 0.4000}, {500, 0.3700},
}

// maxSD interpolates maxSDs in log n.
func maxSD(n int) float64 {
	x := float64(max(n, 1))
	for k := 1; k < len(maxSDs); k++ {
		if x <= maxSDs[k].n {
			a, b := maxSDs[k-1], maxSDs[k]
			t := math.Log(x/a.n) / math.Log(b.n/a.n)
			return a.sd + t*(b.sd-a.sd)
		}
	}
	return maxSDs[len(maxSDs)-1].sd
}

func normCDF(x float64) float64 { return 0.5 * math.Erfc(-x/math.Sqrt2) }

func normPDF(x float64) float64 { return math.Exp(-x*x/2) / math.Sqrt(2*math.Pi) }

// snapUnits is vertex i's units in snap (spread); -1 past its vertices.
func snapUnits(snap *events.Snapshot, i int) int {
	if i >= len(snap.Vertices) {
		return -1
	}
	v := &snap.Vertices[i]
	_, _, u := spread(v, isSource(v))
	return u
}
