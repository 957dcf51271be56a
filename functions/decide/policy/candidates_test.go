package policy

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/slots"
)

// TestFillFree: constant-noise's first scale-up. Sized at the +30 % level,
// Map 5 carries 1.40× the demand and Sink 2 only 1.32×, on 5 shared slots;
// Sink 3 costs no slot more, so the candidate takes it (then Map limits the
// headroom and its next size needs a sixth slot). Nothing is raised in
// dedicated slots, in a candidate that does not scale up, or past the step
// cap.
func TestFillFree(t *testing.T) {
	const offered = 60.8e3
	j := jobView{offered: offered, vs: []vertexView{
		{id: "src", source: true, cur: 2, rate: 60e3, est: estimate{in: offered}},
		{id: "map", cur: 2, rate: 18650, est: estimate{in: offered}},
		{id: "sink", cur: 2, rate: 40e3, est: estimate{in: offered}},
	}}
	sc := []scaling{{a: 0.9}, {a: 0.9}, {a: 0.9}}
	dem := []float64{offered, offered, offered}
	lim := limits{lo: []int{1, 1, 1}, hi: []int{128, 128, 128}, layout: slots.Layout{PerTaskManager: 1}, ids: []string{"src", "map", "sink"}}
	fill := func(lim limits, ps ...int) ([]int, [][]string) {
		notes := fillFree(ps, j, lim, dem, sc, newCapMemos(j, sc), nil)
		if notes == nil {
			return ps, nil
		}
		texts := make([][]string, len(notes))
		for i, ns := range notes {
			for _, n := range ns {
				texts[i] = append(texts[i], n.String())
			}
		}
		return ps, texts
	}

	ps, notes := fill(lim, 2, 5, 2)
	require.Equal(t, []int{2, 5, 3}, ps)
	require.Empty(t, notes[0])
	require.Empty(t, notes[1])
	require.Equal(t, []string{"raised 2→3 in slots the job's other vertices already take"}, notes[2])
	caps := newCapMemos(j, sc)
	require.InDelta(t, 0.40, headroomOf(ps, j, dem, caps), 0.01)
	require.InDelta(t, 0.32, headroomOf([]int{2, 5, 2}, j, dem, caps), 0.01)

	ded := lim
	ded.layout.Dedicated = true
	ps, notes = fill(ded, 2, 5, 2)
	require.Equal(t, []int{2, 5, 2}, ps)
	require.Nil(t, notes)

	ps, _ = fill(lim, 2, 2, 2)
	require.Equal(t, []int{2, 2, 2}, ps, "no scale-up: nothing raised")

	capped := lim
	capped.step = 1.2 // Sink 2→3 is within ceil(2 × 1.2)
	ps, _ = fill(capped, 2, 5, 2)
	require.Equal(t, []int{2, 5, 3}, ps)
	capped.step = 1
	ps, _ = fill(capped, 2, 5, 2)
	require.Equal(t, []int{2, 5, 2}, ps, "never past the step cap")
	bounded := lim
	bounded.hi = []int{128, 128, 2}
	ps, _ = fill(bounded, 2, 5, 2)
	require.Equal(t, []int{2, 5, 2}, ps, "never above the vertex's bound")
}

// A note reads as fmt.Sprintf of its format and arguments.
func TestNoteText(t *testing.T) {
	for _, c := range []struct {
		n    note
		want string
	}{
		{note{format: "bounded to [%d, %d]", ints: [4]int{2, 64}, n: 2}, "bounded to [2, 64]"},
		{note{format: "aligned %d→%d (%d of %d key groups per subtask)", ints: [4]int{5, 4, 32, 128}, n: 4}, "aligned 5→4 (32 of 128 key groups per subtask)"},
		{note{format: "step capped at ×%g", f: 1.5, n: -1}, "step capped at ×1.5"},
		{note{format: "reactive mode: %d like every vertex", ints: [4]int{7}, n: 1}, "reactive mode: 7 like every vertex"},
		{note{format: "capped by maxTaskManagers"}, "capped by maxTaskManagers"},
	} {
		t.Run(c.want, func(t *testing.T) {
			require.Equal(t, c.want, c.n.String())
			require.Equal(t, "x; "+c.want, string(c.n.appendTo([]byte("x; "))))
		})
	}
}

// TestFillFreeStepKeepsNeed: raising one vertex of ps from ps[b] to q
// leaves need (slots and TaskManagers) unchanged exactly when q is at most
// the largest parallelism of b's slot-sharing group (groupMost), which is
// all fillFree's steps check; over every ps in 1..4 for four vertices,
// three group assignments and five layouts.
func TestFillFreeStepKeepsNeed(t *testing.T) {
	assigns := [][]int{nil, {0, 1, 0, 1}, {0, 1, 2, 2}}
	layouts := []slots.Layout{{PerTaskManager: 1}, {PerTaskManager: 2}, {PerTaskManager: 3, Standby: 1}, {PerTaskManager: 4}, {PerTaskManager: 2, Standby: 2}}
	for _, group := range assigns {
		groups := 0
		for _, g := range group {
			groups = max(groups, g+1)
		}
		for _, layout := range layouts {
			lim := limits{layout: layout, group: group, groups: groups}
			ps := make([]int, 4)
			for n := range 256 {
				for i := range ps {
					ps[i] = 1 + n>>(2*i)&3
				}
				s0, t0 := lim.need(ps)
				most := groupMost(ps, group, groups, nil)
				for b := range ps {
					p := ps[b]
					for q := p + 1; q <= 6; q++ {
						ps[b] = q
						s, tms := lim.need(ps)
						ps[b] = p
						require.Equal(t, q <= most[groupOf(group, b)], s == s0 && tms == t0, "ps %v, vertex %d to %d, groups %v, layout %+v", ps, b, q, group, layout)
					}
				}
			}
		}
	}
}
