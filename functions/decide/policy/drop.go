package policy

import (
	"fmt"
	"math"
	"time"
)

// A scale-down is sized for the highest offered rate of the scale-down
// window (load.peak), so that a dip in a noisy load is not followed down and
// back up. A load that stepped down (the end of a spike or a burst) is not
// such a dip: sized for the window's peak, the scale-down lands at the
// spike's own size, and once the spike has left the window the second step
// down to the load's size saves less than its restart costs, so the job
// stays where the spike left it. And Flink's rates average the last minute:
// while that minute still holds the step, what the sources read lies between
// the two levels. So, when the job has no backlog (lag at most backlogShare
// of the SLO; with one, it needs the capacity the window showed to drain):
//
//   - while the current level (the newest settled samples within the level
//     band of the rate read now) is younger than the reaction time and the
//     scale-down window read more than the band above it before it began, a
//     scale-down waits: the meters may still show the step, and a level
//     that has not lasted the time a restart takes to answer it has not
//     shown it will stay;
//   - once the level has lasted the reaction time, and the settled samples
//     of the scale-down window before it (the meters' ramp, one rate window,
//     excluded) averaged more than the band above it, the load stepped down:
//     the scale-down is sized for the peak of the new level's own samples.
//
// A slow decline holds each level for minutes and leaves no minutes of
// samples a band higher before it: it is sized for the window's peak as
// before.

// backlogShare is the lag, as a share of the SLO, up to which a job counts
// as having no backlog (the lag-back target's 10 %).
const backlogShare = 0.1

// levelBand is how far (relative to the offered rate now) a sample may lie
// and still belong to the current level: 10 %, or three standard deviations
// of the load's change when wider, at most maxLevelBand.
func levelBand(sigma float64) float64 { return min(math.Max(0.1, 3*sigma), maxLevelBand) }

// maxLevelBand bounds the level band: the load's change is measured over
// the window that holds the step itself, and right after a spike whose
// scale-up restarted the job the window's pairs are half spike, half
// level, so it reads the step as volatility (spikes-dedicated: ±56 %, a
// band of 168 % that made a 2.5× spike one level with the load after it,
// and the scale-down was sized for the spike: 5 subtasks where 3 ran
// before, for the rest of the run). What it trades: on a load whose own
// noise exceeds ±17 % (3σ above 50 %), a dip of half the load counts as a
// step down, and the scale-down is sized for it.
const maxLevelBand = 0.5

// drop is what the window says about a fall of the offered rate.
type drop struct {
	// young: the current level has not lasted the reaction time, and the
	// scale-down window read more than the band above it before it began;
	// from is the highest rate read there.
	young bool
	from  float64
	// since is when the current level began, when it is a step down (zero
	// otherwise); before is the mean offered rate before it.
	since  time.Time
	before float64
}

// dropOf reads w (capped marks samples to leave out, may be nil) for a fall
// of the offered rate to offered, sigma being the load's relative change
// over the reaction time react. The current level is the unbroken run of newest
// settled samples within the band of offered; samples of a restart's settle
// time neither join nor break it (a step can fall across a restart).
func dropOf(w []Sample, capped []bool, offered, sigma float64, settle, meters, window, react time.Duration, now time.Time) drop {
	var d drop
	if offered <= 0 {
		return d
	}
	band := levelBand(sigma)
	settled := func(k int) bool { return timeSub(w[k].At, w[k].Epoch) >= settle && !at(capped, k) }
	start, out, outRate := now, time.Time{}, 0.0
	for k := len(w) - 1; k >= 0; k-- {
		if !settled(k) {
			continue
		}
		if math.Abs(w[k].Offered/offered-1) > band {
			out, outRate = w[k].At, w[k].Offered
			break
		}
		start = w[k].At
	}
	var n, sum float64
	oldest, ramp := now.Add(-window), start.Add(-meters)
	for k := range w {
		s := &w[k]
		if s.At.Before(oldest) || !s.At.Before(start) || !settled(k) {
			continue
		}
		d.from = maxF(d.from, s.Offered)
		if s.At.Before(ramp) {
			n++
			sum += s.Offered
		}
	}
	if d.from <= offered*(1+band) {
		return drop{}
	}
	// the level began when the step ended: the last sample outside the
	// band averaged its minute over both levels, so the share of that
	// minute still at the level before (its rate's place between the two)
	// dates the step's end; its first samples may still hold the step in
	// their minute (a band wider than 10 % takes them in), so the level's
	// own samples count from a rate window after that
	began, clean := start, start
	switch {
	case out.IsZero():
	case outRate < offered:
		// a dip below the level broke it: the level counts from a rate
		// window after the dip
		began = out.Add(meters)
		clean = began
	default:
		began = out.Add(-time.Duration((1 - stepShare(outRate, offered, d.from)) * float64(meters)))
		if clean = began.Add(meters); clean.Before(start) {
			clean = start
		}
		if began.After(start) {
			began = start
		}
	}
	if now.Sub(began) < react || now.Before(clean) {
		d.young = true
		return d
	}
	d.from = 0
	if n >= 3 && sum/n > offered*(1+band) {
		d.since, d.before = clean, sum/n
	}
	return d
}

// stepShare is the share of a minute-averaged rate read between a level
// before (from) and the level now that the minute still held of the one
// before, in [0, 1].
func stepShare(read, now, from float64) float64 {
	if from <= now {
		return 1
	}
	return min(max((read-now)/(from-now), 0), 1)
}

// peakFrom is the highest settled offered rate of w at or after since
// (samples marked in capped left out) ÷ offered, at least 1.
func peakFrom(w []Sample, capped []bool, offered float64, settle time.Duration, since time.Time) float64 {
	peak := 1.0
	for k := range w {
		s := &w[k]
		if !s.At.Before(since) && !at(capped, k) && timeSub(s.At, s.Epoch) >= settle {
			peak = maxF(peak, s.Offered/offered)
		}
	}
	return peak
}

// awaitFall says why a scale-down waits while the rates read still hold a
// step down (drop.young); empty when best lowers nothing, raises some
// vertex, or the level is not young.
func awaitFall(best evaluation, j jobView, ld load) string {
	if !ld.drop.young || best.keep() || best.raises() {
		return ""
	}
	return fmt.Sprintf("the offered rate read fell from %s to %s rec/s and has held that level for less than the reaction time %s: a scale-down waits to be sized for the new level, not for the one it left (%s)",
		si(ld.drop.from), si(j.offered), ld.react.Round(time.Second), best.summary())
}

// awaitRise says why a scale-down waits while the load's trend is not
// measured yet (ld.pairs under three pairs trendSpan apart: the job's
// first minutes, a history reset by a topology change, or any window of
// a metricWindow too short for three such pairs, as compare's fast
// timing keeps) and the settled
// samples there are rise along their line by riseMin or more over the
// reaction time, and by twice their spread (the rise rule's test,
// measureLoad): a rise that goes on, or a step the meters still ramp
// into; either way the level a scale-down would be sized for is passing
// (skewed-sources on real Flink at compare's fast timing: released 4 → 2
// slots 30 s into its settled samples on ±2 %, the load rising from its
// trough at 15 % a minute, and raised back two minutes later). A
// scale-down is never urgent; a scale-up does not wait for this. Empty
// when best lowers nothing, raises some vertex, the trend is measured, or
// the samples do not rise.
func awaitRise(best evaluation, ld load) string {
	if ld.pairs >= 3 || ld.young < riseMin || ld.young < 2*math.Max(ld.loadSigma, minSigma) || best.keep() || best.raises() {
		return ""
	}
	return fmt.Sprintf("the offered rate rises +%.0f%% over %s along its settled samples, too few to measure its trend (%d of 3 pairs %s apart): a scale-down waits, not sized for a level that is passing (%s)",
		100*ld.young, ld.react.Round(time.Second), ld.pairs, trendSpan, best.summary())
}

// freshJob is the job's offered rate over the last freshSpan (freshOffered
// summed over its sources); ok is false when a source shows no pending
// records or the window lacks the samples.
func freshJob(w []Sample, j jobView, settle time.Duration) (float64, bool) {
	sum := 0.0
	for i, v := range j.vs {
		if !v.source {
			continue
		}
		if v.est.pending < 0 {
			return 0, false
		}
		f, _, ok := freshOffered(w, i, settle)
		if !ok {
			return 0, false
		}
		sum += f
	}
	return sum, sum > 0
}

// awaitMeters says why a scale-down waits while the freshest freshSpan
// read the offered rate more than freshRise off what the minute's meters
// show (j.minute): a step in progress, which the minute shows in part.
// After a spike the minute still holds it, and the scale-down would be
// sized for a rate between the two levels; at a spike's start the
// minute's rise is read as the level it rises from, or as a fall from
// the spike before (spikes-dedicated: 124k rec/s read 40 s after the load
// fell to 57k, and 87k read as a step down from 150k where 157k were
// offered). A scale-down is never urgent: it waits a sample or two for the
// meters to agree, traded against those slots. Empty when best lowers
// nothing, raises some vertex, or the readings agree.
func awaitMeters(best evaluation, w []Sample, j jobView, settle time.Duration) string {
	if best.keep() || best.raises() || j.minute <= 0 {
		return ""
	}
	f, ok := freshJob(w, j, settle)
	if !ok || math.Abs(f/j.minute-1) <= freshRise {
		return ""
	}
	return fmt.Sprintf("the last %s read %s rec/s where the minute's rates show %s: a scale-down waits until they agree, not sized on a step in progress (%s)",
		freshSpan, si(f), si(j.minute), best.summary())
}
