package policy

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/slots"
)

// FuzzShape checks shape's invariants on arbitrary targets: every target
// within its bounds (in reactive mode within its key groups); within the step cap when the current parallelism is
// within the bounds; a changed keyed target aligned (no fewer key groups on
// the busiest subtask with one subtask less), except where a bound or the
// cap forces it; reactive targets equal; the TaskManager cap met unless
// every vertex is at 1.
func FuzzShape(f *testing.F) {
	f.Add(64, 10, 100, 2.0, 1, 200, false, 0)
	f.Add(3, 40, 128, 32.0, 2, 30, true, 5)
	f.Add(7, 1, 0, 1.5, 1, 7, false, 3)
	f.Fuzz(func(t *testing.T, cur, want, units int, step float64, lo, hi int, reactive bool, maxTMs int) {
		cur, want, units = 1+abs(cur)%300, abs(want)%1000, abs(units)%400
		lo, hi = 1+abs(lo)%50, 1+abs(hi)%400
		lo = min(lo, hi)
		if !(step > 1 && step < 100) {
			step = 0
		}
		maxTMs = abs(maxTMs) % 50
		j := jobView{vs: []vertexView{
			{id: "a", name: "a", source: true, cur: cur, maxPar: 400},
			{id: "b", name: "b", cur: cur, maxPar: max(units, 1), units: units, inputs: []int{0}},
		}}
		lim := limits{lo: []int{1, lo}, hi: []int{400, hi}, step: step, reactive: reactive, maxTMs: maxTMs,
			layout: slots.Layout{PerTaskManager: 1}, ids: []string{"a", "b"}}
		ps, _, _ := shape([]int{cur, want}, j, lim, ^uint64(0), nil, nil)
		for i, p := range ps {
			require.GreaterOrEqual(t, p, 1)
			if !reactive && !(maxTMs > 0) {
				require.GreaterOrEqual(t, p, lim.lo[i], "vertex %d: %v", i, ps)
			}
			if reactive {
				// one parallelism for all: only key groups bound it
				require.LessOrEqual(t, p, j.vs[i].maxPar, "vertex %d: %v", i, ps)
			} else {
				require.LessOrEqual(t, p, max(lim.hi[i], 1), "vertex %d: %v", i, ps)
			}
		}
		b := ps[1]
		inBounds := cur >= lo && cur <= hi
		if step > 0 && inBounds && !reactive && maxTMs == 0 {
			require.LessOrEqual(t, float64(b), float64(cur)*step+1, "up cap: %v", ps)
			require.GreaterOrEqual(t, b, min(max(int(float64(cur)/step), 1), cur), "down cap: %v", ps)
		}
		if b != cur && units > 0 && b < units && b > lo && !reactive && maxTMs == 0 && step == 0 {
			require.Equal(t, alignDown(units, b), b, "aligned: %v", ps)
		}
		if reactive {
			all := max(ps[0], ps[1])
			for i, p := range ps {
				require.Equal(t, min(all, j.vs[i].maxPar), p, "reactive: %v", ps)
			}
		}
		if maxTMs > 0 && !(ps[0] == 1 && ps[1] == 1) {
			require.LessOrEqual(t, lim.taskManagers(ps), maxTMs, "TaskManager cap: %v", ps)
		}
	})
}

func abs(x int) int {
	if x < 0 {
		return -x
	}
	return x
}

// The step cap applies after alignment: 64 subtasks of 100 key groups asked
// for 10 with a ×/÷2 cap go to 34 (3 key groups on the busiest, aligned
// within the cap), not to 25 (÷2.56).
func TestShapeAlignsWithinTheStepCap(t *testing.T) {
	j := jobView{vs: []vertexView{{id: "k", name: "k", cur: 64, maxPar: 100, units: 100}}}
	lim := limits{lo: []int{1}, hi: []int{100}, step: 2, layout: slots.Layout{PerTaskManager: 1}, ids: []string{"k"}}
	ps, notes, _ := shape([]int{10}, j, lim, ^uint64(0), nil, nil)
	require.Equal(t, []int{34}, ps, notes)
	require.Equal(t, alignDown(100, 34), 34)
}

// In reactive mode a target is the slots of the TaskManagers it asks for:
// 20 asked of vertices with 128 key groups aligns to 19 (7 key
// groups on the busiest subtask either way), which ten 2-slot
// TaskManagers run at 20, as Flink's reactive scheduler runs every vertex
// at the slots there are; a vertex's key groups still bound it.
func TestShapeReactiveRunsAtTheSlots(t *testing.T) {
	j := jobView{vs: []vertexView{
		{id: "s", name: "s", source: true, cur: 6, maxPar: 128, units: 128},
		{id: "k", name: "k", cur: 6, maxPar: 128, units: 128, inputs: []int{0}},
		{id: "w", name: "w", cur: 6, maxPar: 12, inputs: []int{1}},
	}}
	lim := limits{lo: []int{1, 1, 1}, hi: []int{128, 128, 12}, reactive: true,
		layout: slots.Layout{PerTaskManager: 2}, ids: []string{"s", "k", "w"}}
	ps, notes, _ := shape([]int{20, 20, 20}, j, lim, ^uint64(0), nil, nil)
	require.Equal(t, []int{20, 20, 12}, ps, notes)
	require.Equal(t, 10, lim.taskManagers(ps))

	// with dedicated slots the slots are not every vertex's: unchanged
	lim.layout.Dedicated = true
	ps, notes, _ = shape([]int{20, 20, 20}, j, lim, ^uint64(0), nil, nil)
	require.Equal(t, []int{19, 19, 12}, ps, notes)
}
