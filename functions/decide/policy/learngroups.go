package policy

import (
	"maps"
	"slices"
	"strconv"
	"strings"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/slots"
)

// HeldSlots is one reading of the slots a job held (slots in use) at the
// parallelism it ran at (vertex id → parallelism), taken where
// holdsMoreSlots may compare them (heldSlots).
type HeldSlots struct {
	P     map[string]int `json:"p"`
	Slots int            `json:"slots"`
}

// maxHeld is how many readings (distinct parallelisms) State.Held keeps.
const maxHeld = 8

// maxLayouts bounds the slot-sharing layouts learnGroups tries; a job with
// more (about a dozen vertices with joins) learns nothing and its slots
// are counted per vertex once its groups are found hidden.
const maxLayouts = 1 << 16

// withHeld is held with the reading (p, n) added: a reading at the same
// parallelism replaced, the oldest dropped past maxHeld.
func withHeld(held []HeldSlots, p map[string]int, n int) ([]HeldSlots, bool) {
	i := slices.IndexFunc(held, func(h HeldSlots) bool { return maps.Equal(h.P, p) })
	if i >= 0 && held[i].Slots == n {
		return held, false
	}
	out := make([]HeldSlots, 0, len(held)+1)
	for k, h := range held {
		if k != i {
			out = append(out, h)
		}
	}
	out = append(out, HeldSlots{P: maps.Clone(p), Slots: n})
	if len(out) > maxHeld {
		out = out[len(out)-maxHeld:]
	}
	return out, true
}

// maxGroupings is how many groupings learnGroups keeps: past it, the
// finest grouping every one of them coarsens stands for them all.
const maxGroupings = 8

// learnGroups is the slot-sharing groups the slots a job held (held) show,
// for a job whose groups are hidden (Flink before 1.20 reports none and
// none are declared): of the groupings Flink allows — each vertex in the
// default group, in a group of one of its inputs (Flink's inheritance) or
// in a group of its own — those whose count matches every reading, each
// as vertex id → group name with the default group left out
// (slots.Layout.Groups). The policy counts the most any of them needs
// (slots.Layout.Alternatives), never short of the true grouping's count
// when it is one of them. Past maxGroupings they are replaced by the
// finest grouping every one coarsens (two vertices share a group only if
// they do in each), which counts at least as many. Nil when none matches
// every reading (other jobs' slots in a session cluster, a grouping
// outside those rules) or there are too many to try: the slots are then
// counted per vertex.
//
// clicks-sessionize-session-118 at [2 3 2 1] holds 6 slots: source and
// enrich share a group, or enrich and window; counted as the most of the
// two, [2 6 6 3] needs 15 slots (as it does) where every vertex apart
// needs 17.
func learnGroups(vs []events.VertexSnapshot, held []HeldSlots) []map[string]string {
	n := len(vs)
	if n == 0 || len(held) == 0 {
		return nil
	}
	index := make(map[string]int, n)
	for i, v := range vs {
		index[v.ID] = i
	}
	inputs := make([][]int, n)
	for i, v := range vs {
		for _, in := range v.Inputs {
			if k, ok := index[in.ID]; ok && k < i {
				inputs[i] = append(inputs[i], k)
			}
		}
	}
	ps := make([][]int, len(held))
	for r, h := range held {
		ps[r] = make([]int, n)
		for i, v := range vs {
			p, ok := h.P[v.ID]
			if !ok {
				return nil
			}
			ps[r][i] = p
		}
	}
	label := make([]int, n)
	// together[a][b]: a and b share a group in every matching grouping
	together := make([][]bool, n)
	for i := range together {
		together[i] = make([]bool, n)
	}
	var found [][]int
	seen := map[string]bool{}
	matched, tried := 0, 0
	top := make([]int, n+1)
	var try func(i, labels int) bool
	try = func(i, labels int) bool {
		if i == n {
			tried++
			if tried > maxLayouts {
				return false
			}
			for r := range ps {
				clear(top[:labels])
				for k, p := range ps[r] {
					top[label[k]] = max(top[label[k]], p)
				}
				sum := 0
				for _, t := range top[:labels] {
					sum += t
				}
				if sum != held[r].Slots {
					return true
				}
			}
			key := canonical(label)
			if seen[key] {
				return true
			}
			seen[key] = true
			if len(found) <= maxGroupings {
				found = append(found, slices.Clone(label))
			}
			for a := range n {
				for b := range n {
					same := label[a] == label[b]
					together[a][b] = same && (matched == 0 || together[a][b])
				}
			}
			matched++
			return true
		}
		// 0 is the default group; labels counts the groups in use (0 included)
		opts := []int{0, labels}
		for _, k := range inputs[i] {
			if l := label[k]; l != 0 && !slices.Contains(opts, l) {
				opts = append(opts, l)
			}
		}
		for _, l := range opts {
			label[i] = l
			next := labels
			if l == labels {
				next++
			}
			if !try(i+1, next) {
				return false
			}
		}
		return true
	}
	if !try(0, 1) || matched == 0 {
		return nil
	}
	if matched > maxGroupings {
		meet := make([]int, n)
		for i := range meet {
			meet[i] = -1
		}
		next := 0
		for i := range n {
			if meet[i] < 0 {
				for k := i; k < n; k++ {
					if together[i][k] {
						meet[k] = next
					}
				}
				next++
			}
		}
		found = [][]int{meet}
	}
	out := make([]map[string]string, 0, len(found))
	for _, f := range found {
		groups := make(map[string]string, n)
		for i, l := range f {
			if l > 0 {
				groups[vs[i].ID] = learnedPrefix + strconv.Itoa(l)
			}
		}
		out = append(out, groups)
	}
	return out
}

// canonical names a grouping by its labels renumbered in order of first
// use: two labelings of one grouping name it alike.
func canonical(label []int) string {
	renum := map[int]int{}
	b := make([]byte, 0, 2*len(label))
	for _, l := range label {
		r, ok := renum[l]
		if !ok {
			r = len(renum)
			renum[l] = r
		}
		b = append(strconv.AppendInt(b, int64(r), 10), ',')
	}
	return string(b)
}

// heldSlots is the slots the running job holds (slots in use) and the
// parallelism it runs at, where they can be compared with its layout
// (holdsMoreSlots' reading, which says why each case is none): ok false
// otherwise. In session mode other jobs' slots are in use too; a reading
// past every vertex in its own slots holds others' and is none.
func heldSlots(g gateInput, st State) (map[string]int, int, bool) {
	s := g.snap
	switch {
	case s.JobState != "RUNNING" || s.RunningSince == nil:
		return nil, 0, false
	case g.now.Sub(slotsHeldSince(st, *s.RunningSince)) < hiddenGroupsAfter && !watchedFromItsStart(st):
		return nil, 0, false
	case st.Rescale != nil && st.Rescale.Applied.IsZero():
		return nil, 0, false
	case !slices.ContainsFunc(s.Vertices, func(v events.VertexSnapshot) bool { return v.SlotSharingGroup == "" }):
		return nil, 0, false
	case g.cfg.Mode != events.ModeAdaptive && g.cfg.Mode != events.ModeKEDA && g.cfg.Mode != events.ModeSession:
		return nil, 0, false
	case g.cfg.Slots.Sharing == events.SlotSharingDedicated || s.SlotsTotal <= 0:
		return nil, 0, false
	}
	used, sum := s.SlotsTotal-s.SlotsFree, 0
	cur := make(map[string]int, len(s.Vertices))
	for _, v := range s.Vertices {
		cur[v.ID] = v.Parallelism
		sum += v.Parallelism
	}
	if used <= 0 || g.cfg.Mode == events.ModeSession && used > sum {
		return nil, 0, false
	}
	return cur, used, true
}

// groupsHidden reports whether the job's groups are all hidden: no vertex
// reports one and none is declared, so learnGroups may learn them.
func groupsHidden(cfg Config, s *events.Snapshot) bool {
	return len(cfg.Slots.Groups) == 0 && !slices.ContainsFunc(s.Vertices, func(v events.VertexSnapshot) bool { return v.SlotSharingGroup != "" })
}

// layoutIn is the job's slot layout as the policy counts it in st:
// layoutFor's, with the slot-sharing groups learned from the slots the job
// held (State.Groups) in place of every vertex apart once its groups were
// found hidden (State.Unfit).
func layoutIn(cfg Config, snap *events.Snapshot, st State) slots.Layout {
	l := layoutFor(cfg, snap, st.Unfit)
	if st.Unfit && len(st.Groups) > 0 && cfg.Slots.Sharing != events.SlotSharingDedicated {
		l.Dedicated, l.Groups, l.Alternatives = false, st.Groups[0], st.Groups[1:]
	}
	return l
}

// learnedNote ends the rationale of a decision sized by the slot-sharing
// groups learned from the slots the job held.
const learnedNote = "; slots counted by the slot-sharing groups the slots the job held show (the job holds more slots than one group needs and " +
	"reports none: declare them in slots.groups to skip the learning)"

// countsMore reports whether layout a counts more slots for targets than b
// (false when either count fails).
func countsMore(a, b slots.Layout, targets map[string]int) bool {
	na, errA := a.Needed(targets)
	nb, errB := b.Needed(targets)
	return errA == nil && errB == nil && na > nb
}

// countsLearned reports whether l counts the slot-sharing groups learned from
// the slots the job held (layoutIn).
func countsLearned(l slots.Layout) bool {
	for _, g := range l.Groups {
		if strings.HasPrefix(g, learnedPrefix) {
			return true
		}
	}
	return false
}

// learnedPrefix begins the name of a group learnGroups learned.
const learnedPrefix = "learned-"
