package policy

import (
	"fmt"
	"math"
	"strconv"
	"strings"
	"time"
)

// stepSize picks the utilization target from the load's volatility and
// recommends, per vertex, the fewest subtasks that carry its rates under the
// vertex's learned efficiency.
//
// Up: only when a vertex cannot keep up (utilization, with the backlog's
// catch-up, above 100 %): every rescale restarts the job, which then finds
// downtime + Replay seconds of input pending, so an early scale-up for
// headroom costs more lag than it saves. It is sized for the target rate
// (with catch-up) × (1 + downtime/CatchUp) at the utilization target and,
// when the job lags more than the SLO now or will once the restart is over,
// for the up rate (stepPropagate: the backlog the restart leaves drained so
// that the time above the SLO stays within drainBudget SLOs) at 100 %.
// Once any vertex goes up, coScale adds every other vertex that the same
// restart would leave short.
//
// The utilization target falls with the offered rate's volatility over the
// metric window; once the rate has held within the band of its current
// value for a scale-down window (a new level after a step), only that
// level's samples count, so a step is not taken for noise and a job that
// stepped down runs close to its capacity rather than at Utilization.Min.
// Scale-downs use the level's volatility as soon as it has held a rate
// window (levelHeld), as stabilization still guards them, and a drop far
// beyond the noise (dropped) uses it once the drop counts, after half a
// rate window: the whole window would count the step as noise. A scale-up on a
// level younger than two rate windows (the step itself) uses the volatility before the
// level began and before the rate window that ramped to it (Flink's averaged
// rates pass through intermediate values: they are the step, not noise), as
// its planned release (State.Release) corrects it later.
//
// Down: when utilization falls below target − band and no backlog is being
// worked off, to the steady rate at the utilization target, but never to a
// parallelism a scale-up left (State.Floors) while the rate is within the
// band of the one it could not carry there: that stops a job from
// oscillating between a size that cannot drain its restart's backlog and
// one that can.
func stepSize(r *run) *hold {
	u := r.cfg.Utilization
	r.level = r.levelAge()
	levelCV := 0.0
	if r.levelHeld() {
		levelCV = volatility(r.st.Window, r.cfg.Settle, r.now.Add(-r.level))
	}
	r.cv = levelCV
	if r.level < r.cfg.ScaleDownWindow {
		r.cv = volatility(r.st.Window, r.cfg.Settle, time.Time{})
	}
	r.util = r.utilTarget(r.cv)
	r.upCV, r.downCV = r.cv, r.cv
	if r.level < 2*r.cfg.RateWindow {
		r.upCV = volatilityBefore(r.st.Window, r.cfg.Settle, r.now.Add(-r.level-r.cfg.RateWindow))
	}
	switch {
	case r.levelHeld():
		r.downCV = levelCV
	case r.dropped():
		r.downCV = volatility(r.st.Window, r.cfg.Settle, r.now.Add(-r.level))
	}
	upUtil, downUtil := r.utilTarget(r.upCV), r.utilTarget(r.downCV)
	// A vertex at 100 % keeps up exactly; only growth of pending (util > 1)
	// shows it cannot, unless a source has no pending figure to show it.
	// Scaling up earlier buys headroom with a restart's lag.
	hi := 1 + sizeTolerance
	if !r.allPending() {
		hi = 1 - sizeTolerance
	}
	lo := downUtil - u.Band
	lagging := r.lagging() || r.restartLags
	restart := 1 + r.downtime.Seconds()/r.cfg.CatchUp.Seconds()
	for i := range r.vs {
		vp := &r.vs[i]
		vp.lo, vp.hi = r.bounds(vp)
		switch {
		case vp.est.idle:
			vp.reason = fmt.Sprintf("%s: no input; kept at %d", vp.name, vp.cur)
			continue
		case vp.util >= hi:
			p := r.size(vp, vp.target*restart, upUtil)
			vp.sizedAt = upUtil
			if lagging {
				if q := r.size(vp, vp.up, 1); q > p {
					p, vp.sizedAt = q, 1
				}
			}
			vp.p = max(p, vp.cur)
		case vp.util < lo && !r.backlog:
			p := r.size(vp, vp.steady, downUtil)
			if f, ok := r.st.Floors[vp.id]; ok && p <= f.P && vp.steady >= f.Rate*(1-u.Band) {
				vp.notes = append(vp.notes, fmt.Sprintf("%d could not carry %s rec/s", f.P, si(f.Rate)))
				p = above(vp.units, f.P)
			}
			vp.p = min(p, vp.cur)
			vp.sizedAt = downUtil
		}
	}
	r.coScale(upUtil, lagging, restart)
	return nil
}

// coScale sizes up, alongside a scale-up, every vertex running above the
// utilization target and, when the restart will leave the job lagging, every
// vertex that cannot carry the up rate (a source included: the backlog drains
// no faster than the sources read it). The restart is paid anyway, and a
// vertex left at its capacity cannot work off the backlog the restart leaves,
// so it would ask for a second restart right after the first.
func (r *run) coScale(upUtil float64, lagging bool, restart float64) {
	if !r.any(func(vp *vplan) bool { return vp.p > vp.cur }) {
		return
	}
	for i := range r.vs {
		vp := &r.vs[i]
		if vp.est.idle || vp.p != vp.cur {
			continue
		}
		p, at := vp.cur, 0.0
		if vp.util >= upUtil {
			p, at = r.size(vp, vp.target*restart, upUtil), upUtil
		}
		if lagging {
			if q := r.size(vp, vp.up, 1); q > p {
				p, at = q, 1
			}
		}
		if p > vp.cur {
			vp.p, vp.sizedAt = p, at
			vp.notes = append(vp.notes, fmt.Sprintf("co-scaled in the same restart (%.0f%% busy)", 100*vp.util))
		}
	}
}

// utilTarget is the utilization target for a load volatility cv.
func (r *run) utilTarget(cv float64) float64 {
	u := r.cfg.Utilization
	return clampF(u.Max/(1+u.VolatilityFactor*cv), u.Min, u.Max)
}

// above is the smallest parallelism above p whose busiest subtask gets
// fewer key groups (partitions) than at p, so alignment keeps it above p:
// above(120, 20) = 24 (6 → 5 key groups), above(0, 20) = 21.
func above(units, p int) int {
	q := p + 1
	for units > 0 && q < units && share(units, q) >= share(units, p) {
		q++
	}
	return q
}

// lagging reports a lag above the SLO.
func (r *run) lagging() bool {
	return r.offered > 0 && r.pending/r.offered > r.cfg.SLO.MaxLag.Seconds()
}

func (r *run) allPending() bool {
	for _, vp := range r.vs {
		if vp.source && vp.est.pending < 0 {
			return false
		}
	}
	return true
}

// sizeTolerance is the relative shortfall in capacity that sizing ignores:
// metrics are not more precise than that, and a subtask more for 0.2 % would
// waste a slot.
const sizeTolerance = 0.002

// capacity is vp's input rate capacity at parallelism p (records/s at 100 %
// busy): capacity(p) = u0·(p/p0)^(a−1) ÷ share(p).
func (vp *vplan) capacity(p int) float64 {
	return vp.est.perSubtask * math.Pow(float64(p)/float64(vp.cur), vp.exponent-1) / share(vp.units, p)
}

// size returns the smallest parallelism in [1, vp.hi] whose capacity at the
// utilization util carries rate: capacity(p) = u0·(p/p0)^(a−1) ÷ share(p).
func (r *run) size(vp *vplan, rate, util float64) int {
	need := rate / util
	capAt := func(p int) float64 {
		return vp.est.perSubtask * math.Pow(float64(p)/float64(vp.cur), vp.exponent-1) / share(vp.units, p)
	}
	upper := max(vp.hi, vp.cur)
	guess := float64(vp.cur) * math.Pow(need/capAt(vp.cur), 1/vp.exponent)
	p := int(clampF(math.Ceil(guess), 1, float64(upper)))
	for p > 1 && capAt(p-1) >= need*(1-sizeTolerance) {
		p--
	}
	for p < upper && capAt(p) < need*(1-sizeTolerance) {
		p++
	}
	return p
}

// explain is a vertex's reason; emit calls it, as formatting is the costliest
// part of a decision and holds need none.
func (r *run) explain(vp *vplan) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: busy %.0f%% at %s rec/s", vp.name, 100*vp.est.busy, si(vp.est.in))
	if vp.source && vp.est.pending >= 0 {
		fmt.Fprintf(&b, ", %s pending (%+s/s)", si(vp.est.pending), si(vp.est.slope))
	}
	fmt.Fprintf(&b, "; true rate %s per subtask at efficiency p^%.2f", si(vp.est.perSubtask), vp.exponent)
	util := r.util
	if vp.sizedAt > 0 {
		util = vp.sizedAt
	}
	fmt.Fprintf(&b, "; needs %s rec/s", si(vp.target))
	if vp.sizedAt == 1 && vp.p > vp.cur && vp.up > vp.target {
		fmt.Fprintf(&b, ", %s to work off the backlog its restart leaves", si(vp.up))
	}
	fmt.Fprintf(&b, " → %d subtasks for %.0f%% utilization", vp.p, 100*util)
	if vp.p == vp.cur {
		fmt.Fprintf(&b, " (now %.0f%%, within band)", 100*vp.util)
	}
	return b.String()
}

// volatility is the coefficient of variation of the offered rate over the
// window's settled samples taken at or after since; 0 with fewer than three.
func volatility(w []Sample, settle time.Duration, since time.Time) float64 {
	var n, sum, sq float64
	for _, s := range w {
		if s.At.Sub(s.Epoch) < settle || s.At.Before(since) {
			continue
		}
		n++
		sum += s.Offered
		sq += s.Offered * s.Offered
	}
	if n < 3 || sum <= 0 {
		return 0
	}
	mean := sum / n
	return math.Sqrt(math.Max(sq/n-mean*mean, 0)) / mean
}

// volatilityBefore is volatility over the samples taken before until: the
// noise of the load before a level change began.
func volatilityBefore(w []Sample, settle time.Duration, until time.Time) float64 {
	k := len(w)
	for k > 0 && !w[k-1].At.Before(until) {
		k--
	}
	return volatility(w[:k], settle, time.Time{})
}

// si formats a rate with a k/M/G suffix.
func si(v float64) string {
	a := math.Abs(v)
	var buf [24]byte
	switch {
	case a >= 1e9:
		return string(append(strconv.AppendFloat(buf[:0], v/1e9, 'f', 1, 64), 'G'))
	case a >= 1e6:
		return string(append(strconv.AppendFloat(buf[:0], v/1e6, 'f', 1, 64), 'M'))
	case a >= 1e3:
		return string(append(strconv.AppendFloat(buf[:0], v/1e3, 'f', 1, 64), 'k'))
	default:
		return strconv.FormatFloat(v, 'f', 0, 64)
	}
}

// levelHeld reports that the offered rate has held its current level for a
// rate window: the level begins once the rate is within the band of it, so
// by then Flink's averaged rates show the level alone, so a scale-down to it is sized with its own volatility and ignores
// recommendations made before it.
func (r *run) levelHeld() bool { return r.level >= r.cfg.RateWindow }

// levelAge is how long the offered rate has stayed within the utilization
// band of the current one (r.offered), looking back over the window: the
// time of the oldest sample of the unbroken run of samples within the band
// that ends at the newest one.
func (r *run) levelAge() time.Duration {
	w := r.st.Window
	if len(w) == 0 || r.offered <= 0 {
		return 0
	}
	since := r.now
	for k := len(w) - 1; k >= 0 && math.Abs(w[k].Offered/r.offered-1) <= r.cfg.Utilization.Band; k-- {
		since = w[k].At
	}
	return r.now.Sub(since)
}
