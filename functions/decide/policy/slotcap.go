package policy

import (
	"math"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// Notes capSlots writes on the vertices it lowers.
const (
	tmCapNote      = "capped by maxTaskManagers"
	sessionCapNote = "capped to the slots the session cluster has for the job"
)

// sessionSlots is the most slots a session-mode job's targets may need:
// the session cluster's free slots plus those the job holds (what its
// current parallelism needs, at most the slots in use: other jobs hold
// the rest), at most maxTaskManagers' slots when that is set. 0 (no
// bound) outside session mode, or when neither is known. A session
// cluster's TaskManagers are not the job's: nobody here starts one, so a
// declaration past these slots is never met (the job keeps running at
// what it ran at, and actuate's wait for the new parallelism times out).
func sessionSlots(lim limits, j jobView, snap *events.Snapshot) int {
	if !lim.session {
		return 0
	}
	bound := 0
	if snap.SlotsTotal > 0 {
		var buf [16]int
		cur := buf[:0]
		for _, v := range j.vs {
			cur = append(cur, v.cur)
		}
		bound = snap.SlotsFree + min(lim.slots(cur), max(snap.SlotsTotal-snap.SlotsFree, 0))
	}
	if lim.maxTMs > 0 && lim.layout.PerTaskManager > 0 {
		if m := lim.maxTMs * lim.layout.PerTaskManager; bound <= 0 || m < bound {
			bound = m
		}
	}
	return bound
}

// fits reports whether ps fits the session cluster's slots (slotCap) and,
// outside session mode, MaxTaskManagers.
func (lim limits) fits(ps []int) bool {
	if lim.slotCap > 0 && lim.slots(ps) > lim.slotCap {
		return false
	}
	return lim.maxTMs <= 0 || lim.session || lim.taskManagers(ps) <= lim.maxTMs
}

// capped reports whether capSlots lowered some vertex of c.
func (c candidate) capped() bool {
	for _, ns := range c.notes {
		for _, n := range ns {
			if n.format == tmCapNote || n.format == sessionCapNote {
				return true
			}
		}
	}
	return false
}

// capSlots lowers ps until it fits (limits.fits), a slot at a time taken
// where it costs the bottleneck least: of the slot-sharing groups (with
// dedicated slots, of the vertices), the one whose largest vertices,
// lowered to their next aligned parallelism, keep the most capacity ÷
// demand (dem, caps; for a vertex whose capacity or demand is unknown,
// parallelism ÷ current). In reactive mode every vertex goes down
// together. The slots then go to the vertices in proportion to what they
// need: lowering the largest vertex alone (before session 17) took a
// session cluster's slots from its Amdahl-limited lookup while the keyed
// aggregate beside it kept its headroom. Every lowered vertex is noted
// once (add).
func capSlots(ps []int, j jobView, lim limits, dem []float64, caps []*capMemo, add func(int, note)) {
	if lim.slotCap <= 0 && (lim.maxTMs <= 0 || lim.session) {
		return
	}
	format := tmCapNote
	if lim.session {
		format = sessionCapNote
	}
	var notedBuf [16]bool
	noted := notedBuf[:0]
	for range ps {
		noted = append(noted, false)
	}
	lower := func(i, q int) {
		ps[i] = q
		if !noted[i] {
			noted[i] = true
			add(i, note{format: format})
		}
	}
	for range 1 << 12 {
		if lim.fits(ps) {
			return
		}
		if lim.reactive {
			big := 0
			for i := range ps {
				if ps[i] > ps[big] {
					big = i
				}
			}
			if ps[big] <= 1 {
				return
			}
			q := max(alignDown(j.vs[big].units, ps[big]-1), 1)
			for i := range ps {
				if ps[i] > q {
					lower(i, q)
				}
			}
			continue
		}
		unit := cheapestCut(ps, j, lim, dem, caps)
		if unit < 0 {
			return
		}
		top := cutTop(ps, lim, unit)
		for i := range ps {
			if inCut(lim, unit, i) && ps[i] == top {
				lower(i, max(alignDown(j.vs[i].units, top-1), 1))
			}
		}
	}
}

// inCut reports whether vertex i belongs to the unit a cut lowers: its
// slot-sharing group, or with dedicated slots the vertex itself.
func inCut(lim limits, unit, i int) bool {
	if lim.layout.Dedicated {
		return i == unit
	}
	return groupOf(lim.group, i) == unit
}

// cutTop is the largest parallelism in the unit (the vertices a cut of
// it lowers are those at it).
func cutTop(ps []int, lim limits, unit int) int {
	top := 0
	for i, p := range ps {
		if inCut(lim, unit, i) {
			top = max(top, p)
		}
	}
	return top
}

// cheapestCut is the unit (slot-sharing group, or vertex with dedicated
// slots) whose cut by one slot leaves its lowered vertices the most
// capacity ÷ demand, ties to the larger parallelism; -1 when every unit
// is at 1.
func cheapestCut(ps []int, j jobView, lim limits, dem []float64, caps []*capMemo) int {
	units := max(lim.groups, 1)
	if lim.layout.Dedicated {
		units = len(ps)
	}
	best, bestScore, bestTop := -1, math.Inf(-1), 0
	for u := range units {
		top := cutTop(ps, lim, u)
		if top <= 1 {
			continue
		}
		score := math.Inf(1)
		for i := range ps {
			if inCut(lim, u, i) && ps[i] == top {
				score = math.Min(score, ratioAt(j, i, max(alignDown(j.vs[i].units, top-1), 1), dem, caps))
			}
		}
		if score > bestScore || score == bestScore && top > bestTop {
			best, bestScore, bestTop = u, score, top
		}
	}
	return best
}

// ratioAt is vertex i's capacity at q ÷ its demand, or q ÷ its current
// parallelism when either is unknown.
func ratioAt(j jobView, i, q int, dem []float64, caps []*capMemo) float64 {
	v := &j.vs[i]
	if i < len(dem) && i < len(caps) && caps[i] != nil && v.rate > 0 && dem[i] > 0 {
		return caps[i].at(q) / dem[i]
	}
	return float64(q) / float64(max(v.cur, 1))
}
