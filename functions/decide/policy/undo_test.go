package policy

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/slots"
)

// A scale-down that lowers what the last decision raised, within 15 min,
// on a load that moved the job's need by less than a TaskManager, waits
// while holding the spare to the window's end costs less than a restart;
// it is made, with the price named, when holding costs more; anything
// else is not an undo.
func TestUndoOf(t *testing.T) {
	at := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	cfg := Defaults()
	lim := limits{layout: slots.Layout{PerTaskManager: 4}, ids: []string{"src", "sess"}}
	j := jobView{offered: 30e3, vs: []vertexView{{id: "src", cur: 2}, {id: "sess", cur: 8}}}
	st := State{Rescale: &Rescale{At: at, Applied: at.Add(time.Minute),
		From: map[string]int{"src": 2, "sess": 4}, Targets: map[string]int{"src": 2, "sess": 8}, Offered: 42e3, Need: 5}}
	down := evaluation{candidate: candidate{ps: []int{2, 4}, headroom: 0}, paid: 4}
	now := at.Add(6*time.Minute + 30*time.Second)

	// 42k → 30k rec/s moves a need of 5 slots by 1.4: less than a
	// TaskManager's 4. Holding 4 slots 8m30s (2040 slot-s) is less than
	// a restart: 51 s × (20 × 5 + 8 slots idle) = 5508 slot-s.
	u := undoOf(down, st, j, lim, 5, 51*time.Second, cfg, now)
	require.True(t, u.undoes)
	require.InDelta(t, 2040, u.hold, 1e-6)
	require.InDelta(t, 5508, u.price, 1e-6)
	wait, note := awaitUndo(down, u)
	require.Contains(t, wait, "would undo the scale-up made 6m30s ago on the same load")
	require.Empty(t, note)

	// a dearer spare (the drain's 36 slots) is released, the price named
	big := j
	big.vs = []vertexView{{id: "src", cur: 2}, {id: "sess", cur: 40}}
	st2 := st
	rs := *st.Rescale
	rs.Targets = map[string]int{"src": 2, "sess": 40}
	st2.Rescale = &rs
	u = undoOf(down, st2, big, lim, 5, 51*time.Second, cfg, now)
	require.True(t, u.undoes)
	wait, note = awaitUndo(down, u)
	require.Empty(t, wait)
	require.Contains(t, note, "it undoes the scale-up made 6m30s ago on the same load, priced at a restart")

	// not an undo: after the window, on a load that moved a TaskManager,
	// before the scale-up ran, a scale-up, keep, a vertex not raised
	require.False(t, undoOf(down, st, j, lim, 5, time.Minute, cfg, at.Add(undoWindow)).undoes)
	moved := j
	moved.offered = 80e3
	require.False(t, undoOf(down, st, moved, lim, 5, time.Minute, cfg, now).undoes)
	pending := st
	r := *st.Rescale
	r.Applied = time.Time{}
	pending.Rescale = &r
	require.False(t, undoOf(down, pending, j, lim, 5, time.Minute, cfg, now).undoes)
	require.False(t, undoOf(evaluation{candidate: candidate{ps: []int{2, 10}, headroom: 0}, rises: true}, st, j, lim, 5, time.Minute, cfg, now).undoes)
	require.False(t, undoOf(evaluation{candidate: candidate{ps: []int{2, 8}, headroom: -1}}, st, j, lim, 5, time.Minute, cfg, now).undoes)
	require.False(t, undoOf(evaluation{candidate: candidate{ps: []int{1, 8}, headroom: 0}, paid: 8}, st, j, lim, 5, time.Minute, cfg, now).undoes)
	require.False(t, undoOf(down, State{}, j, lim, 5, time.Minute, cfg, now).undoes)
}
