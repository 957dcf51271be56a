package policy

import (
	"fmt"
	"math"
	"strings"
	"time"
)

// FlinkOperator is the Flink Kubernetes operator's autoscaler algorithm
// (reference §2.6–§2.11) with its defaults: after each (re)start a
// stabilization interval plus a full metric window; per vertex TPR = input
// rate ÷ average MAX busy; target capacity = catch-up + TDR·restart/catchUp +
// TDR/target; thresholds from the utilization bounds; every changed vertex
// rescaled together once one is outside its bounds; scale-down factor ≥ 0.4,
// delayed by the scale-down interval to the window maximum (riding along
// with any required change before that), never during backlog; key-group
// (partition) alignment as every release up to 1.15 does by default
// (divisors only, falling back downward, blocked when it would invert the
// direction), or as Flink's main branch does (Alignment).
// A source without busy time (a legacy source) keeps its parallelism and
// holds nothing; a missing pendingRecords is a lag of 0. While a rescale
// has not shown yet the operator keeps deciding, and decides again when
// its targets change (it has no in-flight wait and no cooldown).
// Observed-scalability, memory tuning and effectiveness detection are off,
// as by default. Where it follows flink-autoscaler 1.10.0 (the release
// `flinkscaler compare` runs) and where it cannot: docs/BENCHMARK.md "Our
// flink-operator baseline".
type FlinkOperator struct {
	Target, Boundary        float64
	Stabilization, Window   time.Duration
	CatchUp, Restart        time.Duration
	BacklogLag              time.Duration
	ScaleDownInterval       time.Duration
	ScaleDownMaxFactor      float64
	ScaleUpMaxFactor        float64
	VertexMin, VertexMax    int
	ObservedLag             time.Duration // observed-true-processing-rate.lag-threshold
	ObservedSwitch          float64
	ObservedMinObservations int
	// Alignment is the key-group alignment (§2.10): AlignEvenlySpread
	// (the released default), AlignMaximizeUtilisation, AlignBalanced
	// (main's default) or AlignOff.
	Alignment string
}

// Key-group alignments of the operator's autoscaler (§2.10).
const (
	// AlignEvenlySpread is the default of every release up to 1.15
	// (scaling.key-group.partitions.adjust.mode EVENLY_SPREAD): scan
	// upward for a divisor of the key groups (partitions), else fall back
	// downward, and keep the current parallelism when that would invert
	// the direction.
	AlignEvenlySpread = "evenly-spread"
	// AlignMaximizeUtilisation is the releases' MAXIMIZE_UTILISATION: as
	// AlignEvenlySpread, also accepting any parallelism that lowers the
	// per-subtask share.
	AlignMaximizeUtilisation = "maximize-utilisation"
	// AlignBalanced is main's default (parallelism-alignment.mode
	// BALANCED): the upward scan of AlignMaximizeUtilisation only, keeping
	// the computed target when it finds nothing.
	AlignBalanced = "balanced"
	// AlignOff keeps the computed target.
	AlignOff = "off"
)

// NewFlinkOperator returns the operator's defaults (reference §2.16).
func NewFlinkOperator() FlinkOperator {
	return FlinkOperator{
		Target: 0.7, Boundary: 0.3, Stabilization: 5 * time.Minute, Window: 15 * time.Minute,
		CatchUp: 30 * time.Minute, Restart: 5 * time.Minute, BacklogLag: 5 * time.Minute,
		ScaleDownInterval: time.Hour, ScaleDownMaxFactor: 0.6, ScaleUpMaxFactor: 100000,
		VertexMin: 1, VertexMax: 200, ObservedLag: 30 * time.Second, ObservedSwitch: 0.15, ObservedMinObservations: 2,
		Alignment: AlignEvenlySpread,
	}
}

// Name implements Policy.
func (FlinkOperator) Name() string { return "flink-operator" }

// Decide implements Policy.
func (f FlinkOperator) Decide(in Input) Output {
	cfg := in.Config
	cfg.MetricWindow = max(cfg.MetricWindow, f.Stabilization+f.Window+time.Minute)
	cfg.MaxSamples = max(cfg.MaxSamples, 1000)
	cfg.ScaleDownWindow = f.ScaleDownInterval
	// outside: the vertices whose change is outside their utilization
	// bounds (evaluate), which delayDowns requires of a required change.
	outside := map[string]bool{}
	evaluate := func(r *run) *hold { return f.evaluate(r, outside) }
	delayDowns := func(r *run) *hold { return f.delayDowns(r, outside) }
	// A source whose busy time or pending records are missing (a legacy
	// source's NaN busy time, a connector without pendingRecords) holds
	// nothing: the operator sizes the other vertices without it. The
	// job-level rule (delayDowns) judges each vertex's own
	// recommendation; reactive mode's one parallelism for all and the
	// TaskManager cap shape the targets after it.
	gates := []gate{gateOrder, gateValidate, gateTopology, gateEpoch, gateRecord, f.inFlight, gatePaused, f.gate}
	return decideWith(in, f.Name(), cfg, true, gates,
		[]step{stepEstimate, evaluate, delayDowns, stepReactive, stepTMCap, f.again, stepEmitPlain})
}

// inFlight follows the operator's own loop, which has no in-flight wait
// and no cooldown: its realizer declares the new requirements and
// returns, and while the job runs on at its old parallelism (waiting for
// TaskManagers, or for Flink's own rescale cooldown) the autoscaler keeps
// evaluating the same metric window every loop and declares again when
// its targets change. So a rescale not yet shown holds nothing here (again
// keeps the same targets from being decided twice); a restart that does
// not show it ends it (the window starts afresh, and the next decision
// declares the targets again), as does RescaleTimeout.
func (f FlinkOperator) inFlight(g gateInput, st State) (State, *hold) {
	st, h := gateInFlight(g, st)
	if h != nil && st.Epoch.After(st.Rescale.At) {
		st.Rescale = nil
	}
	return st, nil
}

// again holds a decision whose targets are those of the rescale still in
// flight: the operator's realizer finds the requirements already declared
// and changes nothing; its executor clears the delayed scale-downs all
// the same, as after any rescale.
func (f FlinkOperator) again(r *run) *hold {
	rs := r.st.Rescale
	if rs == nil || !rs.Applied.IsZero() {
		return nil
	}
	for _, vp := range r.vs {
		if t, ok := rs.Targets[vp.id]; !ok || t != vp.p {
			return nil
		}
	}
	r.st.ScaleDowns = nil
	return holdf(HoldInFlight, fmt.Sprintf("the targets of decision %s (%s ago), not yet shown, are still the operator's",
		rs.DecisionID, r.now.Sub(rs.At).Round(time.Second)))
}

// window returns the samples after stabilization within the metric window,
// or nil until the window is full.
func (f FlinkOperator) window(st State, now time.Time) []Sample {
	stable := st.Epoch.Add(f.Stabilization)
	var w []Sample
	for _, s := range st.Window {
		if s.Epoch.Equal(st.Epoch) && !s.At.Before(stable) && !s.At.Before(now.Add(-f.Window)) {
			w = append(w, s)
		}
	}
	return w
}

// gate holds until the run has been stable for Stabilization and the
// metric window after it is full.
func (f FlinkOperator) gate(g gateInput, st State) (State, *hold) {
	stable := st.Epoch.Add(f.Stabilization)
	var first time.Time
	for _, s := range st.Window {
		if s.Epoch.Equal(st.Epoch) && !s.At.Before(stable) {
			first = s.At
			break
		}
	}
	if first.IsZero() || g.now.Before(first.Add(f.Window)) || len(f.window(st, g.now)) < 2 {
		return st, holdf(HoldSettling, fmt.Sprintf("stabilizing (%s) and filling the metric window (%s)", f.Stabilization, f.Window))
	}
	return st, nil
}

// opVertex is one vertex's window aggregates.
type opVertex struct {
	load, in, lagFirst, lagLast, out float64
	observed                         float64 // observed TPR, NaN if unknown
	tdr, catchUp                     float64
}

func (f FlinkOperator) aggregate(w []Sample, i int) opVertex {
	var a opVertex
	n := float64(len(w))
	var obs []float64
	busy := 0
	for _, s := range w {
		v := s.V[i]
		if v.BusyMax >= 0 {
			a.load += v.BusyMax
			busy++
		}
		a.in += v.In / n
		a.out += v.Out / n
		if v.In > 0 && v.Pending >= f.ObservedLag.Seconds()*v.In && v.BP < 1 {
			obs = append(obs, v.In/(1-v.BP))
		}
	}
	a.load /= float64(busy) // NaN when no sample knows the busy time
	// A missing pendingRecords is a lag of 0 to the operator, also
	// between samples that have one: a source whose pendingRecords shows
	// up within the window reads as a backlog growing from nothing.
	a.lagFirst, a.lagLast = max(w[0].V[i].Pending, 0), max(w[len(w)-1].V[i].Pending, 0)
	a.observed = math.NaN()
	if len(obs) >= f.ObservedMinObservations {
		a.observed = mean(obs)
	}
	return a
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

// evaluate computes TDR, TPR and the new parallelism of every vertex in
// topological order (§2.7, §2.8) and notes which are outside their
// utilization bounds; delayDowns applies the job-level rule (§2.9) after
// its bookkeeping, which the operator does for every vertex, within its
// bounds or not.
func (f FlinkOperator) evaluate(r *run, outsideBounds map[string]bool) *hold {
	w := f.window(r.st, r.now)
	span := w[len(w)-1].At.Sub(w[0].At).Seconds()
	agg := make([]opVertex, len(r.vs))
	backlog := false
	for i := range r.vs {
		agg[i] = f.aggregate(w, i)
		a := &agg[i]
		if r.vs[i].source {
			a.tdr = a.in
			if span > 0 {
				a.tdr = math.Max(0, a.in+(a.lagLast-a.lagFirst)/span)
			}
			a.catchUp = a.lagLast / f.CatchUp.Seconds()
			backlog = backlog || (a.in > 0 && a.lagLast/a.in > f.BacklogLag.Seconds())
			continue
		}
		ins := r.snap.Vertices[i].Inputs
		for _, e := range ins {
			u := agg[r.idx[e.ID]]
			edge := u.out
			if len(ins) == 1 {
				edge = a.in
			}
			if ratio := edge / u.in; u.in > 0 && edge > 0 {
				a.tdr += u.tdr * ratio
				a.catchUp += u.catchUp * ratio
			}
		}
	}
	for i := range r.vs {
		o := f.vertex(r, &r.vs[i], agg[i], backlog)
		outsideBounds[r.vs[i].id] = o
	}
	return nil
}

// capacity is the processing rate the vertex needs at utilization u,
// rounded to whole records/s as the operator rounds it.
func (f FlinkOperator) capacity(a opVertex, u float64, withRestart bool) float64 {
	return math.Round(f.exactCapacity(a, u, withRestart))
}

// exactCapacity is capacity before rounding.
func (f FlinkOperator) exactCapacity(a opVertex, u float64, withRestart bool) float64 {
	if u <= 0 {
		return math.Inf(1)
	}
	restart := 0.0
	if withRestart && f.CatchUp > 0 {
		restart = a.tdr * f.Restart.Seconds() / f.CatchUp.Seconds()
	}
	return a.catchUp + restart + a.tdr/math.Min(u, 1)
}

// vertex sizes one vertex and reports whether it is outside its bounds.
func (f FlinkOperator) vertex(r *run, vp *vplan, a opVertex, backlog bool) bool {
	tpr := math.Inf(1)
	switch {
	case math.IsNaN(a.load):
		tpr = math.NaN()
	case a.in > 0 && a.load > 0:
		tpr = a.in / a.load
	}
	if vp.source && !math.IsNaN(a.observed) && (math.IsNaN(tpr) || math.IsInf(tpr, 1) || tpr > a.observed*(1+f.ObservedSwitch)) {
		tpr = a.observed
	}
	upper, lower := math.Min(f.Target+f.Boundary, 1), math.Max(f.Target-f.Boundary, 0)
	if backlog {
		upper, lower = 1, 0
	}
	switch {
	case math.IsNaN(tpr):
		vp.reason = fmt.Sprintf("%s: no busy time; kept at %d", vp.name, vp.cur)
		return false
	case math.IsInf(tpr, 1):
		vp.reason = fmt.Sprintf("%s: no input; kept at %d", vp.name, vp.cur)
		return false
	}
	// Below the scale-up threshold: the operator compares its TPR with
	// the rounded threshold. A vertex busy all the window with no lag
	// growing upstream processes exactly its target data rate (TPR =
	// TDR); the operator's rates, from counters, carry a fraction that
	// puts TPR below the rounded threshold about every other evaluation,
	// so it rescales within a loop or two. Per-second meters give whole
	// rates there, so TPR within half a record/s of the exact threshold
	// counts as below it.
	outside := tpr < f.exactCapacity(a, upper, false)+0.5 || tpr > f.capacity(a, lower, true)
	factor := f.capacity(a, f.Target, true) / tpr
	factor = clampF(factor, 1-f.ScaleDownMaxFactor, 1+f.ScaleUpMaxFactor)
	raw := int(math.Min(math.Ceil(factor*float64(vp.cur)), maxParallelism))
	lo, hi := min(vp.cur, f.VertexMin), max(vp.cur, f.VertexMax)
	vp.lo, vp.hi = r.bounds(vp)
	hi = min(hi, vp.maxPar, vp.hi)
	lo = max(lo, min(vp.lo, vp.cur))
	vp.p = min(max(raw, lo), hi)
	if vp.p != vp.cur {
		vp.p = f.align(vp, lo, hi)
	}
	vp.reason = fmt.Sprintf("%s: TPR %s, TDR %s, load %.0f%% → %d", vp.name, si(tpr), si(a.tdr), 100*a.load, vp.p)
	return outside && vp.p != vp.cur
}

// align aligns vp.p to the key groups (partitions) behind the vertex
// (§2.10), within [lower, upper]: scan upward (up to the current
// parallelism for a scale-down) for a divisor, or with
// AlignMaximizeUtilisation and AlignBalanced for any p lowering the
// per-subtask share. When none is found, AlignBalanced keeps the target;
// the releases' modes walk down from it to the least p with a larger
// share, round up to a divisor, and keep the current parallelism if that
// inverts the direction.
func (f FlinkOperator) align(vp *vplan, lower, upper int) int {
	n, target := vp.units, vp.p
	if n <= 0 || f.Alignment == AlignOff {
		return target
	}
	loadReducing := f.Alignment == AlignMaximizeUtilisation || f.Alignment == AlignBalanced
	alignCap := min(n, vp.maxPar, upper)
	end := alignCap
	if target < vp.cur {
		end = min(vp.cur, alignCap)
	}
	for p := target; p <= end; p++ {
		if n%p == 0 || loadReducing && n/p < n/target {
			return p
		}
	}
	if f.Alignment == AlignBalanced {
		return target
	}
	p := target
	for p > 1 && n/p <= n/target {
		p--
	}
	if n%p != 0 {
		p++
	}
	p = max(p, lower)
	if target > vp.cur && p <= vp.cur || target < vp.cur && p >= vp.cur {
		return vp.cur
	}
	return p
}

// delayDowns is the operator's delayed scale-down (§2.11): a vertex's
// scale-down is required only once its first recommendation is a
// scale-down interval old, and goes to the highest recommendation within
// the interval; before that it is optional. Optional scale-downs ride
// along with a required change (as the releases' ParallelismChange
// does); nothing changes unless a vertex with a required change (a
// scale-up, or a scale-down past its interval) is outside its utilization
// bounds: optional changes outside them do not count (a spikes-dedicated
// recording: sources far below their bounds, a scale-up inside them, and
// the original made no rescale in 50 minutes). A scale-up, or no change,
// clears the vertex's recommendations; a rescale clears them all (emit).
func (f FlinkOperator) delayDowns(r *run, outside map[string]bool) *hold {
	downs := make(map[string]ScaleDown, len(r.st.ScaleDowns))
	required, within := false, false
	var waiting []string
	for i := range r.vs {
		vp := &r.vs[i]
		if vp.p >= vp.cur {
			if vp.p > vp.cur {
				required = required || outside[vp.id]
				within = within || !outside[vp.id]
			}
			continue
		}
		e := r.st.ScaleDowns[vp.id]
		if e.Since.IsZero() {
			e.Since = r.now
		}
		recs := []Recommendation{}
		for _, rec := range e.Recs {
			if !rec.At.Before(r.now.Add(-f.ScaleDownInterval)) {
				recs = append(recs, rec)
			}
		}
		e.Recs = append(recs, Recommendation{At: r.now, P: vp.p})
		downs[vp.id] = e
		highest := vp.p
		for _, rec := range e.Recs {
			highest = max(highest, rec.P)
		}
		if highest != vp.p {
			vp.notes = append(vp.notes, fmt.Sprintf("highest recommendation in %s: %d", f.ScaleDownInterval, highest))
		}
		vp.p = min(highest, vp.cur)
		if left := f.ScaleDownInterval - r.now.Sub(e.Since); left > 0 {
			waiting = append(waiting, fmt.Sprintf("%s down to %d in %s", vp.name, vp.p, left.Round(time.Second)))
			continue
		}
		if vp.p < vp.cur {
			required = required || outside[vp.id]
			within = within || !outside[vp.id]
		}
	}
	r.st.ScaleDowns = downs
	if !required {
		for i := range r.vs {
			r.vs[i].p = r.vs[i].cur
		}
		switch {
		case within:
			return holdf(HoldNoChange, "every required change is within its utilization bounds")
		case len(waiting) > 0:
			return holdf(HoldStabilize, "waiting: "+strings.Join(waiting, "; "))
		}
		return holdf(HoldNoChange, "no vertex changes")
	}
	return nil
}
