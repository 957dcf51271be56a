package policy

import (
	"maps"
	"math"
	"slices"
	"time"
)

// scaling is one vertex's capacity model: capacity(p) = rate × (p/cur)^(a−1)
// ÷ share(p), with a known to ±sd; no scale-up above ineffective (when set).
type scaling struct {
	a, sd       float64
	fitted      int // distinct parallelisms the fit used
	ineffective int
}

// Efficiency fitting constants.
const (
	// priorSD is the uncertainty of Efficiency.Prior.
	priorSD = 0.1
	// rateNoise is the relative error of one measured true rate.
	rateNoise = 0.05
	// ineffectiveGain: a scale-up that added less than this share of the
	// capacity linear scaling would have added was ineffective.
	ineffectiveGain = 0.1
)

// capacity is v's capacity (records/s of its input) at parallelism p with
// exponent a.
func capacityAt(v *vertexView, p int, a float64) float64 {
	if a == 1 {
		return v.measuredAt(p, rateAt(v, p)/share(v.units, p))
	}
	return scaledCapacity(v, p, capacityFactor(p, v.cur, a))
}

// capacityFactor is (p/cur)^(a−1): how a subtask's rate at p compares with
// its rate at cur.
func capacityFactor(p, cur int, a float64) float64 { return math.Pow(float64(p)/float64(cur), a-1) }

// scaledCapacity is capacityAt given its capacityFactor.
func scaledCapacity(v *vertexView, p int, factor float64) float64 {
	return v.measuredAt(p, rateAt(v, p)*factor/share(v.units, p))
}

// measuredAt is c, v's modelled capacity at p, at most what v was read to
// carry saturated at p or above (Scaling.Saturated) when p is below its
// current parallelism: a release is never priced above what its size
// was measured to carry. The fitted exponent extrapolates a power law
// the job need not follow: orderbook-hotsymbol's keyed book (a hot
// symbol), fitted to p^0.62 from 2, 3, 4, 6 and 14 subtasks, priced 1
// subtask at 9.1k rec/s; it had carried 7.97k saturated a minute before,
// and the same release to it was made and undone three times in ten
// minutes (docs/BENCHMARK.md "A release priced above what its size
// carried (session 27)").
func (v *vertexView) measuredAt(p int, c float64) float64 {
	if _, b, ok := v.boundBy(p); ok {
		return math.Min(c, b)
	}
	return c
}

// boundBy is the saturated reading that bounds v's capacity at p the
// lowest (measuredAt) and that bound; false when none does (p at or above
// v's current parallelism, or no reading at p or above).
func (v *vertexView) boundBy(p int) (Saturation, float64, bool) {
	var at Saturation
	bound, ok := 0.0, false
	if p >= v.cur {
		return at, 0, false
	}
	for _, s := range v.saturated {
		if c := s.Rate / share(v.units, s.P); s.P >= p && (!ok || c < bound) {
			at, bound, ok = s, c, true
		}
	}
	return at, bound, ok
}

// unbounded is v's capacity at p by its efficiency alone, as if no
// saturated reading bounded it.
func (v *vertexView) unbounded(p int, a float64) float64 {
	free := *v
	free.saturated = nil
	return capacityAt(&free, p, a)
}

// saturationTTL is how long a saturated reading bounds its vertex's
// capacity (measuredAt): a job's cost per record drifts with its data,
// state and code, and a bound kept for ever would hold every later
// release above it.
const saturationTTL = time.Hour

// maxSaturated bounds Scaling.Saturated.
const maxSaturated = 4

// learnSaturation keeps, per vertex of a running job, the true rate read
// while it is saturated (busy ≥ saturated, the busy time's noise taken
// out; not a source read from its backlog, not idle) as its Saturation at
// the parallelism it runs at: the latest reading at each. A run too short
// for learnScaling's point (a rate window after the settle) still leaves
// one, as the release an immediate rise undid did. A reading is dropped
// after saturationTTL, or once the vertex carries more unsaturated at that
// parallelism or below than it says it could. The Scaling entries are
// copied: the given State is not changed.
func learnSaturation(st State, j jobView, running bool, now time.Time, every time.Duration) State {
	if !running {
		return st
	}
	var next map[string]Scaling
	for i := range j.vs {
		v := &j.vs[i]
		sc := st.Scaling[v.id]
		kept := saturationsKept(sc.Saturated, v, now)
		if v.rate > 0 && !v.observed && !v.est.idle && v.est.busy >= saturated {
			kept = withSaturation(kept, Saturation{P: v.cur, Rate: v.rate, At: now}, every)
		}
		if slices.Equal(kept, sc.Saturated) {
			continue
		}
		if next == nil {
			next = maps.Clone(st.Scaling)
			if next == nil {
				next = map[string]Scaling{}
			}
		}
		sc.Saturated = kept
		next[v.id] = sc
	}
	if next != nil {
		st.Scaling = next
	}
	return st
}

// saturationsKept is ss without the readings older than saturationTTL at
// now and those v, unsaturated at or below their parallelism, carries more
// than: ss itself when none goes, else a copy (nil when none is left).
func saturationsKept(ss []Saturation, v *vertexView, now time.Time) []Saturation {
	gone := func(s Saturation) bool {
		return now.Sub(s.At) >= saturationTTL ||
			v.cur <= s.P && v.est.busy >= 0 && v.est.busy < saturated && v.est.in > s.Rate/share(v.units, s.P)
	}
	if !slices.ContainsFunc(ss, gone) {
		return ss
	}
	var out []Saturation
	for _, s := range ss {
		if !gone(s) {
			out = append(out, s)
		}
	}
	return out
}

// withSaturation is ss with s as the reading at s.P: ss itself when the
// one there is younger than every (Flink's rates are 60 s averages: one
// reading a rate window), else a copy, the oldest dropped beyond
// maxSaturated.
func withSaturation(ss []Saturation, s Saturation, every time.Duration) []Saturation {
	at := slices.IndexFunc(ss, func(o Saturation) bool { return o.P == s.P })
	if at >= 0 && s.At.Sub(ss[at].At) < every {
		return ss
	}
	out := make([]Saturation, 0, len(ss)+1)
	for k, o := range ss {
		if k != at {
			out = append(out, o)
		}
	}
	out = append(out, s)
	if len(out) > maxSaturated {
		out = out[len(out)-maxSaturated:]
	}
	return out
}

// rateAt is the busiest subtask's true rate a size p is priced from: below
// the current size, the busy max as read (lowRate: a release keeps the
// max's noise bias as its margin), else with the noise taken out.
func rateAt(v *vertexView, p int) float64 {
	if p < v.cur && v.lowRate > 0 {
		return v.lowRate
	}
	return v.rate
}

// scalingFor fits every vertex's efficiency exponent to the true rates
// measured at the parallelisms it ran at (least squares of ln rate on
// ln p), combined with Efficiency.Prior by their uncertainties; a vertex
// running below every parallelism it was measured at also counts its
// current run's reading (belowMeasured).
// Its slice is s's (one weighing's).
func scalingFor(s *scratch, st State, j jobView, cfg Config) []scaling {
	out := zeroed(&s.scs, len(j.vs), 0)
	for i := range j.vs {
		v := &j.vs[i]
		sc := st.Scaling[v.id]
		a, sd, n := fitExponent(sc.Points, belowMeasured(v, sc.Points), cfg.Efficiency.Prior)
		out[i] = scaling{a: clampF(a, cfg.Efficiency.Min, cfg.Efficiency.Max), sd: sd, fitted: n, ineffective: sc.Ineffective}
	}
	return out
}

// belowMeasured is v's current reading as a point of its fit when v runs
// below every parallelism in pts (at least one) and the reading is one
// learnScaling would store (busy enough, not observed, not idle); else
// the zero point: none. learnScaling stores a run's point only a rate
// window after the settle (~2–3 min into the run); at compare's fast
// timing every release after a fall came ~80 s into the run the last
// release began, so each was sized on one measured parallelism and the
// prior's p^0.90, where the sandbox's vertices scale ~p^0.65: real
// wordcount-flatmap released 40 → 20 → 15 → 12 (docs/BENCHMARK.md "Real
// Flink (session 23, s23real)"). Only below: a young run's reading has
// fewer samples, its busiest subtask's busy max reads high and its true
// rate low; below the measured parallelisms that fits a higher exponent
// (the next release smaller), while at or above them it fitted lower ones
// that sized releases deeper and cost lag on the emulator (branch
// s23real-effprov, not kept).
func belowMeasured(v *vertexView, pts []CapPoint) CapPoint {
	if len(pts) == 0 || v.est.busy < 0.3 || v.rate <= 0 || v.observed || v.est.idle {
		return CapPoint{}
	}
	for _, c := range pts {
		if c.P <= v.cur {
			return CapPoint{}
		}
	}
	return CapPoint{P: v.cur, Rate: v.rate}
}

// fitExponent returns the posterior exponent, its sd and the number of
// distinct parallelisms fitted: pts', and cur's when cur.P > 0 (a point
// not in pts).
func fitExponent(pts []CapPoint, cur CapPoint, prior float64) (float64, float64, int) {
	k := len(pts)
	if cur.P > 0 {
		k++
	}
	n := float64(k)
	if k < 2 {
		return prior, priorSD, k
	}
	lx := func(p CapPoint) float64 { return math.Log(float64(p.P)) }
	ly := func(p CapPoint) float64 { return math.Log(p.Rate) }
	var mx, my float64
	for _, p := range pts {
		mx += lx(p) / n
		my += ly(p) / n
	}
	if cur.P > 0 {
		mx += lx(cur) / n
		my += ly(cur) / n
	}
	var sxx, sxy float64
	for _, p := range pts {
		dx := lx(p) - mx
		sxx += dx * dx
		sxy += dx * (ly(p) - my)
	}
	if cur.P > 0 {
		dx := lx(cur) - mx
		sxx += dx * dx
		sxy += dx * (ly(cur) - my)
	}
	if sxx <= 0 {
		return prior, priorSD, k
	}
	b := sxy / sxx
	res := 0.0
	for _, p := range pts {
		e := ly(p) - my - b*(lx(p)-mx)
		res += e * e
	}
	if cur.P > 0 {
		e := ly(cur) - my - b*(lx(cur)-mx)
		res += e * e
	}
	s2 := rateNoise * rateNoise
	if k > 2 {
		s2 = math.Max(s2, res/(n-2))
	}
	varFit := s2 / sxx
	w0, w1 := 1/(priorSD*priorSD), 1/varFit
	a := (prior*w0 + (1+b)*w1) / (w0 + w1)
	return a, math.Sqrt(1 / (w0 + w1)), k
}

// learnScaling records each vertex's true rate at its current parallelism
// once per rate window after the run's 60 s rates are full, when the
// vertex is busy enough for busy time to measure it, and marks a scale-up that added almost no capacity.
// The points are copied: the given State is not changed.
func learnScaling(st State, j jobView, cfg Config) State {
	n := len(st.Window)
	if n == 0 || st.Window[n-1].At.Sub(st.Epoch) < cfg.Settle+cfg.RateWindow {
		return st
	}
	// Flink's rates are 60 s averages: one measurement per rate window.
	if n >= 2 && st.Window[n-2].Epoch.Equal(st.Epoch) &&
		st.Window[n-2].At.Sub(st.Epoch)/cfg.RateWindow == st.Window[n-1].At.Sub(st.Epoch)/cfg.RateWindow {
		return st
	}
	next := make(map[string]Scaling, len(j.vs))
	for k, v := range st.Scaling {
		next[k] = v
	}
	for _, v := range j.vs {
		if v.est.busy < 0.3 || v.rate <= 0 || v.observed || v.est.idle {
			continue
		}
		next[v.id] = addPoint(next[v.id], CapPoint{P: v.cur, Rate: v.rate}, v.units)
	}
	st.Scaling = next
	return st
}

// addPoint merges a measurement into s: the same parallelism's point moves
// to the end, smoothed; the oldest drops beyond maxPoints. A point above
// the largest lower one whose capacity grew less than ineffectiveGain of
// linear marks the vertex ineffective above it.
func addPoint(s Scaling, pt CapPoint, units int) Scaling {
	pts := slices.Clone(s.Points)
	if k := slices.IndexFunc(pts, func(c CapPoint) bool { return c.P == pt.P }); k >= 0 {
		pt.Rate = 0.7*pts[k].Rate + 0.3*pt.Rate
		pts = slices.Delete(pts, k, k+1)
	}
	pts = append(pts, pt)
	if len(pts) > maxPoints {
		pts = pts[len(pts)-maxPoints:]
	}
	s.Points = pts
	below := -1
	for k, c := range pts {
		if c.P < pt.P && (below < 0 || c.P > pts[below].P) {
			below = k
		}
	}
	if below >= 0 {
		lo := pts[below]
		gain := (pt.Rate/share(units, pt.P))/(lo.Rate/share(units, lo.P)) - 1
		if gain < ineffectiveGain*(float64(pt.P)/float64(lo.P)-1) {
			s.Ineffective = pt.P
		} else if s.Ineffective > 0 && s.Ineffective <= pt.P {
			s.Ineffective = 0
		}
	}
	return s
}

// spread is the relative uncertainty of v's capacity at p that the
// exponent's uncertainty brings: sd × |ln(p/cur)|.
func (s scaling) spread(v *vertexView, p int) float64 {
	if p <= 0 || v.cur <= 0 {
		return 0
	}
	return s.sd * math.Abs(math.Log(float64(p)/float64(v.cur)))
}
