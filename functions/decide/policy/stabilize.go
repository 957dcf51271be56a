package policy

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// stepStabilize delays scale-ups until the signal has lasted ScaleUpDelay
// and scale-downs until a vertex has recommended one for ScaleDownWindow;
// a scale-down then goes to the highest recommendation inside the window.
// The window guards against noise; a planned release of a scale-up's
// temporary capacity (State.Release) is not noise and skips it.
//
//	vertex recommends up   → UpSince set; applied once now−UpSince ≥ ScaleUpDelay
//	vertex recommends down → recorded; applied once now−Since ≥ window, to the window's max
//	                         (of the recommendations since the rate's level began, once held)
//	vertex recommends same → its pending scale-down is dropped
//	release due or drop   → a scale-down goes to the current recommendation at once;
//	                        the release is used up either way
func stepStabilize(r *run) *hold {
	var waiting []string
	if r.any(func(vp *vplan) bool { return vp.p > vp.cur }) {
		if r.st.UpSince.IsZero() {
			r.st.UpSince = r.now
		}
		if wait := r.cfg.ScaleUpDelay - r.now.Sub(r.st.UpSince); wait > 0 {
			for i := range r.vs {
				if vp := &r.vs[i]; vp.p > vp.cur {
					waiting = append(waiting, fmt.Sprintf("%s up to %d in %s", vp.name, vp.p, wait.Round(time.Second)))
					vp.p = vp.cur
				}
			}
		}
	} else {
		r.st.UpSince = time.Time{}
	}
	r.released = r.any(func(vp *vplan) bool { return vp.p < vp.cur }) && r.releasing()
	waiting = append(waiting, r.stabilizeDowns(r.released)...)
	if len(waiting) > 0 && !r.any(func(vp *vplan) bool { return vp.p != vp.cur }) {
		return holdf(HoldStabilize, "waiting: "+strings.Join(waiting, "; "))
	}
	return nil
}

func (r *run) stabilizeDowns(release bool) []string {
	var waiting []string
	window := r.cfg.ScaleDownWindow
	sd := make(map[string]ScaleDown, len(r.st.ScaleDowns))
	for i := range r.vs {
		vp := &r.vs[i]
		if vp.p >= vp.cur {
			continue
		}
		e := r.st.ScaleDowns[vp.id]
		if e.Since.IsZero() {
			e.Since = r.now
		}
		recs := make([]Recommendation, 0, len(e.Recs)+1)
		for _, rec := range e.Recs {
			if !rec.At.Before(r.now.Add(-window)) {
				recs = append(recs, rec)
			}
		}
		e.Recs = append(recs, Recommendation{At: r.now, P: vp.p})
		sd[vp.id] = e
		if left := window - r.now.Sub(e.Since); left > 0 && !release {
			waiting = append(waiting, fmt.Sprintf("%s down to %d in %s", vp.name, vp.p, left.Round(time.Second)))
			vp.p = vp.cur
			continue
		}
		highest := vp.p
		for _, rec := range e.Recs {
			if !release && !(r.levelHeld() && rec.At.Before(r.now.Add(-r.level))) {
				highest = max(highest, rec.P)
			}
		}
		if highest != vp.p {
			vp.notes = append(vp.notes, fmt.Sprintf("highest recommendation in %s: %d", window, highest))
		}
		vp.p = min(highest, vp.cur)
	}
	r.st.ScaleDowns = sd
	return waiting
}

// releasing reports that the last rescale's planned release is due
// (State.Release; never while the rate moves: it is sized on the level), or that the rate dropped far beyond its noise (dropped):
// a scale-down goes to the current recommendation at once.
func (r *run) releasing() bool {
	switch r.st.Release {
	case ReleaseBacklog:
		if r.drained() && r.levelHeld() {
			return true
		}
	case ReleaseLevel:
		if r.drained() && r.level >= r.cfg.ScaleDownWindow {
			return true
		}
	}
	return r.dropped()
}

// dropped reports a step down of the offered rate far beyond its noise: the
// current level began in the current run, has held half a rate window (the
// level begins once Flink's averaged rates are within the band of it, so
// they have passed the ramp; at the 10 s interval half a window gives the
// level's own volatility four samples, one more than it needs), and lies more than the
// band plus VolatilityFactor × (the noise before it in the run and its own) below the
// run's mean rate before it (the ramp of Flink's averaged rates, one rate
// window, excluded). Such a drop is a new level, not noise, so its
// scale-down need not wait for the window or for the level to hold a whole
// rate window.
func (r *run) dropped() bool {
	if r.level < r.cfg.RateWindow/2 || r.backlog || r.offered <= 0 {
		return false
	}
	since := r.now.Add(-r.level)
	if !since.After(r.st.Epoch) {
		return false
	}
	var n, sum, sq float64
	for _, s := range r.st.Window {
		if s.Epoch.Equal(r.st.Epoch) && !s.At.Before(s.Epoch.Add(r.cfg.Settle)) && s.At.Before(since.Add(-r.cfg.RateWindow)) {
			n++
			sum += s.Offered
			sq += s.Offered * s.Offered
		}
	}
	u := r.cfg.Utilization
	drop := 1 - r.offered*n/sum
	if n < 3 || drop <= u.Band {
		return false
	}
	// The noise before is the run's own: a level the run began on (a
	// spike a scale-up answered) is not made noisy by the lower rates
	// that came before the restart.
	mean := sum / n
	before := math.Sqrt(math.Max(sq/n-mean*mean, 0)) / mean
	noise := u.VolatilityFactor * (before + volatility(r.st.Window, r.cfg.Settle, since))
	return drop > u.Band+noise
}

// drained reports that the sources' pending records are down to at most
// drainedLag seconds of offered load.
func (r *run) drained() bool { return r.pending <= r.offered*drainedLag }

// drainedLag is the lag (s) at which a backlog counts as drained: a release
// restarts at 100 % utilization, so what is left never drains after it.
const drainedLag = 1

func (r *run) any(f func(*vplan) bool) bool {
	for i := range r.vs {
		if f(&r.vs[i]) {
			return true
		}
	}
	return false
}

// stepRestartCost weighs a rescale against its restart. A scale-up is not
// made while the job keeps up and rides its backlog out with no more time
// above the SLO than the restart would cost (rideOut). A pure scale-down is
// not made when its slot-seconds saved over the scale-down window do not
// exceed what its restart costs: the downtime with the current slots idle
// plus the catch-up work of the new slots, downtime × (slots_now +
// utilization × slots_new). An ordinary scale-down may have to be undone, by
// a scale-up that waits for TaskManagers too, so its downtime is the last
// decision-to-running time; a planned release or a drop (releasing) is not
// expected to be undone, so its downtime is the time the job did not run in
// its last restart (State.Outage).
func stepRestartCost(r *run) *hold {
	if h := r.rideOut(); h != nil {
		return h
	}
	if r.any(func(vp *vplan) bool { return vp.p > vp.cur }) || !r.any(func(vp *vplan) bool { return vp.p < vp.cur }) {
		return nil
	}
	layout := r.layout()
	now, err1 := layout.Needed(r.currents())
	next, err2 := layout.Needed(r.targets())
	if err1 != nil || err2 != nil {
		return nil
	}
	horizon := max(r.cfg.ScaleDownWindow, r.cfg.RateWindow).Seconds()
	saved := float64(now-next) * horizon
	d := r.downtime
	if r.released {
		d = r.outage()
	}
	cost := d.Seconds() * (float64(now) + r.util*float64(next))
	if saved > cost {
		return nil
	}
	for i := range r.vs {
		r.vs[i].p = r.vs[i].cur
	}
	return holdf(HoldRestart, fmt.Sprintf("scale-down %d→%d slots saves %.0f slot-s over %s, less than the restart costs (%.0f slot-s)",
		now, next, math.Max(saved, 0), time.Duration(horizon*float64(time.Second)), cost))
}

// headroom is the job's relative surplus capacity over its steady rates at
// the parallelism pick(vp) gives each vertex: min over vertices with input of
// capacity ÷ steady − 1.
func (r *run) headroom(pick func(*vplan) int) float64 {
	h := math.Inf(1)
	for i := range r.vs {
		vp := &r.vs[i]
		if vp.est.idle || vp.steady <= 0 || vp.est.perSubtask <= 0 {
			continue
		}
		h = math.Min(h, vp.capacity(pick(vp))/vp.steady-1)
	}
	return h
}

// rideOut holds a scale-up when the job keeps up without it and, riding its
// backlog out, spends no longer above the SLO than it would after the
// restart: above = max(lag − SLO, 0) ÷ headroom now, against downtime +
// (lag + downtime + Replay − SLO) ÷ headroom after.
func (r *run) rideOut() *hold {
	if !r.any(func(vp *vplan) bool { return vp.p > vp.cur }) || r.offered <= 0 {
		return nil
	}
	h0 := r.headroom(func(vp *vplan) int { return vp.cur })
	h1 := r.headroom(func(vp *vplan) int { return vp.p })
	if h0 <= 0 || math.IsInf(h0, 1) {
		return nil
	}
	lag, slo, d := r.pending/r.offered, r.cfg.SLO.MaxLag.Seconds(), r.downtime.Seconds()
	now := math.Max(lag-slo, 0) / h0
	after := lag + d + r.cfg.Replay.Seconds()
	later := 0.0
	if after > slo {
		later = d + (after-slo)/math.Max(h1, 1e-9)
	}
	if now > later {
		return nil
	}
	for i := range r.vs {
		r.vs[i].p = r.vs[i].cur
	}
	return holdf(HoldRestart, fmt.Sprintf("riding out a %.0f s lag at %.0f%% headroom: %.0f s above the SLO, against %.0f s after a restart",
		lag, 100*h0, now, later))
}

// outage is the expected time a restart stops the job: the last observed
// (State.Outage), else Config.RestartDowntime.
func (r *run) outage() time.Duration {
	if r.st.Outage > 0 {
		return r.st.Outage
	}
	return r.cfg.RestartDowntime
}
