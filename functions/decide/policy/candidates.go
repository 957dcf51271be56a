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
	// held is the TaskManagers registered (the snapshot's).
	held int
	// slotCap is the most slots a target may need (0: no bound): in
	// session mode the slots of the session cluster the job can take
	// (sessionSlots).
	slotCap int
	layout  slots.Layout
	ids     []string
	// group is each vertex's slot-sharing group as an index below groups.
	group  []int
	groups int
	// alts are the layout's other groupings (slots.Layout.Alternatives) as
	// group and groups are: need counts the most any of them needs.
	alts []altGroups
}

// altGroups is one alternative grouping as a group index per vertex.
type altGroups struct {
	group  []int
	groups int
}

// limitsFor are j's limits, its per-vertex slices in s (one weighing's).
func limitsFor(s *scratch, j jobView, cfg Config, st State, snap *events.Snapshot) limits {
	lim := limits{step: cfg.MaxStepFactor, reactive: cfg.Mode == events.ModeReactive,
		session: cfg.Mode == events.ModeSession, maxTMs: cfg.MaxTaskManagers, held: snap.TaskManagers, layout: layoutIn(cfg, snap, st)}
	index := map[string]int{}
	n := len(j.vs)
	ints := zeroed(&s.lims, 3*n, 0)
	lim.lo, lim.hi, lim.group = ints[:0:n], ints[n:n:2*n], ints[2*n:2*n:3*n]
	lim.ids = zeroed(&s.ids, 0, n)
	for _, v := range j.vs {
		lo, hi := boundsFor(cfg, v.id, v.name, v.source, v.parts, v.maxPar)
		lim.lo, lim.hi, lim.ids = append(lim.lo, lo), append(lim.hi, hi), append(lim.ids, v.id)
		g, ok := index[lim.layout.Groups[v.id]]
		if !ok {
			g = len(index)
			index[lim.layout.Groups[v.id]] = g
		}
		lim.group = append(lim.group, g)
	}
	lim.groups = len(index)
	for _, alt := range lim.layout.Alternatives {
		idx := map[string]int{}
		a := altGroups{group: make([]int, 0, n)}
		for _, v := range j.vs {
			g, ok := idx[alt[v.id]]
			if !ok {
				g = len(idx)
				idx[alt[v.id]] = g
			}
			a.group = append(a.group, g)
		}
		a.groups = len(idx)
		lim.alts = append(lim.alts, a)
	}
	lim.slotCap = sessionSlots(lim, j, snap)
	return lim
}

// slots is the number of slots ps needs (0 when the layout is invalid).
func (lim limits) slots(ps []int) int {
	n, _ := lim.need(ps)
	return n
}

// taskManagers is the TaskManagers ps needs (0 when the layout is invalid).
func (lim limits) taskManagers(ps []int) int {
	_, n := lim.need(ps)
	return n
}

// starts reports whether a change that raises some vertex (rises) and
// needs tms TaskManagers asks for more than are registered, so that its
// restart waits for their start-up (restartCost.start). Not in reactive
// mode, whose scale-ups are priced at the slots' registration
// (registrationRestart), nor in session mode, where actuate starts none.
func (lim limits) starts(rises bool, tms int) bool {
	return rises && !lim.reactive && !lim.session && tms > lim.held
}

// need is the slots and TaskManagers ps needs (0, 0 when the layout is
// invalid).
func (lim limits) need(ps []int) (int, int) {
	if lim.layout.PerTaskManager <= 0 || lim.layout.Standby < 0 {
		return 0, 0
	}
	n := 0
	if lim.layout.Dedicated {
		for _, p := range ps {
			n += p
		}
	} else {
		var small [8]int
		for _, m := range groupMost(ps, lim.group, lim.groups, small[:0]) {
			n += m
		}
		for _, a := range lim.alts {
			k := 0
			for _, m := range groupMost(ps, a.group, a.groups, small[:0]) {
				k += m
			}
			n = max(n, k)
		}
	}
	return n, slots.ForSlots(n, lim.layout.PerTaskManager) + lim.layout.Standby
}

// groupMost is each slot-sharing group's largest parallelism in ps
// (group: each vertex's group below groups, limits), into buf (a new
// slice when it is too short).
func groupMost(ps, group []int, groups int, buf []int) []int {
	groups = max(groups, 1)
	most := buf[:0]
	if groups > cap(buf) {
		most = make([]int, 0, groups)
	}
	most = most[:groups]
	clear(most)
	for i, p := range ps {
		g := groupOf(group, i)
		most[g] = max(most[g], p)
	}
	return most
}

// groupOf is vertex i's slot-sharing group in group (0 past its end).
func groupOf(group []int, i int) int {
	if i < len(group) {
		return group[i]
	}
	return 0
}

// costStep is the smallest change of what the job pays (paid): one
// TaskManager's slots, or one slot in a session cluster, as the
// scorecard counts a load change.
func (lim limits) costStep() int {
	if lim.session {
		return 1
	}
	return lim.layout.PerTaskManager
}

// paid is what slots and TaskManagers cost: the TaskManagers' slots
// (standby included; a slot left free on a TaskManager is paid too), or
// the slots themselves in session mode, where the job owns no
// TaskManager.
func (lim limits) paid(slots, tms int) int {
	if lim.session {
		return slots
	}
	return tms * lim.layout.PerTaskManager
}

// candidate is one set of targets, with the headroom it was sized for (-1:
// keep) and per vertex notes from shaping.
type candidate struct {
	ps       []int
	headroom float64
	notes    [][]note
	// raised marks the sources raised with their slot-sharing group (bit
	// i: vertex i; raiseSources).
	raised uint64
}

// note is a line of a vertex's reason that shaping wrote: its format and
// arguments (n ints, or the float f when n is -1; none: a format with
// no verbs), formatted (appendTo)
// only for the candidate a decision is made of: a job with key groups
// notes its alignment on most candidates.
type note struct {
	format string
	ints   [4]int
	n      int
	f      float64
}

// appendTo appends the note as fmt.Sprintf(format, args...) writes it.
func (n note) appendTo(b []byte) []byte {
	switch n.n {
	case -1:
		return fmt.Appendf(b, n.format, n.f)
	case 0: // a format with no verbs
		return append(b, n.format...)
	}
	var args [len(n.ints)]any
	for k := range n.n {
		args[k] = n.ints[k]
	}
	return fmt.Appendf(b, n.format, args[:n.n]...)
}

// String is the note as text.
func (n note) String() string { return string(n.appendTo(nil)) }

// headrooms are the levels each sized candidate carries over the demand.
var headrooms = []float64{0, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 0.75, 1, 1.5}

// propose returns keep and, per headroom level, every vertex sized for its
// demand × (1 + headroom): going up for the demand up (the forecast's,
// j.demand(ld.forecast)), going down for the scale-down window's peak, never
// above a parallelism scaling was seen to be ineffective at. Besides the
// levels, every vertex sized for the spare that drains a scale-up's
// restart backlog within slo.recovery (recoveryNeed, from rc): it falls
// between the levels, and this way the vertices that already have it are
// not raised to the next level with the one that lacks it (none when it
// is 0 or above the levels). Each is shaped (shape); duplicates are
// dropped.
//
// Its buffers are s's (one weighing's).
func propose(s *scratch, j jobView, ld load, up []float64, sc []scaling, lim limits, caps []*capMemo, rc restartCost, cfg Config) []candidate {
	n, m := len(j.vs), len(headrooms)
	// one buffer: keep, then per vertex its size at every level, then
	// every level's targets, then the recovery's (each capped, so no
	// append reaches the next)
	buf := zeroed(&s.ints, n+n*m+(m+1)*n, 0)
	keep, levels, all := buf[:n:n], buf[n:n+n*m], buf[n+n*m:]
	for i, v := range j.vs {
		keep[i] = v.cur
	}
	out := zeroed(&s.cands, 1, m+2)
	out[0] = candidate{ps: keep, headroom: -1}
	down := j.demandIn(zeroed(&s.down, n, 0), math.Max(ld.peak, ld.forecast))
	for i := range j.vs {
		sizeLevels(levels[i*m:(i+1)*m], &j.vs[i], sc[i], up[i], down[i], lim.hi[i], caps[i])
	}
	need := recoveryNeed(j, ld, rc, headroomOf(keep, j, up, caps), cfg)
	unseen := unseenReads(j, up, need)
	add := func(ps []int, h float64) {
		ps, notes, raised := shape(ps, j, lim, unseen, up, caps)
		c := candidate{ps: ps, headroom: h, notes: notes, raised: raised}
		switch {
		case !slices.ContainsFunc(out, func(c candidate) bool { return slices.Equal(c.ps, ps) }):
			out = append(out, c)
		case out[0].notes == nil && slices.Equal(out[0].ps, ps) && c.capped():
			// the most that fit is what runs: keeping is capped too
			// (capSentence)
			out[0].notes = notes
		}
	}
	for k, h := range headrooms {
		ps := all[k*n : (k+1)*n : (k+1)*n]
		for i := range j.vs {
			ps[i] = levels[i*m+k]
		}
		add(ps, h)
	}
	if h := need; h > 0 && h < headrooms[m-1] { // none at +Inf
		ps := all[m*n:]
		for i := range j.vs {
			ps[i] = sizeVertex(&j.vs[i], sc[i], up[i]*(1+h), down[i]*(1+h), lim.hi[i], 1, caps[i])
		}
		add(ps, h)
	}
	// every change that scales up takes the headroom its slots already
	// pay for (fillFree); a candidate that becomes another's is dropped
	kept := out[:1]
	for _, c := range out[1:] {
		c.notes = fillFree(c.ps, j, lim, up, sc, caps, c.notes)
		if !slices.ContainsFunc(kept, func(o candidate) bool { return slices.Equal(o.ps, c.ps) }) {
			kept = append(kept, c)
		}
	}
	return kept
}

// sizeLevels sizes v for every headroom level into out (sizeVertex),
// walking up from one level's size to the next's.
func sizeLevels(out []int, v *vertexView, sc scaling, up, down float64, hi int, memo *capMemo) {
	from := 1
	for k, h := range headrooms {
		out[k] = sizeVertex(v, sc, up*(1+h), down*(1+h), hi, from, memo)
		from = max(out[k], 1)
	}
}

// capMemo remembers a vertex's capacityAt at its fitted exponent for the
// parallelisms sizing and pricing try. Vertices at the same parallelism and
// exponent share a capTable (tab), which the decision's scratch keeps for
// the next decisions.
type capMemo struct {
	v     *vertexView
	a     float64
	small [24]float64 // by p; 0 = not computed
	tab   *capTable
}

// capTable holds, for one parallelism cur and exponent a, the factors
// (p/cur)^(a−1) by p (0 = not computed) and |ln(p/cur)| (logs, bit p of
// hasLog set when computed): pure functions of (cur, a, p), so a scratch
// keeps its tables from one decision to the next (scratch.capTable).
type capTable struct {
	cur     int
	a       float64
	factors [24]float64
	logs    [24]float64
	hasLog  uint32
}

// maxCapTables bounds the capTables a scratch keeps.
const maxCapTables = 16

func newCapMemos(j jobView, sc []scaling) []*capMemo { return newCapMemosIn(new(scratch), j, sc) }

// newCapMemosIn is newCapMemos with the memos in s (one weighing's) and
// their tables from s's.
func newCapMemosIn(s *scratch, j jobView, sc []scaling) []*capMemo {
	memos := zeroed(&s.memos, len(j.vs), 0)
	out := zeroed(&s.caps, len(j.vs), 0)
	distinct := 0
	for i := range j.vs {
		memos[i] = capMemo{v: &j.vs[i], a: sc[i].a}
		out[i] = &memos[i]
		if sharesFactors(j, sc, i) == i {
			distinct++
		}
	}
	if distinct > maxCapTables {
		s = new(scratch) // a job of many distinct vertices: tables of its own
		s.tables = make([]capTable, 0, distinct)
	} else if len(s.tables)+distinct > cap(s.tables) {
		// no memo points into the tables yet: drop them all
		s.tables = make([]capTable, 0, maxCapTables)
	}
	for i := range memos {
		if k := sharesFactors(j, sc, i); k < i {
			memos[i].tab = memos[k].tab
		} else {
			memos[i].tab = s.capTable(j.vs[i].cur, sc[i].a)
		}
	}
	return out
}

// capTable is s's table for (cur, a), added when s has none; s.tables
// has room for it (newCapMemosIn), so no table moves.
func (s *scratch) capTable(cur int, a float64) *capTable {
	for i := range s.tables {
		if t := &s.tables[i]; t.cur == cur && math.Float64bits(t.a) == math.Float64bits(a) {
			return t
		}
	}
	s.tables = append(s.tables, capTable{cur: cur, a: a})
	return &s.tables[len(s.tables)-1]
}

// sharesFactors is the first vertex at i's parallelism and exponent (i
// when none before it is).
func sharesFactors(j jobView, sc []scaling, i int) int {
	for k := range i {
		if sc[k].a == sc[i].a && j.vs[k].cur == j.vs[i].cur {
			return k
		}
	}
	return i
}

// at is the vertex's capacity at p: remembered for 0 < p < len(small)
// (small[0] stays 0), so the common case is an inlined read.
func (m *capMemo) at(p int) float64 {
	if uint(p) < uint(len(m.small)) && m.small[p] != 0 {
		return m.small[p]
	}
	return m.atSlow(p)
}

func (m *capMemo) atSlow(p int) float64 {
	if p <= 0 || p >= len(m.small) {
		return capacityAt(m.v, p, m.a)
	}
	m.small[p] = m.capacity(p)
	return m.small[p]
}

// logRatio is |ln(p/cur)| (0 when p or cur is not positive), as
// scaling.spread works it out.
func (m *capMemo) logRatio(p int) float64 {
	if p <= 0 || m.v.cur <= 0 {
		return 0
	}
	t := m.tab
	if t == nil || p >= len(t.logs) {
		return math.Abs(math.Log(float64(p) / float64(m.v.cur)))
	}
	if t.hasLog&(1<<p) == 0 {
		t.logs[p], t.hasLog = math.Abs(math.Log(float64(p)/float64(m.v.cur))), t.hasLog|1<<p
	}
	return t.logs[p]
}

// capacity is capacityAt with the factor from the shared table (when
// there is one).
func (m *capMemo) capacity(p int) float64 {
	if m.a == 1 || m.tab == nil {
		return capacityAt(m.v, p, m.a)
	}
	f := &m.tab.factors[p]
	if *f == 0 {
		*f = capacityFactor(p, m.v.cur, m.a)
	}
	return scaledCapacity(m.v, p, *f)
}

// sizeVertex is the fewest subtasks (at least from, when fewer than now)
// carrying up (or, when that is fewer than now, down) at the vertex's
// fitted exponent; the current parallelism when its capacity is unknown
// or it has no input.
func sizeVertex(v *vertexView, sc scaling, up, down float64, hi, from int, memo *capMemo) int {
	if v.rate <= 0 || v.est.in <= 0 {
		return v.cur
	}
	p := fewest(v.cur, memo, up, from, max(hi, v.cur))
	if p < v.cur {
		p = min(fewest(v.cur, memo, down, from, max(hi, v.cur)), v.cur)
	}
	if sc.ineffective > 0 && p > v.cur {
		p = max(v.cur, min(p, sc.ineffective))
	}
	return p
}

// fewest is the smallest p in [from, upper] whose capacity carries need
// (from when none smaller would); cur is the vertex's current parallelism,
// from which a guess starts.
func fewest(cur int, memo *capMemo, need float64, from, upper int) int {
	enough := func(p int) bool { return memo.at(p) >= need }
	if from >= upper || enough(from) {
		return min(from, upper)
	}
	if memo.at(from)*1.5 >= need { // close: walk up
		p := from
		for p < upper && !enough(p) {
			p++
		}
		return p
	}
	// capacity ∝ p^a away from key-group rounding: start there
	guess := float64(cur) * math.Pow(need/memo.at(cur), 1/memo.a)
	p := int(clampF(math.Ceil(guess), float64(from), float64(upper)))
	for p > from && enough(p-1) {
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
// widens a step); reactive mode's one parallelism; no scale-down that saves
// no slot (keepFree); a scale-up's sources raised with their group
// (raiseSources, those marked in unseen); the TaskManager cap and a
// session cluster's slots (capSlots: the slots taken from where they cost
// the bottleneck least, by the demand dem and capacities caps). Bounds win
// over the step cap when they conflict. ps is changed in place and
// returned.
func shape(ps []int, j jobView, lim limits, unseen uint64, dem []float64, caps []*capMemo) ([]int, [][]note, uint64) {
	var notes [][]note
	add := func(i int, n note) {
		if notes == nil {
			notes = make([][]note, len(ps))
		}
		notes[i] = append(notes[i], n)
	}
	for i := range j.vs {
		v := &j.vs[i]
		p := min(max(ps[i], lim.lo[i]), lim.hi[i])
		if p != ps[i] {
			add(i, note{format: "bounded to [%d, %d]", ints: [4]int{lim.lo[i], lim.hi[i]}, n: 2})
		}
		if q := max(alignDown(v.units, p), lim.lo[i]); q != p && p != v.cur {
			add(i, note{format: "aligned %d→%d (%d of %d key groups per subtask)", ints: [4]int{p, q, ceilDiv(v.units, p), v.units}, n: 4})
			p = q
		}
		if lim.step > 0 {
			upCap := int(math.Ceil(float64(v.cur) * lim.step))
			downCap := max(int(math.Floor(float64(v.cur)/lim.step)), 1)
			switch {
			case p > upCap:
				p = max(alignDown(v.units, upCap), v.cur)
				add(i, note{format: "step capped at ×%g", f: lim.step, n: -1})
			case p < downCap:
				p = alignUp(v.units, downCap, v.cur)
				add(i, note{format: "step capped at ÷%g", f: lim.step, n: -1})
			}
			p = min(max(p, lim.lo[i]), lim.hi[i])
		}
		ps[i] = p
	}
	if lim.reactive {
		all := slices.Max(ps)
		for i := range j.vs {
			if p := min(all, j.vs[i].maxPar); p != ps[i] {
				add(i, note{format: "reactive mode: %d like every vertex", ints: [4]int{p}, n: 1})
				ps[i] = p
			}
		}
	}
	keepFree(ps, j, lim)
	raised := raiseSources(ps, j, lim, unseen)
	capSlots(ps, j, lim, dem, caps, add)
	reactiveSlots(ps, j, lim, add)
	return ps, notes, raised
}

// reactiveSlots raises every vertex, in reactive mode, to the slots of the
// TaskManagers ps asks for (at most its max parallelism and upper bound):
// Flink's reactive scheduler runs every vertex at the slots there are, so
// a target below them is not what runs (ride-surge-reactive-failovers: an
// aligned 19 on ten 2-slot TaskManagers runs at 20). The target is then
// the parallelism the job runs at, its capacity priced as such, and a
// decision's target is reached; one never reached made every later move
// of the job (a failover's TaskManager lost and back) read as the
// decision's. Not with dedicated slots or several slot-sharing groups,
// where the slots are not every vertex's.
func reactiveSlots(ps []int, j jobView, lim limits, add func(int, note)) {
	if !lim.reactive || lim.layout.Dedicated || lim.groups > 1 || lim.session {
		return
	}
	tms := lim.taskManagers(ps) - lim.layout.Standby
	if tms <= 0 {
		return
	}
	all := tms * lim.layout.PerTaskManager
	for i := range ps {
		if p := min(all, j.vs[i].maxPar, lim.hi[i]); p > ps[i] {
			add(i, note{format: "reactive mode: %d, the slots of its %d TaskManager(s)", ints: [4]int{p, tms}, n: 2})
			ps[i] = p
		}
	}
}

// keepFree raises a vertex going down back towards its current
// parallelism as far as its slot-sharing group's largest target (and its
// upper bound): with shared slots those subtasks cost nothing, and a
// scale-down that saves no slot only risks the vertex's capacity, which
// for a source whose busy time under-reads is overestimated.
func keepFree(ps []int, j jobView, lim limits) {
	if lim.layout.Dedicated || lim.reactive {
		return
	}
	var buf [8]int
	most := groupMost(ps, lim.group, lim.groups, buf[:0])
	for i := range j.vs {
		if v := &j.vs[i]; ps[i] < v.cur {
			ps[i] = max(ps[i], alignDown(v.units, min(v.cur, most[groupOf(lim.group, i)], lim.hi[i])))
		}
	}
}

// raiseSources raises, in a candidate that raises some vertex, every
// source marked in unseen (unseenReads: the restart needs it to read more
// than it was seen to read) towards its slot-sharing group's largest
// target (within its bounds and step cap, aligned to its partitions) and
// returns the vertices it raised (bit i: vertex i, the first 64): those
// subtasks share the group's slots, so they cost no slot, and the
// restart's backlog is read by the sources first. A source's capacity is
// read from its busy time, which under-reads for a reader bound by its
// fetcher thread (FLINK-33306); until a catch-up shows its limit, nothing
// tells such a source from an honest one, and a restart sized for the
// rest of the job leaves its backlog to a source at its limit (drained in
// minutes, then a second restart for the source). What it trades: threads
// and network channels of source subtasks the load may not need, no slot.
// None with dedicated slots, where each subtask is a slot; none for a
// source without busy time, whatever its rate was read from (a lagging
// source's read): sizing keeps it where it is, so raised it would hold
// its group up on the way down (keepFree; payments-blind-retry-storms
// 1.66 → 2.11× oracle15 on seeds 63001–63010); and none for a source that
// shows no pendingRecords: its read is what the job is sized by while
// saturated (blindRun) and its learned ceiling is per subtask, so raised
// it cost 0.7× oracle15 on such jobs (seeds 53001–53010).
func raiseSources(ps []int, j jobView, lim limits, unseen uint64) uint64 {
	if lim.layout.Dedicated || lim.reactive || len(lim.alts) > 0 || !rises(ps, j) {
		return 0
	}
	var small [8]int
	most := small[:0]
	if lim.groups > len(small) {
		most = make([]int, 0, lim.groups)
	}
	most = most[:max(lim.groups, 1)]
	for i, p := range ps {
		g := 0
		if i < len(lim.group) {
			g = lim.group[i]
		}
		most[g] = max(most[g], p)
	}
	var raised uint64
	for i := range j.vs {
		v := &j.vs[i]
		if i >= 64 || unseen&(1<<i) == 0 || !v.source || v.rate <= 0 || v.est.busy < 0 || v.est.in <= 0 || v.est.pending < 0 {
			continue
		}
		g := 0
		if i < len(lim.group) {
			g = lim.group[i]
		}
		top := min(most[g], lim.hi[i])
		if lim.step > 0 {
			top = min(top, int(math.Ceil(float64(v.cur)*lim.step)))
		}
		if p := alignDown(v.units, top); p > ps[i] {
			ps[i] = p
			raised |= 1 << i
		}
	}
	return raised
}

// unseenReads marks (bit i: vertex i, the first 64) the sources a
// scale-up's restart needs to read more than they were seen to read in the
// metric window (vertexView.seen): their demand × (1 + need), need being
// the spare that drains the restart's backlog within slo.recovery
// (recoveryNeed). A source seen to read that much has shown the rate,
// whatever its busy time says. None when need is above every headroom
// level (+Inf included): no size drains that backlog in time (a
// failover's replay of half a 15-minute checkpoint interval), its
// catch-up is long enough to show a source's limit, and sources raised
// into it changed game-rounds-sawtooth's path (p99 lag 730 → 1,670 s on
// seeds 63001–63010).
func unseenReads(j jobView, up []float64, need float64) uint64 {
	var m uint64
	if need > headrooms[len(headrooms)-1] {
		return 0
	}
	for i := range min(len(j.vs), 64) {
		if v := &j.vs[i]; v.source && up[i] > 0 && up[i]*(1+need) > v.seen {
			m |= 1 << i
		}
	}
	return m
}

// raisedNote is the reason's note on a source raiseSources raised.
const raisedNote = "raised with its slot-sharing group in the same restart (no slot more; its busy time may under-read its limit)"

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

// fillFree raises, in a candidate that scales up, the vertex that limits
// its headroom (the least capacity ÷ demand) to its next aligned size for
// as long as that needs no more slots or TaskManagers: keepFree's
// counterpart for a scale-up. With shared slots a vertex below its group's
// largest target runs in slots already paid for, so the candidate gets the
// headroom those slots buy instead of stopping at the level it was sized
// for (constant-noise: Map 5, Sink 2 carries 1.32× the demand on the 5
// slots on which Map 5, Sink 3 carries 1.39×; a level higher asks for 6).
// What it trades: subtasks that cost no slot but add network channels
// (and, for a sink, connections). Never above the vertex's bounds, the
// step cap or a parallelism scaling was seen to be ineffective at, and
// never for a raise that adds no capacity. Returns notes with a line for
// each vertex raised.
func fillFree(ps []int, j jobView, lim limits, dem []float64, sc []scaling, caps []*capMemo, notes [][]note) [][]note {
	if lim.layout.Dedicated || lim.reactive || len(lim.alts) > 0 || !rises(ps, j) {
		return notes
	}
	// a step raises one vertex: the slots needed change only when it
	// rises above its group's largest parallelism (need), and then grow
	var mostBuf [8]int
	most := mostBuf[:0]
	free := lim.layout.PerTaskManager <= 0 || lim.layout.Standby < 0 // need is 0 for any ps
	if !free {
		most = groupMost(ps, lim.group, lim.groups, mostBuf[:0])
	}
	var from []int
	var fromBuf [16]int
	// each vertex's capacity ÷ demand at ps (+Inf: never the least, as
	// for a vertex without a known rate or demand); a step changes one
	var hBuf [16]float64
	hs := hBuf[:0]
	for i := range j.vs {
		h := math.Inf(1)
		if j.vs[i].rate > 0 && dem[i] > 0 {
			h = caps[i].at(ps[i]) / dem[i]
		}
		hs = append(hs, h)
	}
	for range 4 * len(ps) * maxFill {
		b, least := -1, math.Inf(1)
		for i, h := range hs {
			if h < least {
				b, least = i, h
			}
		}
		if b < 0 {
			break
		}
		v, p := &j.vs[b], ps[b]
		q := above(v.units, p)
		if q > lim.hi[b] || q > v.maxPar && v.maxPar > 0 || lim.step > 0 && q > int(math.Ceil(float64(v.cur)*lim.step)) ||
			sc[b].ineffective > 0 && q > sc[b].ineffective || caps[b].at(q) <= caps[b].at(p) {
			break
		}
		if !free && q > most[groupOf(lim.group, b)] {
			break
		}
		ps[b] = q
		hs[b] = caps[b].at(q) / dem[b]
		if from == nil {
			from = append(fromBuf[:0], ps...)
			from[b] = p
		} else if from[b] == 0 {
			from[b] = p
		}
	}
	for i := range from {
		if from[i] != ps[i] {
			if notes == nil {
				notes = make([][]note, len(ps))
			}
			notes[i] = append(notes[i], note{format: "raised %d→%d in slots the job's other vertices already take", ints: [4]int{from[i], ps[i]}, n: 2})
		}
	}
	return notes
}

// maxFill bounds fillFree's steps per vertex.
const maxFill = 16
