package policy

import (
	"encoding/json"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
)

// outputJSON is out as JSON: everything a decision hands on.
func outputJSON(t *testing.T, out Output) string {
	t.Helper()
	b, err := json.Marshal(out)
	require.NoError(t, err)
	return string(b)
}

// A decision's output shares nothing with the scratch the next decisions
// reuse: it reads the same after them, and equals the same input decided
// again.
func TestDecideOutputOutlivesItsScratch(t *testing.T) {
	core := benchInput(t, Ours{}, false, nil)
	blind := benchInput(t, Ours{}, true, nil)
	first := Decide(core)
	require.NotNil(t, first.Decision)
	want := outputJSON(t, first)
	for range 3 {
		other := Decide(blind)
		require.NotEqual(t, want, outputJSON(t, other), "the other job decides differently")
	}
	require.Equal(t, want, outputJSON(t, first), "unchanged after later decisions")
	require.Equal(t, want, outputJSON(t, Decide(core)), "decided again, the same")
}

// Decisions made at once on several goroutines each take their own
// scratch: every one equals the same input decided alone.
func TestDecideConcurrently(t *testing.T) {
	ins := []Input{benchInput(t, Ours{}, false, nil), benchInput(t, Ours{}, true, nil),
		benchInput(t, Ours{}, true, map[string]Ceiling{"v0": {PerSubtask: 10000, P: 4, Run: t0}})}
	want := make([]string, len(ins))
	for i, in := range ins {
		want[i] = outputJSON(t, Decide(in))
	}
	const workers, rounds = 4, 20
	got := make([][]Output, workers)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for r := range rounds {
				got[w] = append(got[w], Decide(ins[(w+r)%len(ins)]))
			}
		})
	}
	wg.Wait()
	for w := range workers {
		for r, out := range got[w] {
			require.Equal(t, want[(w+r)%len(ins)], outputJSON(t, out), "worker %d round %d", w, r)
		}
	}
}

// Each part of a scratch is taken once per decision: a second observe or
// weighing in the same decision gets none (and allocates its own).
func TestScratchIsTakenOnce(t *testing.T) {
	s := takeScratch()
	defer s.release()
	require.Same(t, s, s.views())
	require.Nil(t, s.views(), "views taken")
	require.Same(t, s, s.weighing())
	require.Nil(t, s.weighing(), "weighing taken")
	var none *scratch
	require.Nil(t, none.views())
	require.Nil(t, none.weighing())
	again := takeScratch()
	defer again.release()
	require.NotNil(t, again.views(), "a scratch taken from the pool has nothing taken")
}

// zeroed hands out zero values, whatever the buffer held before.
func TestZeroedClearsReusedBuffers(t *testing.T) {
	var buf []float64
	a := zeroed(&buf, 3, 0)
	a[0], a[1], a[2] = 1, 2, 3
	b := zeroed(&buf, 2, 5)
	require.Equal(t, []float64{0, 0}, b)
	require.GreaterOrEqual(t, cap(b), 5)
}

// A decision allocates its weighing's buffers only when the pool is
// empty: BenchmarkDecideCore's job allocated 39 times a decision before
// the pool, 28 with it. Its vertices have just saturated, so since
// session 27 the decision also stores their saturated readings in the
// state it returns (learnSaturation: the scaling map and a slice per
// vertex read, 37 in all), once a rate window in a running job.
func TestDecideReusesItsBuffers(t *testing.T) {
	if raceDetector {
		t.Skip("the race detector makes sync.Pool drop items at random")
	}
	in := benchInput(t, Ours{}, false, nil)
	allocs := testing.AllocsPerRun(200, func() { Decide(in) })
	require.LessOrEqual(t, allocs, 38.0)
	in.State.Scaling = Decide(in).NewState.Scaling
	require.NotNil(t, Decide(in).Decision)
	allocs = testing.AllocsPerRun(200, func() { Decide(in) })
	require.LessOrEqual(t, allocs, 32.0, "the readings stored, a decision within the rate window stores none")
}

// A scratch's capacity tables, kept from one decision to the next, give
// what capacityAt and scaling.spread work out afresh; a job needing more
// tables than are left drops the old ones first, and one needing more
// than maxCapTables gets tables of its own.
func TestCapTablesKeptAcrossDecisions(t *testing.T) {
	job := func(cur int, n int) (jobView, []scaling) {
		j := jobView{vs: make([]vertexView, n)}
		sc := make([]scaling, n)
		for i := range n {
			j.vs[i] = vertexView{cur: cur + i%3, rate: 1000, units: 0}
			sc[i] = scaling{a: 0.7 + 0.01*float64(i%5), sd: 0.1}
		}
		return j, sc
	}
	s := new(scratch)
	check := func(j jobView, sc []scaling) {
		caps := newCapMemosIn(s, j, sc)
		for i := range j.vs {
			for p := 1; p < 30; p++ {
				require.Equal(t, capacityAt(&j.vs[i], p, sc[i].a), caps[i].at(p), "vertex %d p %d", i, p)
				require.Equal(t, sc[i].spread(&j.vs[i], p), sc[i].sd*caps[i].logRatio(p), "vertex %d p %d", i, p)
			}
		}
	}
	j, sc := job(4, 10)
	check(j, sc)
	kept := len(s.tables)
	require.Positive(t, kept)
	check(j, sc) // the same tables, already filled
	require.Equal(t, kept, len(s.tables), "found again")
	j2, sc2 := job(7, 12)
	check(j2, sc2) // more than the room left: dropped, then made
	require.LessOrEqual(t, len(s.tables), maxCapTables)
	j3, sc3 := job(2, 40)
	for i := range sc3 {
		sc3[i].a = 0.5 + 0.005*float64(i) // 40 distinct, more than maxCapTables
	}
	check(j3, sc3)
	require.LessOrEqual(t, len(s.tables), maxCapTables)
}
