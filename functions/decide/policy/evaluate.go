package policy

import (
	"math"
	"slices"
	"time"
)

// horizon is the span every candidate is priced over.
const horizon = time.Hour

// lagShare weighs the lag below the SLO: 1 prices a second at a lag of x
// as x ÷ SLO seconds over the SLO (a steady lag of a twentieth of the SLO
// costs, at the default slo.weight, as much as running the job's slots);
// above the SLO every second counts in full besides. Swept on the
// scorecard with 0.1 and 0.3 (docs/BENCHMARK.md): at 1 the job keeps the
// headroom that drains a restart's lag quickly, with a fifth fewer
// rescales and a sixth less p99 lag for 4 % more slots. A variable only
// for that sweep (SetLagShare in tests).
var lagShare = 1.0

// fixHeadroom is the headroom a corrective scale-up is assumed to bring
// when a candidate turns out short.
const fixHeadroom = 0.2

// evaluation is a candidate priced over the horizon.
type evaluation struct {
	candidate
	// after, when positive, delays the restart until the next checkpoint;
	// pinned when that moment is one snapshot wide (a reactive scale-up
	// timed so that its TaskManagers register after the checkpoint).
	after  time.Duration
	pinned bool
	// h is the candidate's headroom over the demand (min over vertices of
	// capacity ÷ demand − 1); +Inf when no capacity is known. sigma is the
	// relative uncertainty of demand against its capacity.
	h, sigma   float64
	slots, tms int
	// paid are the slots paid for: the TaskManagers' (standby included),
	// or the slots used in session mode.
	paid int
	// slotSec is slots × horizon; over is the expected seconds with the lag
	// above the SLO; lag the mean lag (s); restarts the expected restarts,
	// this one included.
	slotSec, over, lag, restarts float64
	// lagged is ∫ lag dt ÷ SLO and excess ∫ (lag − SLO)⁺ dt ÷ SLO: how long
	// and how deep the job lags, in SLO-seconds.
	lagged, excess float64
	// fixes is the expected corrective scale-ups among restarts: the
	// weight of the load levels at which the candidate turns out short
	// and another restart raises it (steadiest).
	fixes float64
	cost  float64
	// dSlot is slotSec − keep's; rises: some vertex goes up; starts: it
	// asks for more TaskManagers than are registered (limits.starts), so
	// its restart waits for their start-up (restartCost.start).
	dSlot  float64
	rises  bool
	starts bool
	// released is the candidate this one is planned to be released to once
	// the lag has drained (after drained), nil for none; held when the
	// release is planned for the end of the undo window instead (a
	// release sooner would undo this scale-up on the same load, and
	// holding the spare until then costs less than the undo's restart:
	// releaseOf).
	released *evaluation
	drained  time.Duration
	held     bool
	// recovery: whether the restart's backlog drains within slo.recovery.
	recovery recovery
	// back is the rise seen to repeat that undoes this release (its
	// restart and lag priced); nil for none.
	back *comeback
}

func (e evaluation) keep() bool { return e.headroom < 0 }

func (e evaluation) raises() bool {
	return !e.keep() && e.rises
}

// gaussHermite are the nodes and weights of a 5-point Gauss–Hermite rule
// for a standard normal: the load (against capacity) is 1 + sigma × x.
var gaussHermite = [5][2]float64{{0, 0.53333}, {1.35562, 0.22208}, {-1.35562, 0.22208}, {2.85697, 0.01126}, {-2.85697, 0.01126}}

// evaluateAll prices every candidate, and a restart timed after the next
// checkpoint for every change when one is due later than actuate waits.
// Its evaluations are in s (one weighing's).
func evaluateAll(s *scratch, cands []candidate, j jobView, ld load, dem []float64, rc restartCost, lim limits, sc []scaling, caps []*capMemo, cfg Config) []evaluation {
	h0 := headroomOf(cands[0].ps, j, dem, caps)
	slots0 := lim.slots(cands[0].ps)
	paid0 := lim.paid(lim.need(cands[0].ps))
	sizes := [3]int{slots0, needSlots(cands, lim), paid0}
	room := len(cands)
	if rc.later > 0 || rc.up != nil || rc.start != nil {
		room *= 2
	}
	if j.lag > 0 {
		room += len(cands)
	}
	// one buffer: the candidates evaluated (base), then the plans priced
	// (out), room of them at most
	all := zeroed(&s.evs, len(cands), len(cands)+room)
	base, out := all[:len(cands):len(cands)], all[len(cands):len(cands)]
	rest := -1
	var restCost float64
	ld.ride = &rc // every candidate rides failovers at keep's restart
	for i, c := range cands {
		e := evaluation{candidate: c, h: headroomOf(c.ps, j, dem, caps)}
		e.back = ld.comebackAbove(e.h, h0)
		e.slots, e.tms = lim.need(c.ps)
		e.paid = lim.paid(e.slots, e.tms)
		e.sigma = math.Hypot(ld.sigma, extrapolation(c.ps, j, sc, caps))
		e.rises = rises(c.ps, j)
		e.starts = lim.starts(e.rises, e.tms)
		base[i] = e
		// the size to settle at: cheapest run without a lag or restart
		s := e
		if price(&s, plan{}, &ld, &rc, h0, sizes, &cfg); rest < 0 || s.cost < restCost {
			rest, restCost = i, s.cost
		}
	}
	for _, e := range base {
		p := plan{lag: j.lag, restart: !e.keep() || rc.down}
		rc := rc.forChange(e.rises, e.starts)
		out = append(out, e)
		price(&out[len(out)-1], p, &ld, &rc, h0, sizes, &cfg)
		if !e.keep() && rc.later > 0 {
			later := rc.timedLater()
			out = append(out, e)
			l := &out[len(out)-1]
			l.after, l.pinned = rc.later, rc.source == replayAtRegistration
			price(l, p, &ld, &later, h0, sizes, &cfg)
		}
		// draining, then released to the size the job settles at: for
		// keep as for every change, so neither is compared with a plan
		// the other could follow too
		if r := &base[rest]; j.lag > 0 && e.paid > r.paid && !slices.Equal(r.ps, e.ps) {
			p.release = r
			out = append(out, e)
			price(&out[len(out)-1], p, &ld, &rc, h0, sizes, &cfg)
		}
	}
	return out
}

// needSlots is the slots the job needs: sized with no headroom (cands[1]),
// else what it runs (keep). The SLO's price scales with it, not with what
// the job runs now: an over-provisioned job must not find its own release
// dearer for being over-provisioned.
func needSlots(cands []candidate, lim limits) int {
	if len(cands) > 1 && cands[1].headroom == 0 {
		return lim.slots(cands[1].ps)
	}
	return lim.slots(cands[0].ps)
}

func rises(ps []int, j jobView) bool {
	for i := range j.vs {
		if ps[i] > j.vs[i].cur {
			return true
		}
	}
	return false
}

// headroomOf is min over vertices with a known capacity and demand of
// capacity(p) ÷ demand − 1.
func headroomOf(ps []int, j jobView, dem []float64, caps []*capMemo) float64 {
	h := math.Inf(1)
	for i := range j.vs {
		if j.vs[i].rate <= 0 || dem[i] <= 0 {
			continue
		}
		h = minF(h, caps[i].at(ps[i])/dem[i]-1)
	}
	return h
}

// extrapolation is the largest relative uncertainty of a vertex's capacity
// at ps that its efficiency's uncertainty brings (scaling.spread, its
// logarithm remembered in caps).
func extrapolation(ps []int, j jobView, sc []scaling, caps []*capMemo) float64 {
	x := 0.0
	for i := range j.vs {
		if v := &j.vs[i]; v.rate > 0 {
			x = maxF(x, sc[i].sd*caps[i].logRatio(ps[i]))
		}
	}
	return x
}

// plan is how a candidate is carried out: from a lag, with or without a
// restart, and optionally released to a smaller candidate once the lag has
// drained (a second restart).
type plan struct {
	lag     float64
	restart bool
	release *evaluation
}

// price fills e's figures for p: over each Gauss–Hermite load level, the
// lag's path over the horizon (see lagPath), plus load.disturbances restarts per
// hour each priced like a restart at the final headroom; cost =
// slot-seconds + the restart's idle slots + Weight × the slots the job
// needs ×
// (seconds above the SLO + ∫ lag dt ÷ SLO + ∫ (lag − SLO)⁺ dt ÷ SLO): a
// second at the SLO costs as much as a second above it, and above it twice
// plus how deep.
func price(e *evaluation, p plan, ld *load, rc *restartCost, h0 float64, sizes [3]int, cfg *Config) {
	slots0, need, paid0 := sizes[0], sizes[1], sizes[2]
	slo, hz := cfg.SLO.MaxLag.Seconds(), horizon.Seconds()
	final, drained := e.h, 0.0
	if p.release != nil {
		final = p.release.h
	}
	for _, n := range gaussHermite {
		m := maxF(1+e.sigma*n[0], 0.1)
		lp := lagPath{lag: p.lag, slo: slo, end: hz}
		if p.restart {
			lp.run(rc.wait.Seconds(), -under(h0, m))
			lp.run(rc.outage.Seconds(), 1)
			lp.jump(rc.replay.Seconds())
		}
		hm := under(e.h, m)
		switch {
		case hm > 0 && p.release != nil:
			lp.run(lp.lag/hm, -hm)
			drained += n[1] * lp.t
			lp.run(rc.wait.Seconds()+rc.interval.Seconds()/2, -hm)
			lp.run(rc.outage.Seconds(), 1)
			lp.run(hz, -under(final, m))
			e.restarts += n[1]
		case hm >= 0:
			lp.run(hz, -hm)
		case e.h < 0 || h0 < 0 && !p.restart:
			// short at today's estimate: nothing later corrects it
			lp.run(hz, -hm)
		default:
			// short only if the load turns out higher: corrected after
			// the reaction time by another restart
			lp.run(ld.react.Seconds(), -hm)
			lp.run(rc.wait.Seconds(), -hm)
			lp.run(rc.outage.Seconds(), 1)
			lp.jump(rc.replay.Seconds())
			lp.run(hz, -fixHeadroom)
			e.restarts += n[1]
			e.fixes += n[1]
		}
		e.over += n[1] * lp.over
		e.lagged += n[1] * lp.area / slo
		e.excess += n[1] * lp.excess / slo
		e.lag += n[1] * lp.area / maxF(lp.t, 1)
	}
	t1 := hz // when the job is back at its size now (a release undone)
	if p.release != nil {
		e.back = p.release.back
	}
	if e.back != nil {
		t1 = e.undone(final, ld, rc, slo, hz)
	}
	if ld.disturbances > 0 {
		ride := rc
		if ld.ride != nil {
			ride = ld.ride
		}
		d, follow := disturbance(ride, ld, maxF(final, 0), cfg, slo, hz)
		k := ld.disturbances * hz / 3600
		e.over += k * d.over
		e.lagged += k * d.area / slo
		e.excess += k * d.excess / slo
		e.restarts += k * follow
	}
	if p.restart {
		e.restarts++
	}
	e.recovery = recoveryOf(e, p, rc, h0, ld.trend, ld.sigma, ld.slower, cfg)
	e.slotSec = float64(e.paid)*t1 + float64(paid0)*(hz-t1)
	stake := 0.0
	if p.release != nil {
		var at float64
		at, stake, e.held = releaseOf(e, p, rc, drained, need, cfg)
		e.drained = time.Duration(drained * float64(time.Second))
		t1 = maxF(t1, at)
		e.slotSec = float64(e.paid)*at + float64(p.release.paid)*(t1-at) + float64(paid0)*(hz-t1)
		e.released = p.release
	}
	e.dSlot = e.slotSec - float64(paid0)*hz
	idle := 0.0
	if p.restart {
		idle = rc.outage.Seconds() * float64(slots0)
	}
	// a restart's outage counts as time over the SLO: no result leaves the
	// job while it lasts, whatever the lag
	e.cost = e.slotSec + idle + stake + cfg.SLO.Weight*float64(max(need, 1))*(e.over+lagShare*e.lagged+e.excess+e.restarts*rc.outage.Seconds())
}

// releaseOf is when a drain's planned release (p.release, once the lag
// has drained after drained seconds) is made, as the undo rule (undoOf)
// will carry it out: a release within undoWindow of the scale-up running
// lowers, on the same load, what it raised, which the scorecard counts
// as a flap and the undo rule prices as a restart more (stake). So it is
// planned for drained with that restart added when holding the spare
// until the window ends costs more; else for the window's end (held),
// at no stake. need prices the restart as undoOf does (its outage and
// replay, undoStop: the restart the scale-up is sized with is the one
// its undo is priced at). A plan that restarts nothing now (keep) undoes
// no scale-up.
func releaseOf(e *evaluation, p plan, rc *restartCost, drained float64, need int, cfg *Config) (at, stake float64, held bool) {
	if !p.restart || !e.rises {
		return drained, 0, false
	}
	ran := (rc.wait + rc.outage).Seconds()
	end := ran + undoWindow.Seconds()
	if drained >= end {
		return drained, 0, false
	}
	price := restartPrice(undoStop(*rc), *cfg, need, e.slots)
	if hold := float64(e.paid-p.release.paid) * (end - drained); hold <= price {
		return end, 0, true
	}
	return drained, price, false
}

// under is the headroom left when the load is m × the demand: (1+h)/m − 1.
func under(h, m float64) float64 {
	if math.IsInf(h, 1) {
		return h
	}
	return (1+h)/m - 1
}

// disturbanceReplay is the replay of an unplanned restart: half a
// checkpoint interval on average (Replay without one).
func disturbanceReplay(rc restartCost, cfg Config) time.Duration {
	if rc.interval > 0 {
		return rc.interval / 2
	}
	return cfg.Replay
}

// lagPath follows the lag (s of offered load) through linear segments up to
// end seconds, accumulating the time above the SLO, the area under the lag
// and the area above the SLO.
type lagPath struct {
	lag, t, slo, end   float64
	over, area, excess float64
}

// run advances d seconds with the lag changing at slope s/s, never below 0.
func (p *lagPath) run(d, slope float64) {
	d = minF(d, p.end-p.t)
	if d <= 0 || math.IsNaN(slope) {
		return
	}
	if math.IsInf(slope, -1) {
		slope = -1e9
	}
	if slope < 0 && p.lag+slope*d < 0 {
		zero := p.lag / -slope
		p.segment(zero, slope)
		p.t += d - zero
		return
	}
	p.segment(d, slope)
}

// segment is a piece of run on which the lag stays non-negative.
func (p *lagPath) segment(d, slope float64) {
	a, b := p.lag, p.lag+slope*d
	p.over += timeAbove(a, b, d, p.slo)
	p.area += (a + b) / 2 * d
	p.excess += areaAbove(a, b, d, p.slo)
	p.lag, p.t = b, p.t+d
}

// jump adds x seconds of lag at once (a restart's replay).
func (p *lagPath) jump(x float64) {
	if x > 0 { // maxF(x, 0), kept inlinable
		p.lag += x
		return
	}
	p.lag += math.Max(x, 0)
}

// timeAbove is the time within d that a line from a to b spends above level.
func timeAbove(a, b, d, level float64) float64 {
	switch {
	case a >= level && b >= level:
		return d
	case a < level && b < level:
		return 0
	case a >= level:
		return d * (a - level) / (a - b)
	default:
		return d * (b - level) / (b - a)
	}
}

// choose is the cheapest evaluation; keep wins ties within 0.5 % of its
// cost, so figures at the edge do not flip a job back and forth. When some
// change drains its restart's backlog within slo.recovery, the changes
// that do not are left out (recovering). A change that drains it in time
// only at the estimate gives way to one that does at the load's upper
// level too when that is priced within surePremium of it (surer).
func choose(evs []evaluation) evaluation {
	best, strict := evs[0], recovering(evs)
	for _, e := range evs[1:] {
		if e.cost < best.cost && (!strict || e.recovery.ok) {
			best = e
		}
	}
	if !best.keep() && best.cost > evs[0].cost*(1-hysteresis) {
		return evs[0]
	}
	return surer(best, evs)
}

// hysteresis is the share of keep's cost a change must save.
const hysteresis = 0.005

// areaAbove is the area between a line from a to b over d and level, where
// the line is above it.
func areaAbove(a, b, d, level float64) float64 {
	switch t := timeAbove(a, b, d, level); {
	case t <= 0:
		return 0
	case a >= level && b >= level:
		return ((a - level) + (b - level)) / 2 * d
	default:
		return (maxF(a, b) - level) * t / 2
	}
}
