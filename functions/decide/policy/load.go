package policy

import (
	"fmt"
	"math"
	"slices"
	"time"
)

// load is what the job will be asked to carry, with how well that is known.
type load struct {
	// offered is the sources' offered rate now (records/s).
	offered float64
	// sigma is the relative uncertainty of demand against capacity over
	// react: sqrt(loadSigma² + capSigma²).
	sigma, loadSigma, capSigma float64
	// pairs is how many pairs of settled samples trendSpan apart trend
	// was measured from: under three it was not (a young history), and
	// young is the rise over react of the settled samples' line (their
	// least-squares slope ÷ their mean, lineRise): a scale-down waits
	// while it rises (awaitRise). 0 with three pairs or more.
	pairs int
	young float64
	// react is the time scale that matters: from a change of the load to
	// capacity that answers it (metrics, delay, restart).
	react time.Duration
	// peak is the highest offered rate within ScaleDownWindow ÷ offered
	// (≥ 1), or since the current level began when the load stepped down
	// to it (drop): a scale-down is sized for it.
	peak float64
	drop drop
	// slower is how much slower than priced the job's scale-ups' drains
	// came out (drainFactor, ≥ 1): a raise is sure to drain in time only
	// if it does with its priced time stretched by it.
	slower float64
	// forecast is the rise (≥ 1) the load's learned periodic shape expects
	// before a restart made now would be over; 1 for none. why says so.
	forecast float64
	why      string
	// cycle is the load ahead as its learned sub-daily period shows it
	// (nil: none seen repeat); said in the rationale, not acted on
	// (docs/policy.md "Forecast").
	cycle *cycle
	// minutes is the load's per-minute history, now the decision's time:
	// a release is priced against the rises they show back above it
	// (comebackAbove).
	minutes *Series
	now     time.Time
	top     float64 // minutes.spanMax()
	// disturbances are the unplanned restarts per hour priced: the
	// budget, or the rate the job has shown when higher (seen > 0).
	disturbances float64
	seen         int
	// followUp is a failover's replay when it outlasts slo.recovery, so
	// failovers are priced with the scale-up that answers them
	// (disturbance); 0 otherwise.
	followUp time.Duration
	// folds is whether that scale-up is folded into the failover's own
	// restart (foldsFailover): then it comes without the reaction time
	// and a restart of its own.
	folds bool
	// ride is the restart every candidate's disturbances are priced at
	// (evaluateAll: the job's restart that raises nothing, keep's), nil for
	// the candidate's own: a failover restarts the job whatever this
	// decision changed, so its price must not differ between candidates.
	ride *restartCost
	// trend is the load's typical rise, share of the load per second (≥ 0):
	// it erodes a scale-up's spare while the restart's backlog drains.
	trend float64
	// rise is 1 + the trend's rise over react when that exceeds the
	// changes around the trend (then sigma is measured around it, and
	// forecast is at least rise); 1 otherwise.
	rise, riseTrend float64
}

// recentTrend is the rise (share of the load per second) the window's
// samples from since on show between samples a rate window (tau) apart
// (loadTrend), when the whole window shows one too (whole, its loadTrend):
// the smaller of the two, so a rise that has begun to slow is extrapolated
// at its recent pace, and a step (a burst's onset) is straddled by the
// pairs of one rate window only, not read as a trend; 0 when either is
// not a rise.
func recentTrend(w []Sample, capped []bool, settle, tau time.Duration, whole float64, since time.Time, times *windowTimes) float64 {
	if whole <= 0 {
		return 0
	}
	i, _ := slices.BinarySearchFunc(w, since, func(s Sample, t time.Time) int { return s.At.Compare(t) })
	if capped != nil {
		capped = capped[i:]
	}
	if times == nil {
		return math.Min(whole, loadTrend(w[i:], capped, settle, tau))
	}
	v, _ := loadTrendTimes(w[i:], capped, times.ts[i:len(w)], times.settled[i:len(w)], tau)
	return math.Min(whole, v)
}

// loadPasses are loadTrend and loadDrift over one window with its times
// worked out once (windowTimes) when it is short enough for that.
type loadPasses struct {
	w      []Sample
	capped []bool
	settle time.Duration
	times  *windowTimes // nil for a window past maxDriftSamples
}

// trend is loadTrend with the pairs it was measured from.
func (p loadPasses) trend(tau time.Duration) (float64, int) {
	if p.times == nil {
		return loadTrendLong(p.w, p.capped, p.settle, tau)
	}
	return loadTrendTimes(p.w, p.capped, p.times.ts[:len(p.w)], p.times.settled[:len(p.w)], tau)
}

func (p loadPasses) recentTrend(tau time.Duration, whole float64, since time.Time) float64 {
	return recentTrend(p.w, p.capped, p.settle, tau, whole, since, p.times)
}

func (p loadPasses) drift(tau, rateWindow time.Duration, trend float64) (plain, around float64) {
	if p.times == nil || rateWindow <= 0 || rateWindow >= tau {
		return loadDrift(p.w, p.capped, p.settle, tau, rateWindow, trend)
	}
	return loadDriftTimes(p.w, p.capped, p.times.ts[:len(p.w)], p.times.settled[:len(p.w)], tau, rateWindow, trend)
}

// orMasks is a or b sample by sample (nil when both are; a mask's index
// past its length is unmarked, as at reads it).
func orMasks(a, b []bool) []bool {
	switch {
	case b == nil:
		return a
	case a == nil:
		return b
	}
	for i := range min(len(a), len(b)) {
		b[i] = b[i] || a[i]
	}
	return b
}

// pendingKnown: every source reports pending records, so the offered rate
// is the load offered to the job; a source without them offers what it
// reads, and its catch-up after a restart reads as a rise.
func (j jobView) pendingKnown() bool {
	for _, v := range j.vs {
		if v.source && v.est.pending < 0 {
			return false
		}
	}
	return true
}

// minSigma is the least relative uncertainty assumed: busy time and 60 s
// rates are not more precise than that on a real cluster.
const minSigma = 0.02

// measureLoad measures the offered rate's change over the reaction time
// (root mean square of relative changes between samples react apart, not
// the spread of samples: Flink's 60 s averages hide second-scale noise but
// not minute-scale drift), the capacity's spread, the scale-down window's
// peak and the forecast.
func measureLoad(st State, j jobView, cfg Config, now time.Time) load {
	ld := load{offered: j.offered, peak: 1, forecast: 1, rise: 1, disturbances: disturbanceRate(st, cfg, now)}
	if ld.disturbances > cfg.Disturbances {
		ld.seen = len(st.Failovers)
	}
	ld.react = cfg.RateWindow + cfg.ScaleUpDelay + expectedRestart(st, cfg).downtime
	capped := orMasks(j.capped(st.Window, cfg.RateWindow), j.hiddenCatchUp(st.Window, cfg.Settle, cfg.RateWindow))
	passes := loadPasses{w: st.Window, capped: capped, settle: cfg.Settle}
	var times windowTimes
	if len(st.Window) <= maxDriftSamples {
		times.of(st.Window, cfg.Settle)
		passes.times = &times
	}
	ld.trend, ld.pairs = passes.trend(trendSpan)
	// a rise of at least riseMin before a restart made now is over, and
	// at least twice the changes around it (a burst's onset or a step in a
	// short window leaves changes as large as the rise), is priced as that
	// rise with the uncertainty left around it, not as uncertainty both ways
	tr := 0.0
	if j.pendingKnown() {
		tr = passes.recentTrend(cfg.RateWindow, ld.trend, now.Add(-ld.react-trendSpan))
		if tr*ld.react.Seconds() < riseMin {
			tr = 0
		}
	}
	var around float64
	ld.loadSigma, around = passes.drift(ld.react, cfg.RateWindow, tr)
	if ld.pairs < 3 {
		ld.young = lineRise(st.Window, capped, cfg.Settle) * ld.react.Seconds()
	}
	if rise := tr * ld.react.Seconds(); tr > 0 && rise >= 2*math.Max(around, minSigma) && around < ld.loadSigma {
		ld.rise, ld.riseTrend, ld.loadSigma = 1+rise, tr, around
	}
	for _, v := range j.vs {
		if v.est.busy >= 0.3 {
			ld.capSigma = math.Max(ld.capSigma, v.rateCV)
		}
	}
	ld.sigma = math.Max(math.Hypot(ld.loadSigma, ld.capSigma), minSigma)
	if j.offered > 0 {
		if j.lag <= backlogShare*cfg.SLO.MaxLag.Seconds() { // a backlog needs the capacity the window showed to drain
			ld.drop = dropOf(st.Window, capped, j.offered, ld.sigma, cfg.Settle, cfg.RateWindow, cfg.ScaleDownWindow, ld.react, now)
		}
		since := now.Add(-cfg.ScaleDownWindow)
		if !ld.drop.since.IsZero() {
			since = ld.drop.since
		}
		ld.peak = peakFrom(st.Window, capped, j.offered, cfg.Settle, since)
	}
	if cfg.Forecast > 0 && st.Profile != nil {
		ld.forecast, ld.why = st.Profile.rise(now, ld.react+cfg.MinInterval, j.offered)
	}
	if ld.rise > ld.forecast {
		ld.forecast, ld.why = ld.rise, ""
	}
	if cfg.Forecast > 0 && j.offered > 0 {
		ld.cycle = st.Minutes.ahead(now)
		ld.minutes, ld.now, ld.top = st.Minutes, now, st.Minutes.spanMax()
	}
	return ld
}

// aheadOf is ld with the rise seen to repeat (Series.comeback: from
// about the load now to above aheadRise of it) as forecast, when the next
// one is due within the reaction time and a decision interval (a restart
// made now is over by then): every candidate is priced at the least of
// the rises' peaks now, so a job that would not carry it restarts in the
// trough before the rise, not at its lag. Four rises at least, every one
// in comebackSpan on the beat: a shape not seen repeat (random bursts, a
// step, a trend) is never forecast. Not for a job with a source without
// pendingRecords: its catch-ups after a restart read as rises
// (ads-join-groups, docs/BENCHMARK.md session 6).
func (ld load) aheadOf(j jobView, cfg Config) load {
	level := ld.offered * ld.forecast * (1 + aheadRise)
	if ld.minutes == nil || ld.offered <= 0 || ld.top <= level || !j.pendingKnown() {
		return ld
	}
	c, ok := ld.minutes.comeback(ld.now, ld.offered, level)
	if !ok || c.in > ld.react+cfg.MinInterval || c.peak <= ld.forecast {
		return ld
	}
	ld.forecast = c.peak
	ld.why = fmt.Sprintf("forecast: the load rose from its level now to ×%.2f of it %d times, every ~%s, the next due in ~%s: priced at it now, so a restart comes before the lag does",
		c.peak, c.seen, c.every.Round(10*time.Second), c.in.Round(10*time.Second))
	return ld
}

// aheadRise is the least rise aheadOf looks for: twice riseMin, so the
// noise of a flat load (a few percent) makes none.
const aheadRise = 2 * riseMin

// comebackAbove is the rise the load has made again and again back above
// what a candidate of headroom h over the demand carries, when its
// capacity is below the job's now (headroom h0): a release to it is
// undone by the next one (Series.comeback); nil for none.
func (ld load) comebackAbove(h, h0 float64) *comeback {
	level := ld.offered * ld.forecast * (1 + h)
	if ld.minutes == nil || h >= h0 || math.IsInf(h, 1) || ld.offered <= 0 || level >= ld.top {
		return nil
	}
	if c, ok := ld.minutes.comeback(ld.now, ld.offered, level); ok {
		return &c
	}
	return nil
}

// drift is the typical relative change of the offered rate between
// settled samples tau apart (within 1.5 tau): the median of its size,
// scaled to a standard deviation (× 1.4826 for normal changes), so a
// single step of the load, which only the pairs spanning it see, is a
// change to follow and not a volatility to keep headroom for. With fewer
// than three such pairs, the settled samples' coefficient of variation, or
// in a run's first settled minute their spread around their line
// (lineMoments.spread), for the same reason: in a window that short the
// change the samples show is a step the meters ramp into, which the
// offered rate follows (risenOffered), not a drift to keep headroom for.
// Samples marked in capped (may be nil) are left out: their offered rate
// is what the job could read (j.capped).
func drift(w []Sample, capped []bool, settle, tau time.Duration, trend float64) float64 {
	var all lineMoments
	var small [64]float64
	sizes := small[:0]
	k := 0
	for i, a := range w {
		if a.At.Sub(a.Epoch) < settle || at(capped, i) {
			continue
		}
		all.add(timeSub(a.At, w[0].At).Seconds(), a.Offered)
		if a.Offered <= 0 {
			continue
		}
		k = max(k, i+1)
		for k < len(w) && (w[k].At.Sub(a.At) < tau || w[k].At.Sub(w[k].Epoch) < settle || at(capped, k)) {
			k++
		}
		if k < len(w) && w[k].At.Sub(a.At) <= tau*3/2 {
			sizes = append(sizes, math.Abs(offTrend(a, w[k], trend)))
		}
	}
	if len(sizes) < 3 {
		return all.spread()
	}
	slices.Sort(sizes)
	m := len(sizes) / 2
	med := sizes[m]
	if len(sizes)%2 == 0 {
		med = (sizes[m-1] + sizes[m]) / 2
	}
	return madScale * med
}

// lineMoments accumulates values over time (seconds from any origin,
// added in time order) for their spread: around their least-squares line,
// or their coefficient of variation.
type lineMoments struct {
	t0, t1, n, st, sy, stt, sty, syy float64
}

func (m *lineMoments) add(t, y float64) {
	if m.n == 0 {
		m.t0 = t
	}
	m.t1 = t
	t -= m.t0
	m.n, m.st, m.sy, m.stt, m.sty, m.syy = m.n+1, m.st+t, m.sy+y, m.stt+t*t, m.sty+t*y, m.syy+y*y
}

// spread is drift's uncertainty with fewer than three pairs: when the
// values span at most a meter span (a run's first settled minute), their
// standard deviation around their line (n − 2 degrees of freedom) ÷ their
// mean, as Flink's 60 s meters cross a step in a straight line that the
// offered rate follows (risenOffered), so the ramp is not a spread; over a
// longer span (a short metricWindow: compare's fast timing) their
// coefficient of variation, as before. 0 with fewer than 3 values or a
// mean that is not positive.
func (m lineMoments) spread() float64 {
	if m.n < 3 || m.sy <= 0 {
		return 0
	}
	mean := m.sy / m.n
	if m.t1-m.t0 > meterSpan.Seconds() {
		return math.Sqrt(math.Max(m.syy/m.n-mean*mean, 0)) / mean // moments.cv
	}
	res := m.syy - m.sy*mean
	vtt := m.stt - m.st*m.st/m.n
	vty := m.sty - m.st*mean
	if vtt > 0 {
		res -= vty * vty / vtt
	}
	return math.Sqrt(math.Max(res, 0)/(m.n-2)) / mean
}

// rise is the values' least-squares slope ÷ their mean (share of the
// mean per unit of t); 0 with fewer than 3 values, a mean that is not
// positive or no time between them.
func (m lineMoments) rise() float64 {
	if m.n < 3 || m.sy <= 0 {
		return 0
	}
	vtt := m.stt - m.st*m.st/m.n
	if vtt <= 0 {
		return 0
	}
	return (m.sty - m.st*m.sy/m.n) / vtt / (m.sy / m.n)
}

// lineRise is the rise (share of the load per second, lineMoments.rise)
// of w's settled offered rates, samples marked in capped left out: in a
// history too short for drift's pairs, the line its samples follow.
func lineRise(w []Sample, capped []bool, settle time.Duration) float64 {
	var m lineMoments
	for i := range w {
		if s := &w[i]; timeSub(s.At, s.Epoch) >= settle && !at(capped, i) {
			m.add(timeSub(s.At, w[0].At).Seconds(), s.Offered)
		}
	}
	return m.rise()
}

// madScale turns the median absolute change into a standard deviation for
// normally distributed changes.
const madScale = 1.4826

func (ld load) String() string { return string(ld.describe(nil)) }

func (ld load) describe(b text) text {
	b = b.s("uncertainty ±").f(100*ld.sigma, 0).s("% over ").dur(ld.react).s(" (load ").f(100*ld.loadSigma, 0).
		s("%, capacity ").f(100*ld.capSigma, 0).s("%)")
	if ld.seen > 0 {
		b = b.s("; ").f(ld.disturbances, 1).s(" failovers/h (").i(ld.seen).s(" seen)")
	}
	if ld.disturbances > 0 && ld.followUp > 0 {
		if ld.folds {
			b = b.s("; a failover's ~").dur(ld.followUp).s(" replay priced with the scale-up that drains it, folded into the failover's restart (1 restart: its release), not with standing headroom")
		} else {
			b = b.s("; a failover's ~").dur(ld.followUp).s(" replay priced with the scale-up that drains it (2 restarts), not with standing headroom")
		}
	}
	if !ld.drop.since.IsZero() {
		b = b.s("; the load stepped down from ").si(ld.drop.before).s(" rec/s: a scale-down is sized for the level since, not the window's peak")
	}
	if ld.rise > 1 {
		b = b.s("; the load rises ").f(100*ld.riseTrend*60, 1).s("%/min (trend): priced as its rise, ×").f(ld.rise, 2).
			s(" by the time a restart made now is over, with ±").f(100*ld.loadSigma, 0).s("% around it, not as uncertainty both ways")
	}
	if ld.forecast > 1 && ld.why != "" {
		b = b.s("; ").s(ld.why)
	}
	if ld.cycle != nil {
		b = ld.cycle.describe(b.s("; forecast: "))
	}
	return b
}
