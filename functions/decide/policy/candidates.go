package policy

import (
	"fmt"
	"math"
	"slices"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/slots"
)

// limits are what a target may be: per vertex bounds, the step factor, the
// mode and the TaskManager cap with the slot layout.
type limits struct {
	lo, hi   []int
	step     float64
	reactive bool
	session  bool
	maxTMs   int
	layout   slots.Layout
	ids      []string
}

func limitsFor(j jobView, cfg Config, st State, snap *events.Snapshot) limits {
	lim := limits{step: cfg.MaxStepFactor, reactive: cfg.Mode == events.ModeReactive,
		session: cfg.Mode == events.ModeSession, maxTMs: cfg.MaxTaskManagers, layout: layoutFor(cfg, snap, st.Unfit)}
	for _, v := range j.vs {
		lo, hi := boundsFor(cfg, v.id, v.name, v.source, v.parts, v.maxPar)
		lim.lo, lim.hi, lim.ids = append(lim.lo, lo), append(lim.hi, hi), append(lim.ids, v.id)
	}
	return lim
}

// slots is the number of slots ps needs (0 when the layout is invalid).
func (lim limits) slots(ps []int) int {
	n, _ := lim.layout.Needed(lim.asMap(ps))
	return n
}

// taskManagers is the TaskManagers ps needs (0 when the layout is invalid).
func (lim limits) taskManagers(ps []int) int {
	n, _ := lim.layout.TaskManagers(lim.asMap(ps))
	return n
}

func (lim limits) asMap(ps []int) map[string]int {
	m := make(map[string]int, len(ps))
	for i, p := range ps {
		m[lim.ids[i]] = p
	}
	return m
}

// candidate is one set of targets, with the headroom it was sized for (-1:
// keep) and per vertex notes from shaping.
type candidate struct {
	ps       []int
	headroom float64
	notes    [][]string
}

// headrooms are the levels each sized candidate carries over the demand.
var headrooms = []float64{0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 1.5, 2}

// propose returns keep and, per headroom level, every vertex sized for its
// demand × (1 + headroom): going up for the demand (the forecast's, when it
// expects a rise), going down for the scale-down window's peak, never
// above a parallelism scaling was seen to be ineffective at. Each is shaped
// (shape); duplicates are dropped.
func propose(j jobView, ld load, sc []scaling, lim limits) []candidate {
	keep := make([]int, len(j.vs))
	for i, v := range j.vs {
		keep[i] = v.cur
	}
	out := []candidate{{ps: keep, headroom: -1, notes: make([][]string, len(keep))}}
	up, down := j.demand(ld.forecast), j.demand(math.Max(ld.peak, ld.forecast))
	for _, h := range headrooms {
		ps := make([]int, len(j.vs))
		for i, v := range j.vs {
			ps[i] = sizeVertex(v, sc[i], up[i]*(1+h), down[i]*(1+h), lim.hi[i])
		}
		ps, notes := shape(ps, j, lim)
		if !slices.ContainsFunc(out, func(c candidate) bool { return slices.Equal(c.ps, ps) }) {
			out = append(out, candidate{ps: ps, headroom: h, notes: notes})
		}
	}
	return out
}

// sizeVertex is the fewest subtasks carrying up (or, when that is fewer
// than now, down) at the vertex's fitted exponent; the current
// parallelism when its capacity is unknown or it has no input.
func sizeVertex(v vertexView, sc scaling, up, down float64, hi int) int {
	if v.rate <= 0 || v.est.in <= 0 {
		return v.cur
	}
	p := fewest(v, sc, up, max(hi, v.cur))
	if p < v.cur {
		p = min(fewest(v, sc, down, max(hi, v.cur)), v.cur)
	}
	if sc.ineffective > 0 && p > v.cur {
		p = max(v.cur, min(p, sc.ineffective))
	}
	return p
}

// fewest is the smallest p in [1, upper] whose capacity carries need.
func fewest(v vertexView, sc scaling, need float64, upper int) int {
	enough := func(p int) bool { return capacityAt(v, p, sc.a) >= need }
	guess := float64(v.cur) * need / capacityAt(v, v.cur, sc.a)
	p := int(clampF(math.Ceil(guess), 1, float64(upper)))
	for p > 1 && enough(p-1) {
		p--
	}
	for p < upper && !enough(p) {
		p++
	}
	return p
}

// shape applies, in this order: clamp to the vertex's bounds; align to the
// fewest subtasks with the same key groups (partitions) on the busiest one;
// the step cap, a capped target aligned within the cap (so alignment never
// widens a step); reactive mode's one parallelism; the TaskManager cap,
// lowering the largest vertex to its next aligned value. Bounds win over
// the step cap when they conflict.
func shape(in []int, j jobView, lim limits) ([]int, [][]string) {
	ps := slices.Clone(in)
	notes := make([][]string, len(ps))
	note := func(i int, format string, args ...any) { notes[i] = append(notes[i], fmt.Sprintf(format, args...)) }
	for i, v := range j.vs {
		p := min(max(ps[i], lim.lo[i]), lim.hi[i])
		if p != ps[i] {
			note(i, "bounded to [%d, %d]", lim.lo[i], lim.hi[i])
		}
		if q := max(alignDown(v.units, p), lim.lo[i]); q != p && p != v.cur {
			note(i, "aligned %d→%d (%d of %d key groups per subtask)", p, q, ceilDiv(v.units, p), v.units)
			p = q
		}
		if lim.step > 0 {
			upCap := int(math.Ceil(float64(v.cur) * lim.step))
			downCap := max(int(math.Floor(float64(v.cur)/lim.step)), 1)
			switch {
			case p > upCap:
				p = max(alignDown(v.units, upCap), v.cur)
				note(i, "step capped at ×%g", lim.step)
			case p < downCap:
				p = alignUp(v.units, downCap, v.cur)
				note(i, "step capped at ÷%g", lim.step)
			}
			p = min(max(p, lim.lo[i]), lim.hi[i])
		}
		ps[i] = p
	}
	if lim.reactive {
		all := slices.Max(ps)
		for i, v := range j.vs {
			if p := min(all, v.maxPar); p != ps[i] {
				note(i, "reactive mode: %d like every vertex", p)
				ps[i] = p
			}
		}
	}
	tmCap(ps, j, lim, note)
	return ps, notes
}

// tmCap lowers the largest vertex (every vertex in reactive mode) to its
// next aligned value until ps fits MaxTaskManagers.
func tmCap(ps []int, j jobView, lim limits, note func(int, string, ...any)) {
	if lim.maxTMs <= 0 || lim.session {
		return
	}
	for range 1 << 12 {
		if lim.taskManagers(ps) <= lim.maxTMs {
			return
		}
		big := 0
		for i := range ps {
			if ps[i] > ps[big] {
				big = i
			}
		}
		if ps[big] <= 1 {
			return
		}
		p := max(alignDown(j.vs[big].units, ps[big]-1), 1)
		for i := range ps {
			if ps[i] > p && (lim.reactive || i == big) {
				ps[i] = p
				note(i, "capped by maxTaskManagers")
			}
		}
	}
}

// alignDown is the fewest subtasks whose busiest one gets as many key
// groups (partitions) as at p: ceil(K / ceil(K/p)); p when spread evenly.
func alignDown(units, p int) int {
	if units <= 0 || p <= 0 || p >= units {
		return p
	}
	return ceilDiv(units, ceilDiv(units, p))
}

// alignUp is the smallest aligned parallelism at or above p, at most limit.
func alignUp(units, p, limit int) int {
	for p < limit && alignDown(units, p) != p {
		p++
	}
	return p
}

func ceilDiv(a, b int) int {
	if b <= 0 {
		return 0
	}
	return (a + b - 1) / b
}
