package policy

import (
	"math"
	"slices"
	"time"
)

// A scale-up's drain is priced from a capacity model and a restart price
// that can both be off for a job in a way its own history shows: a hot key
// the even-keys share leaves out (skewed-sources: 4 → 6 priced back in
// ~1m29s, back in 2m16s; 6 → 8 priced ~2m5s, back in 3m2s), a catch-up
// slower than the busy time says. The lag-back target counts a drain past
// slo.recovery whatever its lag, so a drain priced to end near it misses
// on such a job every time. The policy watches each scale-up's restart
// until the job shows no vertex saturated (its backlog worked off) and
// keeps how long that took over how long it was priced to take
// (State.Drains); a raise recovers in time (recovery.ok, which choose
// filters on) only if it does so with its priced time stretched by that
// factor too (recoveryOf). The trade: spare bought at the raises of a job
// whose drains came out slow, for the drains' length (skewed-sources
// ×oracle15 0.955 → 1.040, 173001–173010), and on a job whose drains ran
// long because the load rose under them (realistic-load's sine and
// bursts) a larger raise that changes its path (1.160 → 1.188).

// minDrainPriced is the shortest priced drain (from the stop) a ratio is
// learned from: a shorter one is mostly the outage, and a snapshot's
// interval of error in the time it came back would read as a large ratio.
const minDrainPriced = time.Minute

// maxDrainFactor bounds the factor a raise's drain is checked with: a
// drain that ran slower than that had the load rise under it, which the
// check at the load's upper level is for.
const maxDrainFactor = 2.0

// drainWatchFor is how long a drain is watched before it is given up
// (another restart ends the watch sooner).
const drainWatchFor = 20 * time.Minute

// pricedBack is how long best was priced to take from the restart's stop
// until its backlog is worked off (to no lag: a job is seen saturated
// until then, while a source's pending records may not show for minutes
// into a run): the outage, then the drain of the backlog at the spare
// the recovery check gave it; 0 when best does not raise the job, was not
// checked, or the drain is shorter than minDrainPriced.
func pricedBack(best evaluation, outage time.Duration, sloLag float64) time.Duration {
	r := best.recovery
	if !best.raises() || r.within <= 0 || r.took == time.Duration(math.MaxInt64) || r.took <= outage {
		return 0
	}
	left := r.backlog - recoveredShare*sloLag
	if left <= 0 {
		return 0
	}
	back := outage + time.Duration(float64(r.took-outage)*r.backlog/left)
	if back < minDrainPriced {
		return 0
	}
	return back
}

// watchDrain is the drain to watch after rs's restart, which ran again at
// run (the run epoch) after an outage: nil when rs was not priced with one.
func watchDrain(rs *Rescale, epoch, run time.Time, outage time.Duration) *DrainWatch {
	if rs == nil || rs.Back <= 0 {
		return nil
	}
	return &DrainWatch{Epoch: epoch, Stop: run.Add(-outage), Priced: rs.Back}
}

// learnDrain follows st.Drain on the latest sample: once its run shows
// no vertex busy or back-pressured (saturatedSample: the backlog the
// restart left worked off), the time
// since the stop (halfway from the sample before) over the priced one
// joins Drains. A new run or a watch past drainWatchFor ends it
// unlearned.
func learnDrain(st State, g gateInput) (*DrainWatch, []float64) {
	d := st.Drain
	n := len(st.Window)
	if d == nil || n == 0 {
		return d, st.Drains
	}
	last := st.Window[n-1]
	if !sameTime(st.Epoch, d.Epoch) || g.now.Sub(d.Stop) > drainWatchFor {
		return nil, st.Drains
	}
	if !last.At.Equal(g.now) || !sameTime(last.Epoch, d.Epoch) || len(last.V) != len(g.snap.Vertices) || saturatedSample(last) || !busyKnown(last) {
		return d, st.Drains
	}
	back := last.At
	if n >= 2 && st.Window[n-2].At.After(d.Stop) {
		back = back.Add(-last.At.Sub(st.Window[n-2].At) / 2)
	}
	ratio := back.Sub(d.Stop).Seconds() / d.Priced.Seconds()
	ds := append(slices.Clone(st.Drains), ratio)
	if len(ds) > maxDrains {
		ds = ds[len(ds)-maxDrains:]
	}
	return nil, ds
}

// busyKnown: some vertex of s reports its busy time.
func busyKnown(s Sample) bool {
	for _, x := range s.V {
		if x.BusyMax >= 0 {
			return true
		}
	}
	return false
}

// drainFactor is how much slower than priced the job's drains come out:
// the smaller of the last two ratios learned (one drain met by a rise
// does not set it), within [1, maxDrainFactor]; 1 when none was learned.
func drainFactor(ds []float64) float64 {
	if len(ds) == 0 {
		return 1
	}
	k := ds[len(ds)-1]
	if len(ds) >= 2 {
		k = math.Min(k, ds[len(ds)-2])
	}
	return clampF(k, 1, maxDrainFactor)
}
