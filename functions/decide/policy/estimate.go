package policy

import (
	"math"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// minBusy is the busy fraction below which a true rate (in ÷ busy) is not
// trusted to size a vertex.
const minBusy = 0.02

// vplan is one vertex through the steps.
type vplan struct {
	id, name string
	source   bool
	cur      int
	maxPar   int // key groups; the vertex's upper bound
	// units is the number of key groups (keyed) or partitions (sources)
	// spread over subtasks; 0 means records are spread evenly.
	units  int
	parts  int // source partitions, 0 if unknown
	lo, hi int
	est    estimate
	// g is the target input rates ÷ observed input rate.
	g growth
	// target is the input rate to sustain (records/s), with backlog
	// catch-up; steady is without it; up is what a scale-up is sized for
	// (stepPropagate); util is target ÷ capacity at the current
	// parallelism.
	target, steady, up, util float64
	exponent                 float64
	p                        int
	reason                   string
	notes                    []string
	// sizedAt is the utilization stepSize sized a change for (0: none).
	sizedAt float64
}

// estimate is a vertex's rates averaged over the fresh samples.
type estimate struct {
	in, out, busy, bp float64
	busyAvg           float64
	// busyMax is the busiest subtask's busy time as read and noise the
	// busy-time noise taken out of it (busiestBusy; 0: none).
	busyMax, noise float64
	pending        float64 // latest, -1 unknown
	slope          float64 // pending growth over the rate window, records/s
	// slopeLast is the pending growth between the last two samples of the
	// epoch: pendingRecords is instantaneous, so it shows a step at once.
	slopeLast float64
	// perSubtask is the true rate of the busiest subtask at 100 % busy.
	perSubtask float64
	idle       bool
}

// stepEstimate computes every vertex's true rates from the fresh samples.
func stepEstimate(r *run) *hold {
	src := r.snapSources()
	r.vs = make([]vplan, len(r.snap.Vertices))
	flowing := false
	for i, v := range r.snap.Vertices {
		vp := vplan{id: v.ID, name: orDash(v.Name), source: src[i], cur: v.Parallelism, p: v.Parallelism}
		vp.maxPar, vp.parts, vp.units = spread(&v, vp.source)
		// The peers' copies and v1 read a keyed vertex at its busy max as
		// Flink reports it (sigma 0): the busy-time noise taken out is ours.
		vp.est = estimateVertex(r.st.Window, i, vp.units, 0, r.cfg.RateWindow)
		vp.est.perSubtask = vp.est.in * share(vp.units, vp.cur) / math.Max(vp.est.busy, minBusy)
		vp.exponent = r.exponent(vp.id)
		flowing = flowing || (vp.source && (vp.est.in > 0 || vp.est.pending > 0))
		r.vs[i] = vp
	}
	if !flowing {
		return holdf(HoldIdle, "no records flowing into the sources; nothing to size")
	}
	return nil
}

// estimateVertex reads vertex i's rates and busy time from the latest
// sample (Flink already averages them over 60 s) and its pending growth over
// the same span: from the oldest sample of the epoch within span that shows
// pending records (pendingRef).
//
// A vertex whose input is split by units (key groups, partitions: units >
// 0) is read at its busiest subtask, its busy max with the busy-time noise
// sigma taken out (busiestBusy); one spread evenly at its busy average.
func estimateVertex(w []Sample, i int, units int, sigma float64, span time.Duration) estimate {
	last := w[len(w)-1]
	v := last.V[i]
	e := estimate{in: v.In, out: v.Out, bp: v.BP, busy: v.BusyAvg, busyAvg: v.BusyAvg, pending: v.Pending}
	if units > 0 {
		e.busy, e.busyMax = busiestBusy(v.BusyMax, v.BusyAvg, v.P, units, sigma), v.BusyMax
		if e.busy != e.busyMax {
			e.noise = sigma
		}
	}
	if v.Pending >= 0 { // without pending records there is no growth (pendingGrowth reads 0)
		if first, ok := pendingRef(w, last, i, span); ok {
			e.slope = pendingGrowth(first, last, i)
		}
	}
	if n := len(w); n >= 2 && w[n-2].Epoch.Equal(last.Epoch) {
		e.slopeLast = pendingGrowth(w[n-2], last, i)
	}
	e.idle = e.in <= 0
	return e
}

// pendingGrowth is vertex i's pending growth from a to b in records/s; 0
// when either is unknown.
func pendingGrowth(a, b Sample, i int) float64 {
	dt := b.At.Sub(a.At).Seconds()
	if dt <= 0 || a.V[i].Pending < 0 || b.V[i].Pending < 0 {
		return 0
	}
	return (b.V[i].Pending - a.V[i].Pending) / dt
}

func keyed(inputs []events.Input) bool {
	for _, e := range inputs {
		if e.ShipStrategy == "HASH" {
			return true
		}
	}
	return false
}

// share is the fraction of a vertex's input its busiest subtask gets at
// parallelism p: ceil(units/p)/units, or 1/p when spread evenly.
func share(units, p int) float64 {
	if p <= 0 {
		return 1
	}
	if units <= 0 || p > units {
		return 1 / float64(p)
	}
	return float64((units+p-1)/p) / float64(units)
}

func (r *run) exponent(id string) float64 {
	if e, ok := r.st.Efficiency[id]; ok && e.Observations > 0 {
		return e.Exponent
	}
	return r.cfg.Efficiency.Prior
}

// stepLearn compares each vertex's per-subtask true rate after the last
// rescale with the one before it: a = 1 + ln(u1/u0) / ln(p1/p0), averaged
// over at most three rescales.
func stepLearn(r *run) *hold {
	rs := r.st.Rescale
	if rs == nil || rs.Learned || rs.Applied.IsZero() {
		return nil
	}
	eff := make(map[string]Efficiency, len(r.st.Efficiency)+len(r.vs))
	for k, v := range r.st.Efficiency {
		eff[k] = v
	}
	for _, vp := range r.vs {
		b, ok := rs.Before[vp.id]
		if !ok || b.P == vp.cur || b.PerSubtask <= 0 || vp.est.idle || vp.est.busy < 0.3 {
			continue
		}
		a := 1 + math.Log(vp.est.perSubtask/b.PerSubtask)/math.Log(float64(vp.cur)/float64(b.P))
		if math.IsNaN(a) || math.IsInf(a, 0) {
			continue
		}
		a = clampF(a, r.cfg.Efficiency.Min, r.cfg.Efficiency.Max)
		old := eff[vp.id]
		n := min(old.Observations, 2)
		eff[vp.id] = Efficiency{Exponent: (old.Exponent*float64(n) + a) / float64(n+1), Observations: old.Observations + 1}
	}
	c := *rs
	c.Learned = true
	r.st.Rescale = &c
	r.st.Efficiency = eff
	for i := range r.vs {
		r.vs[i].exponent = r.exponent(r.vs[i].id)
	}
	return nil
}

// saturatedBusy is the bottleneck busy fraction from which a job whose
// pending records grow is taken to consume at its capacity.
const saturatedBusy = 0.8

// stepPropagate sets each vertex's target input rates (DS2: target rates
// flow downstream by observed selectivity). A source's offered rate is its
// records in plus the growth of its pending records over the rate window;
// when pending grew over the last interval and the job is saturated, it is
// at least what the job consumes at capacity (records in ÷ the bottleneck's
// busy fraction) plus that growth, as Flink's 60 s rates lag a step while
// pendingRecords does not. Three rates go downstream:
//
//	steady  the offered rate
//	target  offered + (pending beyond Backlog seconds) ÷ CatchUp
//	up      the larger of offered + (backlog after a restart − half the SLO's
//	        lag) ÷ CatchUp, the backlog after a restart being pending + offered
//	        × (downtime + Replay), and offered × (1 + drainSpare) when the
//	        restart will leave the lag above the SLO
//
// A vertex's rates are its observed input rate × its inputs' growth (target
// ÷ observed), so every vertex is sized for the offered rate in one decision,
// including those that are busy or backpressured now.
func stepPropagate(r *run) *hold {
	catchUp := r.cfg.CatchUp.Seconds()
	r.downtime = r.cfg.RestartDowntime
	if r.st.Downtime > 0 {
		r.downtime = r.st.Downtime
	}
	after := (r.downtime + r.cfg.Replay).Seconds()
	keep := r.cfg.SLO.MaxLag.Seconds() / 2
	bottleneck := 0.0
	for i := range r.vs {
		bottleneck = math.Max(bottleneck, r.vs[i].est.busy)
	}
	r.offered, r.pending, r.consumed = 0, 0, 0
	for i := range r.vs {
		vp := &r.vs[i]
		if !vp.source {
			vp.g = r.upstreamGrowth(i)
			vp.target, vp.steady, vp.up = vp.est.in*vp.g.target, vp.est.in*vp.g.steady, vp.est.in*vp.g.up
			continue
		}
		offered := math.Max(vp.est.in+vp.est.slope, 0)
		if vp.est.slopeLast > 0 && bottleneck >= saturatedBusy {
			offered = math.Max(offered, vp.est.in/bottleneck+vp.est.slopeLast)
		}
		pending := math.Max(vp.est.pending, 0)
		// Lag up to Backlog seconds stands; only the excess is caught up.
		excess := math.Max(pending-offered*r.cfg.Backlog.Seconds(), 0)
		vp.steady = offered
		vp.target = offered + excess/catchUp
		vp.up = offered + math.Max(pending+offered*(after-keep), 0)/catchUp
		if spare := r.drainSpare(pending, offered, vp.est.in); spare > 0 {
			vp.up = math.Max(vp.up, offered*(1+spare))
		}
		r.offered += offered
		r.pending += pending
		r.consumed += vp.est.in
		vp.g = growth{1, 1, 1}
		if vp.est.in > 0 {
			vp.g = growth{target: vp.target / vp.est.in, steady: offered / vp.est.in, up: vp.up / vp.est.in}
		}
	}
	r.backlog = r.offered > 0 && r.pending/r.offered > r.cfg.Backlog.Seconds()
	r.restartLags = r.offered > 0 && r.drainSpare(r.pending, r.offered, r.consumed) > 0
	for i := range r.vs {
		vp := &r.vs[i]
		vp.util = vp.g.target * vp.est.busy
		if vp.est.idle {
			vp.util = 0
		}
	}
	return nil
}

// drainSpare is the spare capacity, as a fraction of the offered rate, that
// keeps a restart's SLO violation within drainBudget × the SLO, 0 when the
// restart leaves the lag within the SLO. When the job runs again its lag is
// L = pending ÷ offered + outage + replay + the wait before the restart
// (TaskManagers starting, the checkpoint) × the part of the offered rate the
// job does not read meanwhile (1 − in ÷ offered). It is above the SLO for
// (L − SLO) and then drains at spare seconds per second: the violation
// (L − SLO)·(1 + 1/spare) ≤ B gives spare ≥ (L − SLO) ÷ (B − (L − SLO)),
// the denominator kept at least B/2 (a restart that cannot meet the budget
// gets twice its excess, not an unbounded size), the result at most
// maxDrainSpare: a larger backlog is worked off within CatchUp as before.
func (r *run) drainSpare(pending, offered, in float64) float64 {
	slo := r.cfg.SLO.MaxLag.Seconds()
	if offered <= 0 || slo <= 0 {
		return 0
	}
	outage := r.downtime
	if o := r.st.Outage; o > 0 && o < outage {
		outage = o
	}
	behind := math.Max(1-in/offered, 0)
	over := pending/offered + outage.Seconds() + r.replay().Seconds() + (r.downtime-outage).Seconds()*behind - slo
	if over <= 0 {
		return 0
	}
	b := drainBudget * slo
	return math.Min(over/math.Max(b-over, b/2), maxDrainSpare)
}

// maxDrainSpare bounds drainSpare: a scale-up sized for a drain carries at
// most three times the offered rate.
const maxDrainSpare = 2.0

// drainBudget is the SLO violation a scale-up's restart may cost, in SLOs.
const drainBudget = 2.0

// replay is the input a restart replays: actuate aligns restarts with
// checkpoints, so for a job that reports its checkpoint interval about a
// tenth of it (events.FreshCheckpoint); Replay otherwise, and at most.
func (r *run) replay() time.Duration {
	if ms := r.snap.CheckpointIntervalMs; ms > 0 {
		return min(events.FreshCheckpoint(time.Duration(ms)*time.Millisecond), r.cfg.Replay)
	}
	return r.cfg.Replay
}

// growth is a vertex's target input rates as multiples of its observed one.
type growth struct{ target, steady, up float64 }

// upstreamGrowth averages the inputs' growth factors weighted by their output
// rates, or evenly when none flows.
func (r *run) upstreamGrowth(i int) growth {
	ins := r.snap.Vertices[i].Inputs
	var wsum float64
	for _, e := range ins {
		wsum += r.vs[r.idx[e.ID]].est.out
	}
	var g growth
	for _, e := range ins {
		u := r.vs[r.idx[e.ID]]
		w := 1 / float64(len(ins))
		if wsum > 0 {
			w = u.est.out / wsum
		}
		g.target += w * u.g.target
		g.steady += w * u.g.steady
		g.up += w * u.g.up
	}
	return g
}

func clampF(v, lo, hi float64) float64 { return maxF(lo, minF(hi, v)) }
