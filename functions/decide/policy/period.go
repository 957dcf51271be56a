package policy

import (
	"math"
	"slices"
	"time"
)

// Series is the offered rate's mean per minute over the last seriesMinutes
// minutes (settled samples only): the history a sub-daily period of the
// load is learned from (learnPeriod), bounded whatever the job's age.
// The minute being averaged is kept apart (Minute, Mean, N), so a sample
// copies no slice; a minute's end appends one number and, every
// periodEvery minutes, searches the period again.
type Series struct {
	// Start is the minute (since the Unix epoch) of Rates[0].
	Start int64 `json:"start"`
	// Rates are the complete minutes' means, oldest first; -1 for a minute
	// without a settled sample.
	Rates []float64 `json:"rates,omitempty"`
	// Minute is the minute being averaged: Mean of N samples so far.
	Minute int64   `json:"minute"`
	Mean   float64 `json:"mean"`
	N      int     `json:"n"`
	// Period is the period learned (0: none seen repeat) and Fit the
	// share of the load's variance it explains (1 − learnPeriod's
	// mismatch).
	Period time.Duration `json:"period,omitempty"`
	Fit    float64       `json:"fit,omitempty"`
	// Missed is the minute (since the Unix epoch) at which the learned
	// cycle's forecast last missed (forecastMissed): the cycle was
	// forgotten then, and is not learned again within a period of it.
	Missed int64 `json:"missed,omitempty"`
	// Rise is the load's rise open now, read at each recorded sample: nil
	// while the rate is within burstBand of its level. Rises are the last
	// maxRises closed, oldest first: the load's rises at a sample's grain,
	// which the minutes' means show lower and longer (a 40-s flush;
	// risesOf).
	Rise  *Rise  `json:"rise,omitempty"`
	Rises []Rise `json:"rises,omitempty"`
}

// Rise is one rise of the load above its level.
type Rise struct {
	// At is when (Unix seconds) the first sample above it was recorded;
	// Secs how long the rate stayed above (to the first sample back under:
	// within a poll interval over); Peak the highest rate read and Base
	// the level it rose from (rec/s).
	At   int64   `json:"at"`
	Secs int64   `json:"secs,omitempty"`
	Peak float64 `json:"peak"`
	Base float64 `json:"base"`
	// Last is the latest sample read above it, while it is open. Cut is
	// set when the sample it closed at came after more than riseGap
	// without one (a restart; minutes not read as load): it ended then at
	// the latest, its length otherwise unknown.
	Last int64 `json:"last,omitempty"`
	Cut  bool  `json:"cut,omitempty"`
	// Level is set when it closed because the level rose to it: it did
	// not end, the load stayed (a step, a ramp's).
	Level bool `json:"level,omitempty"`
}

// Rise reading's rules.
const (
	// maxRises bounds Series.Rises.
	maxRises = 12
	// riseBaseMinutes is how many complete minutes the level is the least
	// of: a minute holding a short rise is in no level. A rise that fills
	// them all has become the level: it is closed, as long as it lasted.
	riseBaseMinutes = 3
	// riseGap is the longest stretch without a recorded sample a rise is
	// read across as seen: a rise back under after a longer one is Cut.
	riseGap = 45 * time.Second
)

// Series bounds and the period search's rules.
const (
	// seriesMinutes bounds Series.Rates: six hours, so a period of up to
	// two hours is seen three times.
	seriesMinutes = 360
	// minPeriod is the shortest period looked for: a shorter cycle is
	// within a restart and its reaction time, not something to scale for.
	minPeriod = 10
	// periodEvery is how often (minutes) the period is searched again.
	periodEvery = 5
	// periodMismatch is the most a period's mismatch (the mean squared
	// difference of the load one period apart ÷ twice its variance: 0 for
	// a shape that repeats exactly, 1 for unrelated values) may be;
	// periodContrast is how much larger some shorter shift's must be, so
	// a load that merely changes slowly (its mismatch grows with the
	// shift) is not taken for a cycle.
	periodMismatch = 0.1
	periodContrast = 0.5
	// periodAmplitude is the least spread (standard deviation ÷ mean) of
	// the load worth a period: below it there is nothing to forecast.
	periodAmplitude = 0.1
)

// withMinute returns a copy of s (a new series when s is nil) with offered
// recorded at t; a minute completed since is appended to Rates (minutes
// without a sample as -1), and the period searched again every periodEvery
// minutes. s is never changed.
func (s *Series) withMinute(t time.Time, offered float64) *Series {
	m := t.Unix() / 60
	if math.IsNaN(offered) || math.IsInf(offered, 0) || offered < 0 {
		return s
	}
	if s == nil {
		return &Series{Start: m, Minute: m, Mean: offered, N: 1}
	}
	if m < s.Minute {
		return s
	}
	next := *s
	next.Rise, next.Rises = s.withRise(t.Unix(), offered)
	if m == s.Minute {
		next.Mean = (s.Mean*float64(s.N) + offered) / float64(s.N+1)
		next.N = min(s.N+1, 1<<20)
		return &next
	}
	gap := int(min(m-s.Minute-1, seriesMinutes))
	rates := make([]float64, 0, min(len(s.Rates)+1+gap, seriesMinutes+1+gap))
	rates = append(rates, s.Rates...)
	rates = append(rates, s.Mean)
	for range gap {
		rates = append(rates, -1)
	}
	if over := len(rates) - seriesMinutes; over > 0 {
		rates = rates[over:]
	}
	if p := int(s.Period / time.Minute); p > 0 && forecastMissed(rates, p, len(rates)-1-gap) {
		next.Period, next.Fit, next.Missed = 0, 0, s.Minute
	}
	next.Rates, next.Start = rates, m-int64(len(rates))
	next.Minute, next.Mean, next.N = m, offered, 1
	if m%periodEvery == 0 {
		next.Period, next.Fit = learnPeriod(rates)
		if next.Missed > 0 && m-next.Missed < int64(next.Period/time.Minute) {
			next.Period, next.Fit = 0, 0
		}
	}
	return &next
}

// withRise is s's open rise and closed rises with the rate offered read
// at t (Unix seconds); s's own are never changed. A rise opens on a rate
// more than burstBand over the level (the least of the last
// riseBaseMinutes complete minutes' means: none yet, no rise read) and
// closes at the first rate back within it, or once the level has risen
// to it.
func (s *Series) withRise(t int64, offered float64) (*Rise, []Rise) {
	open, rises := s.Rise, s.Rises
	base := s.level()
	if open != nil {
		risen := base > open.Base*(1+burstBand)
		if offered > open.Base*(1+burstBand) && !risen {
			r := *open
			r.Last, r.Peak = t, maxF(r.Peak, math.Round(offered))
			return &r, rises
		}
		closed := Rise{At: open.At, Secs: t - open.At, Peak: open.Peak, Base: open.Base, Level: risen, Cut: !risen && t-open.Last > int64(riseGap/time.Second)}
		rises = append(rises[max(len(rises)+1-maxRises, 0):len(rises):len(rises)], closed)
		if !risen {
			return nil, rises
		}
	}
	if base > 0 && offered > base*(1+burstBand) {
		// whole rec/s: the state is kept as JSON each snapshot
		return &Rise{At: t, Last: t, Peak: math.Round(offered), Base: math.Round(base)}, rises
	}
	return nil, rises
}

// level is the least of s's last riseBaseMinutes complete minutes with a
// sample; 0 before there are that many.
func (s *Series) level() float64 {
	lv, n := math.Inf(1), 0
	for i := len(s.Rates) - 1; i >= 0 && n < riseBaseMinutes; i-- {
		if s.Rates[i] >= 0 {
			lv = minF(lv, s.Rates[i])
			n++
		}
	}
	if n < riseBaseMinutes {
		return 0
	}
	return lv
}

// missLead is how long before a minute the forecast checked against it
// is made: about the lead a forecast would be acted on with (a restart
// and the rates' window).
const missLead = 5

// forecastMissed reports whether the cycle of p minutes forecast, missLead
// minutes before minute i of x, a rise of at least riseMin to it (every
// past cycle the series holds, at least two, rose so much over those
// minutes: what cycle.riseWithin reports), and less than half of it came.
// Random bursts that fell a period apart by chance are forgotten at the
// first burst they forecast that does not come, not a period later.
func forecastMissed(x []float64, p, i int) bool {
	j := i - missLead
	if i >= len(x) || j < 0 || x[i] < 0 || x[j] <= 0 {
		return false
	}
	r, n := math.Inf(1), 0
	for k := 1; k <= maxCycles && j-k*p >= 0; k++ {
		a, b := x[i-k*p], x[j-k*p]
		if a < 0 || b <= 0 {
			continue
		}
		r = math.Min(r, a/b)
		n++
	}
	return n >= 2 && r >= 1+riseMin && x[i]/x[j] < 1+(r-1)/2
}

// learnPeriod is the shift (minutes, as a duration) at which the load
// repeats itself best, and the share of its variance that explains (1 −
// the mismatch): the shortest shift from minPeriod to half the series whose
// mismatch (mean squared difference of the minutes one shift apart ÷ twice
// the variance) is within 0.05 of the least, at most periodMismatch, while
// some shorter shift (from minPeriod on) mismatches by periodContrast more,
// and whose latest period repeats the one before within periodMismatch (a
// cycle that stopped, or random bursts that happened to fall a period apart
// three times and then did not, is forgotten within a period).
// A load whose spread is under periodAmplitude of its mean has none. Zero
// when none is found. About n²/4 multiplications for n minutes.
func learnPeriod(x []float64) (time.Duration, float64) {
	n := len(x)
	if n < 3*minPeriod {
		return 0, 0
	}
	var mo moments
	for _, v := range x {
		if v >= 0 {
			mo.add(v)
		}
	}
	if mo.cv() < periodAmplitude {
		return 0, 0
	}
	mean := mo.sum / mo.n
	variance := mo.cv() * mo.cv() * mean * mean
	var small [seriesMinutes/2 + 1]float64
	d := small[:0]
	for lag := 0; lag <= n/3; lag++ {
		if lag < minPeriod {
			d = append(d, -1)
			continue
		}
		d = append(d, mismatch(x, lag, lag, variance))
	}
	best := -1.0
	for _, v := range d {
		if v >= 0 && (best < 0 || v < best) {
			best = v
		}
	}
	if best < 0 || best > periodMismatch {
		return 0, 0
	}
	worst := -1.0
	for lag, v := range d {
		if v < 0 {
			continue
		}
		if v <= best+0.05 && worst >= v+periodContrast && localMin(d, lag) {
			if last := mismatch(x, lag, n-lag, variance); last < 0 || last > periodMismatch {
				return 0, 0 // the latest period did not repeat the one before
			}
			return time.Duration(lag) * time.Minute, 1 - v
		}
		worst = math.Max(worst, v)
	}
	return 0, 0
}

// mismatch is the mean squared difference of the minutes lag apart from
// minute from on ÷ twice variance; -1 when fewer than 3/2 × lag pairs
// (from minute lag on) or half the pairs (from later on) are known.
func mismatch(x []float64, lag, from int, variance float64) float64 {
	sum, k := 0.0, 0
	for i := from; i < len(x); i++ {
		if a, b := x[i-lag], x[i]; a >= 0 && b >= 0 {
			sum += (a - b) * (a - b)
			k++
		}
	}
	if from == lag && k < 3*lag/2 || 2*k < len(x)-from || k == 0 {
		return -1
	}
	return sum / float64(k) / (2 * variance)
}

// localMin reports whether d[i] is no larger than its known neighbours.
func localMin(d []float64, i int) bool {
	for _, j := range [2]int{i - 1, i + 1} {
		if j >= 0 && j < len(d) && d[j] >= 0 && d[j] < d[i] {
			return false
		}
	}
	return true
}

// cycle is what the learned period says of the load ahead, relative to
// now: rel[j] is the load j+1 minutes ahead ÷ the load now, the smallest
// of what the past cycles showed (each relative to its own rate at this
// point of the cycle: a rise counts only when every cycle shows it), known
// (≥ 0) only when at least two past cycles show it.
type cycle struct {
	period time.Duration
	fit    float64
	cycles int
	rel    []float64
}

// maxCycles is how many past cycles a forecast compares.
const maxCycles = 3

// ahead is the learned cycle's load over the next period from now, or nil
// when no period has been learned or fewer than two past cycles cover
// this point of the cycle.
func (s *Series) ahead(now time.Time) *cycle {
	if s == nil || s.Period <= 0 {
		return nil
	}
	p := int(s.Period / time.Minute)
	m := now.Unix() / 60
	at := func(minute int64) float64 {
		i := minute - s.Start
		if i < 0 || i >= int64(len(s.Rates)) {
			return -1
		}
		return s.Rates[i]
	}
	c := &cycle{period: s.Period, fit: s.Fit, rel: make([]float64, p-1)}
	var seen [maxCycles][]float64 // per past cycle, the load ahead ÷ its rate at this point
	for k := 1; k <= maxCycles; k++ {
		base := at(m - int64(k*p))
		if base <= 0 {
			continue
		}
		r := make([]float64, p-1)
		for j := range r {
			r[j] = -1
			if v := at(m - int64(k*p) + int64(j+1)); v >= 0 {
				r[j] = v / base
			}
		}
		seen[c.cycles] = r
		c.cycles++
	}
	var vals [maxCycles]float64
	for j := range c.rel {
		n := 0
		for _, r := range seen[:c.cycles] {
			if r[j] >= 0 {
				vals[n] = r[j]
				n++
			}
		}
		c.rel[j] = -1
		if n >= 2 {
			c.rel[j] = slices.Min(vals[:n])
		}
	}
	if c.cycles < 2 {
		return nil
	}
	return c
}

// riseWithin is the most the cycle says the load rises within lead (at
// least the next minute), and when: 1 and 0 for a rise under riseMin.
func (c *cycle) riseWithin(lead time.Duration) (float64, time.Duration) {
	r, at := 1.0, time.Duration(0)
	for j := 0; j < len(c.rel) && time.Duration(j) < max(lead/time.Minute, 1); j++ {
		if c.rel[j] > r {
			r, at = c.rel[j], time.Duration(j+1)*time.Minute
		}
	}
	if r < 1+riseMin {
		return 1, 0
	}
	return r, at
}

// describe says the cycle in words: its period, how many past periods
// show it, how much of the load it explains and its next rise, and that
// it is not acted on (docs/policy.md "Forecast" has the runs).
func (c *cycle) describe(b text) text {
	b = b.s("a ").dur(c.period).s(" cycle seen in ").i(c.cycles).s(" past periods (it explains ").f(100*c.fit, 0).s("% of the load's variance")
	if r, at := c.riseWithin(c.period); r > 1 {
		b = b.s("; next rise ×").f(r, 2).s(" in ").dur(at)
	}
	return b.s("): reported, not acted on below a day's period")
}

// comeback is a rise the load has made again and again from about its
// level now to above a candidate's capacity (Series.comeback): a release
// to that candidate would be undone by the next one.
type comeback struct {
	// in is how long until the next rise is due (≥ 0), every the rises'
	// mean interval, seen how many the series shows (≥ comebackSeen).
	in, every time.Duration
	seen      int
	// peak is the least of the last rises' peaks ÷ the load now.
	peak float64
}

// The rises a release is priced against.
const (
	// comebackSpan is how far back (minutes) rises are looked for: three
	// rises of a cycle up to an hour long.
	comebackSpan = 180
	// comebackSeen is how many rises, at intervals that agree within
	// riseAgree, make a shape seen to repeat (two intervals).
	comebackSeen = 4
)

// comeback reports whether the load rose from near offered (its level
// now) to above level at least comebackSeen times in the last comebackSpan
// minutes, every rise's middle on one beat (within beatOff of it, the beat
// at least minPeriod: one rise off the beat and the load is no repeating
// shape), and when the next such rise is due: the last one's start + the
// beat. A rise counts when the load
// fell at least halfway back from level to within riseMin of offered
// before it (a restart's outage leaves its minutes unknown: the trough's
// bottom may be among them). A rise overdue by more than riseAgree × the
// longest interval is a forecast that missed (random bursts that fell at
// even intervals by chance): none then. About comebackSpan comparisons.
func (s *Series) comeback(now time.Time, offered, level float64) (comeback, bool) {
	if s == nil || offered <= 0 || level <= offered {
		return comeback{}, false
	}
	low := (offered*(1+riseMin) + level) / 2
	// mids are the rises' middles, in half minutes: the first + the last
	// minute above level (a flat top's noisy maximum would move it)
	var mids [comebackSpan/minPeriod + 1]int64
	n, armed, start, peak, least := 0, false, int64(0), 0.0, math.Inf(1)
	from := max(0, len(s.Rates)-comebackSpan)
	for i := from; i <= len(s.Rates); i++ {
		m, v := s.Start+int64(i), s.Mean
		if i < len(s.Rates) {
			v = s.Rates[i]
		} else if s.N == 0 {
			break
		}
		switch {
		case v < 0:
			continue
		case v <= low:
			if !armed && n > 0 {
				least = math.Min(least, peak)
			}
			armed = true
			continue
		case armed && v > level && n < len(mids):
			armed, start, peak = false, m, 0
			n++
		}
		if !armed && n > 0 {
			peak = math.Max(peak, v)
			if v > level {
				mids[n-1] = start + m
			}
		}
	}
	if n < comebackSeen {
		return comeback{}, false
	}
	least = math.Min(least, peak)
	beat, off := onBeat(mids[:n])
	hi := int64(0)
	for i := 1; i < n; i++ {
		hi = max(hi, mids[i]-mids[i-1])
	}
	hi = (hi + 1) / 2 // minutes
	m := now.Unix() / 60
	if beat < 2*minPeriod || off > beat*beatOff || float64(m-start) > float64(hi)*riseAgree {
		return comeback{}, false
	}
	every := time.Duration(beat * float64(time.Minute) / 2)
	in := max(time.Unix(start*60, 0).Add(every).Sub(now), 0)
	return comeback{in: in, every: every, seen: n, peak: least / offered}, true
}

// beatOff is how far (a share of the beat) a rise's middle may lie off
// the beat fitted through them all: as far as one middle moved alone
// would put the intervals on either side of it riseAgree apart
// ((1+x)/(1−x) = riseAgree). Each middle is measured on its own (a
// minute's mean, a restart's unknown minutes at one edge, a blind
// source's catch-up read at the other), so the intervals between two,
// which hold both their errors, are not held to that bound: one middle
// late and the next early by ~8 % of the beat put two intervals of
// ads-join-groups' 15-minute rises 13.5 and 17 minutes apart.
const beatOff = (riseAgree - 1) / (riseAgree + 1)

// onBeat fits mids (half minutes, in order) to a beat, mids[k] ≈ a + k ×
// beat by least squares, and returns the beat (half minutes) and the
// largest distance of a middle from it (half minutes).
func onBeat(mids []int64) (beat, off float64) {
	n := float64(len(mids))
	var sk, sy, skk, sky float64
	for k, y := range mids {
		fk, fy := float64(k), float64(y-mids[0])
		sk, sy, skk, sky = sk+fk, sy+fy, skk+fk*fk, sky+fk*fy
	}
	beat = (n*sky - sk*sy) / (n*skk - sk*sk)
	a := (sy - beat*sk) / n
	for k, y := range mids {
		off = math.Max(off, math.Abs(float64(y-mids[0])-a-beat*float64(k)))
	}
	return beat, off
}

// spanMax is the highest minute's rate comeback looks at (-1 for none):
// no release whose capacity is above it has a rise to be undone by.
func (s *Series) spanMax() float64 {
	if s == nil {
		return -1
	}
	hi := -1.0
	if s.N > 0 {
		hi = s.Mean
	}
	for _, v := range s.Rates[max(0, len(s.Rates)-comebackSpan):] {
		hi = maxF(hi, v)
	}
	return hi
}

// undone prices the rise seen to repeat (e.back) that undoes the release
// e plans to headroom final: short by the rise's peak from when it is due
// until a restart, priced like this one, is over, then draining with
// fixHeadroom spare. It returns when the job is back at the size it has
// now (seconds from now), the slots it pays from then on.
func (e *evaluation) undone(final float64, ld *load, rc *restartCost, slo, hz float64) float64 {
	hm := under(final, e.back.peak/ld.forecast)
	lp := lagPath{slo: slo, end: hz - e.back.in.Seconds()}
	lp.run(ld.react.Seconds(), -hm)
	lp.run(rc.wait.Seconds(), -hm)
	lp.run(rc.outage.Seconds(), 1)
	lp.jump(rc.replay.Seconds())
	lp.run(hz, -fixHeadroom)
	e.over += lp.over
	e.lagged += lp.area / slo
	e.excess += lp.excess / slo
	e.restarts++
	return math.Min(hz, e.back.in.Seconds()+ld.react.Seconds()+rc.downtime.Seconds())
}
