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
//	vertex recommends same → its pending scale-down is dropped
//	release due           → a scale-down goes to the current recommendation at once
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
	waiting = append(waiting, r.stabilizeDowns()...)
	if len(waiting) > 0 && !r.any(func(vp *vplan) bool { return vp.p != vp.cur }) {
		return holdf(HoldStabilize, "waiting: "+strings.Join(waiting, "; "))
	}
	return nil
}

func (r *run) stabilizeDowns() []string {
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
		if left := window - r.now.Sub(e.Since); left > 0 && !r.releasing() {
			waiting = append(waiting, fmt.Sprintf("%s down to %d in %s", vp.name, vp.p, left.Round(time.Second)))
			vp.p = vp.cur
			continue
		}
		highest := vp.p
		for _, rec := range e.Recs {
			if !r.releasing() {
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
// (State.Release): its scale-down goes to the current recommendation at once.
func (r *run) releasing() bool {
	switch r.st.Release {
	case ReleaseBacklog:
		return r.drained()
	case ReleaseLevel:
		return r.drained() && r.level >= r.cfg.ScaleDownWindow
	}
	return false
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

// stepRestartCost drops a pure scale-down whose slot-seconds saved over the
// scale-down window do not exceed what its restart costs: the downtime with
// the current slots idle plus the catch-up work of the new slots,
// downtime × (slots_now + utilization × slots_new). Scale-ups always pay.
func stepRestartCost(r *run) *hold {
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
	cost := r.downtime.Seconds() * (float64(now) + r.util*float64(next))
	if saved > cost {
		return nil
	}
	for i := range r.vs {
		r.vs[i].p = r.vs[i].cur
	}
	return holdf(HoldRestart, fmt.Sprintf("scale-down %d→%d slots saves %.0f slot-s over %s, less than the restart costs (%.0f slot-s)",
		now, next, math.Max(saved, 0), time.Duration(horizon*float64(time.Second)), cost))
}
