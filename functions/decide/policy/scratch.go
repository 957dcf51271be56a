package policy

import "sync"

// scratch holds the buffers one decision's weighing works in: the vertex
// views and their inputs (observe), the efficiencies (scalingFor), the
// bounds (limitsFor), the capacity memos (newCapMemos), the candidates'
// targets (propose), the evaluations (evaluateAll) and the demand at the
// forecast. None of them outlives the decision: the Output carries only
// what decision(), afterDecision and the gates build afresh (strings,
// maps, the new window), never a view, candidate or evaluation. Decide
// takes one from scratchPool and puts it back when it returns, so a
// decision allocates them only when the pool is empty (~12 KB of the
// ~21 KB a decision allocated; the GC's pace follows bytes).
//
// Each part is taken at most once per decision (views, weighing): a
// second observe or weigh in the same decision (a failover's fold, then
// the job's own weighing) allocates its own, so two weighings alive at
// once never share a buffer. A nil *scratch (a gateInput built without
// one) allocates everything.
type scratch struct {
	viewsTaken, weighTaken bool

	vs      []vertexView
	spreads []moments
	ups     [][]int
	upAll   []int
	scs     []scaling
	lims    []int
	ids     []string
	memos   []capMemo
	caps    []*capMemo
	// tables are kept from one decision to the next (capTable).
	tables []capTable
	ints   []int
	cands  []candidate
	evs    []evaluation
	dem    []float64
	down   []float64
}

var scratchPool = sync.Pool{New: func() any { return new(scratch) }}

// takeScratch is a scratch from the pool, nothing taken yet.
func takeScratch() *scratch {
	s := scratchPool.Get().(*scratch)
	s.viewsTaken, s.weighTaken = false, false
	return s
}

// release returns s to the pool; nothing of the decision may use it after.
func (s *scratch) release() { scratchPool.Put(s) }

// views is s for observe, nil once taken (or when s is nil).
func (s *scratch) views() *scratch {
	if s == nil || s.viewsTaken {
		return nil
	}
	s.viewsTaken = true
	return s
}

// weighing is s for one weighing, nil once taken (or when s is nil).
func (s *scratch) weighing() *scratch {
	if s == nil || s.weighTaken {
		return nil
	}
	s.weighTaken = true
	return s
}

// zeroed is *buf resliced to n zero values with room for c (at least n),
// grown when it has not.
func zeroed[T any](buf *[]T, n, c int) []T {
	c = max(c, n)
	if cap(*buf) < c {
		*buf = make([]T, c)
	}
	out := (*buf)[:n:c]
	clear(out)
	return out
}
