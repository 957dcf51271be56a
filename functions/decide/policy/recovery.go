package policy

import (
	"math"
	"time"
)

// recoveredShare of the SLO is the lag under which a restart counts as
// recovered from: lag back under a tenth of the SLO within slo.recovery.
const recoveredShare = 0.1

// recovery is whether a candidate's restart (and its planned release's)
// brings the lag back under recoveredShare of the SLO within
// slo.recovery, at today's estimate of the load and its trend.
type recovery struct {
	// backlog is the lag (s) the restart leaves: the lag at the stop (what
	// there is now, grown while TaskManagers start and a checkpoint is
	// awaited), the outage and the replay.
	backlog float64
	// need is the spare capacity (share of the demand) that drains it in
	// time; took is how long the candidate's spare takes (+Inf: never).
	need float64
	took time.Duration
	ok   bool
	// sure: it drains in time at the upper inner level of the load's
	// uncertainty too (1 + sureLevel × sigma times the estimate), the
	// level the price weighs besides the estimate (gaussHermite).
	sure bool
	// above is how far above the estimate that level is (share of the
	// load), sureTook how long the drain takes there (0 when not checked).
	above    float64
	sureTook time.Duration
	// slower, when set (> 1), is the drain factor (drainFactor) that
	// made a raise that drains in time at the estimate not recover in
	// time: its priced time stretched by it passes slo.recovery.
	slower float64
	// within is slo.recovery (0: not checked).
	within time.Duration
}

// sureLevel is the load, in standard deviations of its uncertainty
// above the estimate, at which a restart's drain is checked besides the
// estimate: the inner Gauss–Hermite node the price weighs.
var sureLevel = gaussHermite[1][0]

// recoveryOf checks e's restart under plan p against cfg.SLO.Recovery: the
// backlog drains at the candidate's spare capacity, which a load rising by
// trend (share of the load per second) erodes as the drain goes on, so the
// spare needed over a drain of d seconds is backlog ÷ d + trend × d ÷ 2. A
// planned release's own restart is checked the same way at the headroom it
// settles at. A raise's are checked again at the load's upper inner
// level of uncertainty, 1 + sureLevel × sigma (sigma the load's own, not
// the capacity's extrapolation): sure, what surer weighs; a release's
// only at the estimate (checked there too, releases were kept from the
// walk's lows at chains-windows ×oracle15 1.16 → 1.20 and realistic-load
// 1.14 → 1.18, session 19). A raise recovers in time at the estimate only
// if its priced time stretched by slower (drainFactor: how much slower
// than priced the job's last scale-ups worked off their backlogs) is
// within slo.recovery too. Candidates without a restart, and every
// candidate when the knob is 0, recover.
func recoveryOf(e *evaluation, p plan, rc *restartCost, h0, trend, sigma, slower float64, cfg *Config) recovery {
	if !p.restart || cfg.SLO.Recovery <= 0 {
		return recovery{ok: true, sure: true}
	}
	r := recoveryAt(e, p, rc, h0, trend, 1, cfg)
	if e.rises && slower > 1 && r.ok && stretch(r.took, slower) > cfg.SLO.Recovery {
		r.ok, r.slower = false, slower
	}
	r.sure = r.ok
	if r.ok && e.rises {
		r.above = sureLevel * sigma
		s := recoveryAt(e, p, rc, h0, trend, 1+r.above, cfg)
		r.sure, r.sureTook = s.ok, s.took
	}
	return r
}

// stretch is d × k (d when d is "never").
func stretch(d time.Duration, k float64) time.Duration {
	if d == time.Duration(math.MaxInt64) {
		return d
	}
	return time.Duration(float64(d) * k)
}

// recoveryAt is recoveryOf at the load m × the estimate.
func recoveryAt(e *evaluation, p plan, rc *restartCost, h0, trend, m float64, cfg *Config) recovery {
	slo := cfg.SLO.MaxLag.Seconds()
	lp := lagPath{lag: p.lag, slo: slo, end: math.Inf(1)}
	lp.run(rc.wait.Seconds(), -under(h0, m))
	lp.run(rc.outage.Seconds(), 1)
	lp.jump(rc.replay.Seconds())
	r := drainCheck(lp.lag, under(e.h, m), rc.outage, trend, cfg)
	r.within = cfg.SLO.Recovery
	if p.release != nil {
		back := drainCheck(rc.outage.Seconds()+disturbanceReplay(*rc, *cfg).Seconds(), under(p.release.h, m), rc.outage, trend, cfg)
		if !back.ok {
			r.ok, r.took, r.need = false, max(r.took, back.took), maxF(r.need, back.need)
		}
	}
	return r
}

// drainCheck is the recovery of a backlog (s) left by a restart whose
// outage is out, drained at spare h while the load rises by trend.
func drainCheck(backlog, h float64, outage time.Duration, trend float64, cfg *Config) recovery {
	r := recovery{backlog: backlog}
	left := backlog - recoveredShare*cfg.SLO.MaxLag.Seconds()
	if left <= 0 {
		r.ok = true
		r.took = outage
		return r
	}
	d := (cfg.SLO.Recovery - outage).Seconds()
	if d <= 0 {
		r.need, r.took = math.Inf(1), time.Duration(math.MaxInt64)
		return r
	}
	r.need = left/d + trend*d/2
	r.took = time.Duration(math.MaxInt64)
	// the drain's length t solves h·t − trend·t²/2 = left
	if disc := h*h - 2*trend*left; h > 0 && disc >= 0 {
		t := left / h
		if trend > 0 {
			t = (h - math.Sqrt(disc)) / trend
		}
		r.took = outage + time.Duration(t*float64(time.Second))
	}
	r.ok = h >= r.need
	return r
}

// recovering reports whether any candidate that restarts the job drains its
// restart's backlog in time: then the ones that do not are left out of the
// choice (keep, which restarts nothing, stays in).
func recovering(evs []evaluation) bool {
	for _, e := range evs {
		if !e.keep() && e.recovery.ok {
			return true
		}
	}
	return false
}

// surePremium is the share of the chosen raise's price the policy pays
// for a change that drains its restart's backlog within slo.recovery at
// the upper inner level of the load's uncertainty too (recovery.sure).
// The price weighs a slow drain by the lag it holds, at every level; the
// lag-back target counts a drain past slo.recovery whatever its lag, and
// a drain sized to end just inside it at the estimate misses whenever the
// load comes out a few percent higher. So the margin is bought where it is
// cheap (a raise timed after the next checkpoint, a TaskManager's slots
// more on a steady load) and not where the load's own uncertainty is
// wide (clickstream-bursts' ±12–23 %: bought whatever it cost, the spare
// for +31 % was kept for the run, since a scale-up from no lag plans no
// release; 1.37 → 1.49× oracle15, session 18). Higher: more spare held,
// fewer slow drains; 0: the margin only where it costs nothing more.
var surePremium = 0.1

// surer is best, or, when best raises the job and drains its restart's
// backlog in time only at the estimate, the cheapest change that drains
// it in time at the upper level too, if it is priced within surePremium
// of best.
func surer(best evaluation, evs []evaluation) evaluation {
	if !best.raises() || best.recovery.sure || !best.recovery.ok {
		return best
	}
	found := false
	var s evaluation
	for _, e := range evs {
		if !e.keep() && e.recovery.sure && e.recovery.ok && e.cost <= best.cost*(1+surePremium) && (!found || e.cost < s.cost) {
			s, found = e, true
		}
	}
	if !found {
		return best
	}
	return s
}

// loadTrend is the load's typical rise (share of the load per second)
// between settled samples tau apart (within 1.5 tau): the median of the
// signed relative changes ÷ their spacing, so a single step, which only
// the pairs spanning it see, is not a trend; 0 when the load does not rise
// or fewer than three pairs exist. Samples marked in capped (may be nil)
// are left out.
func loadTrend(w []Sample, capped []bool, settle, tau time.Duration) float64 {
	if len(w) > maxDriftSamples {
		v, _ := loadTrendLong(w, capped, settle, tau)
		return v
	}
	var t windowTimes
	t.of(w, settle)
	v, _ := loadTrendTimes(w, capped, t.ts[:len(w)], t.settled[:len(w)], tau)
	return v
}

// loadTrendTimes is loadTrend with the window's times worked out
// (windowTimes: ts and settled, one per sample of w), and the pairs it
// was measured from (under three: not measured, 0).
func loadTrendTimes(w []Sample, capped []bool, ts []time.Duration, settled []bool, tau time.Duration) (float64, int) {
	ok := func(i int) bool { return settled[i] && !at(capped, i) }
	var small [maxDriftSamples]float64
	rel := small[:0]
	k := 0
	for i := range w {
		a := &w[i]
		if !ok(i) || a.Offered <= 0 {
			continue
		}
		k = max(k, i+1)
		for k < len(w) && (ts[k]-ts[i] < tau || !ok(k)) {
			k++
		}
		if k < len(w) && ts[k]-ts[i] <= tau*3/2 {
			rel = append(rel, (w[k].Offered-a.Offered)/a.Offered/(ts[k]-ts[i]).Seconds())
		}
	}
	if len(rel) < 3 {
		return 0, len(rel)
	}
	return maxF(median(rel), 0), len(rel)
}

// windowTimes are a window's sample times since its first sample (ts)
// and whether each sample is settled into its run (settled), worked out
// once for the passes of measureLoad: time.Time.Sub checks each result
// with an Add, and the passes would call it a few hundred times. The
// passes read only differences of ts, so a suffix of the window reads the
// suffix of its times.
type windowTimes struct {
	ts      [maxDriftSamples]time.Duration
	settled [maxDriftSamples]bool
}

// of fills t for w (len(w) ≤ maxDriftSamples) and samples settled after
// settle into their run.
func (t *windowTimes) of(w []Sample, settle time.Duration) {
	for i := range w {
		s := &w[i]
		t.ts[i] = timeSub(s.At, w[0].At)
		t.settled[i] = timeSub(s.At, s.Epoch) >= settle
	}
}

// loadTrendLong is loadTrendTimes for a window longer than maxDriftSamples.
func loadTrendLong(w []Sample, capped []bool, settle, tau time.Duration) (float64, int) {
	var rel []float64
	k := 0
	for i, a := range w {
		if a.At.Sub(a.Epoch) < settle || at(capped, i) || a.Offered <= 0 {
			continue
		}
		k = max(k, i+1)
		for k < len(w) && (w[k].At.Sub(a.At) < tau || w[k].At.Sub(w[k].Epoch) < settle || at(capped, k)) {
			k++
		}
		if k < len(w) && w[k].At.Sub(a.At) <= tau*3/2 {
			rel = append(rel, (w[k].Offered-a.Offered)/a.Offered/w[k].At.Sub(a.At).Seconds())
		}
	}
	if len(rel) < 3 {
		return 0, len(rel)
	}
	return maxF(median(rel), 0), len(rel)
}

// trendSpan is the spacing of the samples loadTrend compares: long enough
// that the rates' noise does not read as a trend, short against the
// metric window so that a step is seen by few of the pairs.
const trendSpan = 2 * time.Minute

// describe states the chosen change's recovery and, when a cheaper change
// was left out for draining too slowly, what that costs: "sized to drain
// the restart's ~42 s backlog within 3m0s (~2m10s; 6 slots (+5%
// headroom), 1,800 slot-s/h cheaper, would take ~4m5s)".
func (r recovery) describe(b text, best evaluation, evs []evaluation) text {
	within := r.within
	if best.keep() || within <= 0 {
		return b
	}
	var cheaper *evaluation
	for i := range evs {
		if e := &evs[i]; !e.keep() && !e.recovery.ok && e.cost < best.cost && (cheaper == nil || e.cost < cheaper.cost) {
			cheaper = e
		}
	}
	var unsure *evaluation
	for i := range evs {
		if e := &evs[i]; r.sure && e.raises() && e.recovery.ok && !e.recovery.sure && e.cost < best.cost && (unsure == nil || e.cost < unsure.cost) {
			unsure = e
		}
	}
	if unsure != nil && (cheaper == nil || unsure.cost < cheaper.cost) {
		// surer chose best over unsure, within surePremium
		u := unsure.recovery
		b = b.s("; chosen to drain the restart's ~").f(r.backlog, 0).s(" s backlog within ").dur(within).s(" with the load ").f(100*u.above, 0).s("% above the estimate too (").took(r.took).s(", ").took(r.sureTook).s(" at that load; ")
		b = unsure.label(b).s(", priced ").f(100*(best.cost/unsure.cost-1), 0).s("% less, would take ").took(u.took).s(", ")
		if u.sureTook == time.Duration(math.MaxInt64) {
			b = b.s("never at that load")
		} else {
			b = b.took(u.sureTook).s(" at that load")
		}
		return b.s(")")
	}
	if cheaper == nil {
		if !r.ok {
			return b.s("; no change drains the restart's ~").f(r.backlog, 0).s(" s backlog within ").dur(within).s(" (this one ").took(r.took).s(")")
		}
		return b.s("; the restart's ~").f(r.backlog, 0).s(" s backlog drains in ").took(r.took)
	}
	b = b.s("; sized to drain the restart's ~").f(r.backlog, 0).s(" s backlog within ").dur(within).s(" (").took(r.took).s("; ")
	b = cheaper.label(b).s(", ").f((best.dSlot-cheaper.dSlot)*3600/horizon.Seconds(), 0).s(" slot-s/h cheaper, would take ").took(cheaper.recovery.took)
	if k := cheaper.recovery.slower; k > 1 {
		b = b.s(", ").took(stretch(cheaper.recovery.took, k)).s(" as slow as this job's last scale-ups drained against their price (×").f(k, 2).s(")")
	}
	return b.s(")")
}

// took formats a drain's length: "~2m10s", or "never" at the estimate.
func (t text) took(d time.Duration) text {
	if d == time.Duration(math.MaxInt64) {
		return t.s("never at this load")
	}
	return t.s("~").dur(d)
}

// recoveryNeed is the spare capacity (share of the demand) a scale-up
// needs to drain its restart's backlog within slo.recovery, with the
// load's trend; 0 when the knob is 0 or the backlog is already small,
// +Inf when no spare drains it in time.
func recoveryNeed(j jobView, ld load, rc restartCost, h0 float64, cfg Config) float64 {
	if cfg.SLO.Recovery <= 0 {
		return 0
	}
	up := rc.forChange(true, false)
	return recoveryOf(&evaluation{h: math.Inf(1)}, plan{lag: j.lag, restart: true}, &up, h0, ld.trend, ld.sigma, ld.slower, &cfg).need
}
