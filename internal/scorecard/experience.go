package scorecard

import (
	"math"
	"slices"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/flinksim"
)

// Parameters of the measures of what users feel (docs/BENCHMARK.md
// "Metrics").
const (
	// HeadroomOracle is the spare capacity the second oracle keeps on every
	// vertex: it is sized for the offered rate ÷ (1 − HeadroomOracle).
	HeadroomOracle = 0.15
	// SteadyAfter is how long after a load change or the end of a restart
	// the job counts as steady again; SteadyBefore how long before the next
	// load change it stops counting (the smoothed level lags the load).
	SteadyAfter  = 5 * time.Minute
	SteadyBefore = SmoothWindow
	// RecoveredFraction of the SLO is the lag below which a restart counts
	// as recovered: the backlog it left is drained.
	RecoveredFraction = 0.1
	// BusyHigh is the busy fraction above which the busiest subtask has
	// too little headroom to absorb a burst.
	BusyHigh = 0.9
	// OscillationWindow is how soon a move must be undone to count as an
	// oscillation.
	OscillationWindow = 15 * time.Minute
	// RecoveryTarget is how soon after a restart the lag should be back
	// under RecoveredFraction of the SLO; a restart that takes longer is a
	// slow recovery.
	RecoveryTarget = 3 * time.Minute
)

// Experience is what a run felt like to the job's users. Lag statistics
// cover finite lags (lag is infinite only with a backlog and no offered
// load, which no shipped scenario has).
type Experience struct {
	// LagP50/P95/P99Seconds are time-weighted percentiles of the lag.
	LagP50Seconds float64 `json:"lagP50Seconds"`
	LagP95Seconds float64 `json:"lagP95Seconds"`
	LagP99Seconds float64 `json:"lagP99Seconds"`
	// LatencyP99Seconds is the record-weighted 99th percentile: each
	// instant's lag weighted by the records offered then, so it is the
	// lag that 1 % of the records found ahead of them or worse.
	LatencyP99Seconds float64 `json:"latencyP99Seconds"`
	// LagIntegral is ∫ lag dt, in lag-seconds × seconds.
	LagIntegral float64 `json:"lagIntegral"`
	// SteadyLagSeconds is the time-weighted mean lag over the steady part
	// of the run (SteadyAfter a load change or restart, SteadyBefore the
	// next change), SteadySeconds how long that part was.
	SteadyLagSeconds float64 `json:"steadyLagSeconds"`
	SteadySeconds    float64 `json:"steadySeconds"`
	// SteadyLagP99Seconds is the time-weighted 99th percentile of the lag
	// over that steady part (0 when the run has none).
	SteadyLagP99Seconds float64 `json:"steadyLagP99Seconds"`
	// RecoverySeconds is the mean, over restarts, of the time from the
	// restart until the job runs with lag under RecoveredFraction of the
	// SLO; RecoveryMaxSeconds the largest. A restart not recovered before
	// the next restart or the end counts the time until then and is
	// counted in Unrecovered.
	RecoverySeconds    float64 `json:"recoverySeconds"`
	RecoveryMaxSeconds float64 `json:"recoveryMaxSeconds"`
	Unrecovered        int     `json:"unrecovered"`
	// LagBackMaxSeconds is the longest time, over restarts, from a restart
	// until the job runs with lag under RecoveredFraction of the SLO,
	// through any later restart (a restart of any cause: rescale or
	// failover). SlowRecoveries counts the restarts that took longer than
	// RecoveryTarget; a restart not back by the end counts the time until
	// the end, and as slow only once that exceeds RecoveryTarget.
	LagBackMaxSeconds float64 `json:"lagBackMaxSeconds"`
	SlowRecoveries    int     `json:"slowRecoveries"`
	// BusyHighSeconds is the running time with the busiest subtask above
	// BusyHigh; HeadroomP5 the time-weighted 5th percentile of 1 − the
	// busiest subtask's busy fraction while running.
	BusyHighSeconds float64 `json:"busyHighSeconds"`
	HeadroomP5      float64 `json:"headroomP5"`
	// Oscillations counts moves of a vertex's parallelism undone (moved
	// the other way) within OscillationWindow, whether or not the load
	// changed in between. Flaps counts those of them with no load change
	// (Summary.LoadChanges' definition) between the move and the move
	// that undid it: the policy changed its mind on the same load, where
	// an oscillation may be the load's own spike followed up and down.
	Oscillations int `json:"oscillations"`
	Flaps        int `json:"flaps"`
	// DecidedOscillations and DecidedFlaps count those of them whose two
	// moves a decision caused (decided): the policy changed its mind. A
	// move is decided when it goes toward the target of the latest
	// decision naming the vertex that the vertex has not reached yet; the
	// others are Flink's own (a failed-over job run on the slots left, and
	// back when the replacement registers), counted in Oscillations and
	// Flaps and not here.
	DecidedOscillations int `json:"decidedOscillations"`
	DecidedFlaps        int `json:"decidedFlaps"`
}

// experience computes the Experience of the recorded samples; changes are
// the load changes' sample indices.
func (r *Recorder) experience(changes []int) Experience {
	ss := r.samples
	var e Experience
	var lag, rec, head, steadyLags []weighted
	steady := r.steadyMask(changes)
	steadyLag := 0.0
	for i, s := range ss {
		dt := weight(ss, i)
		if s.State == flinksim.StateRunning {
			head = append(head, weighted{1 - s.MaxBusy, dt})
			if s.MaxBusy > BusyHigh {
				e.BusyHighSeconds += dt
			}
		}
		if math.IsInf(s.LagSeconds, 0) || math.IsNaN(s.LagSeconds) {
			continue
		}
		lag = append(lag, weighted{s.LagSeconds, dt})
		rec = append(rec, weighted{s.LagSeconds, dt * s.OfferedRate})
		e.LagIntegral += dt * s.LagSeconds
		if steady[i] {
			e.SteadySeconds += dt
			steadyLag += dt * s.LagSeconds
			steadyLags = append(steadyLags, weighted{s.LagSeconds, dt})
		}
	}
	e.LagP50Seconds = quantile(lag, 0.50)
	e.LagP95Seconds = quantile(lag, 0.95)
	e.LagP99Seconds = quantile(lag, 0.99)
	e.LatencyP99Seconds = quantile(rec, 0.99)
	e.HeadroomP5 = quantile(head, 0.05)
	e.SteadyLagP99Seconds = quantile(steadyLags, 0.99)
	if e.SteadySeconds > 0 {
		e.SteadyLagSeconds = steadyLag / e.SteadySeconds
	}
	r.recoveries(&e)
	r.lagBack(&e)
	e.Oscillations, e.Flaps, e.DecidedOscillations, e.DecidedFlaps = r.oscillations(changes)
	return e
}

// weighted is a value and the weight it carries in a quantile.
type weighted struct{ v, w float64 }

// quantile is the smallest value whose cumulative weight reaches q of the
// total (0 for no weight). It sorts xs.
func quantile(xs []weighted, q float64) float64 {
	total := 0.0
	for _, x := range xs {
		total += x.w
	}
	if total <= 0 {
		return 0
	}
	slices.SortFunc(xs, func(a, b weighted) int {
		switch {
		case a.v < b.v:
			return -1
		case a.v > b.v:
			return 1
		}
		return 0
	})
	acc := 0.0
	for _, x := range xs {
		acc += x.w
		if acc >= q*total {
			return x.v
		}
	}
	return xs[len(xs)-1].v
}

// steadyMask marks the samples at least SteadyAfter after the last load
// change (the start counts as one) and after the last restart ended, and
// at least SteadyBefore before the next load change.
func (r *Recorder) steadyMask(changes []int) []bool {
	ss := r.samples
	out := make([]bool, len(ss))
	var calm time.Duration // elapsed from which the job is calm again
	next := 1              // index into changes of the next load change
	for i, s := range ss {
		for next < len(changes) && changes[next] <= i {
			calm = max(calm, ss[changes[next]].Elapsed+SteadyAfter)
			next++
		}
		if i == 0 {
			calm = s.Elapsed + SteadyAfter
		}
		if s.State != flinksim.StateRunning {
			calm = max(calm, s.Elapsed+SteadyAfter)
		}
		upcoming := next < len(changes) && ss[changes[next]].Elapsed-s.Elapsed < SteadyBefore
		out[i] = s.Elapsed >= calm && !upcoming
	}
	return out
}

// recoveries fills the recovery fields: each restart (an increase of
// Restarts) runs until lag is under RecoveredFraction of the SLO while
// running.
func (r *Recorder) recoveries(e *Experience) {
	ss := r.samples
	limit := RecoveredFraction * r.sc.SLO.MaxLagSeconds
	n, total := 0, 0.0
	start := -1
	finish := func(end time.Duration, ok bool) {
		secs := (end - ss[start].Elapsed).Seconds()
		n++
		total += secs
		e.RecoveryMaxSeconds = max(e.RecoveryMaxSeconds, secs)
		if !ok {
			e.Unrecovered++
		}
	}
	for i := 1; i < len(ss); i++ {
		s := ss[i]
		if s.Restarts > ss[i-1].Restarts {
			if start >= 0 {
				finish(s.Elapsed, false)
			}
			start = i
		}
		if start >= 0 && s.State == flinksim.StateRunning && s.LagSeconds <= limit {
			finish(s.Elapsed, true)
			start = -1
		}
	}
	if start >= 0 {
		finish(ss[len(ss)-1].Elapsed, false)
	}
	if n > 0 {
		e.RecoverySeconds = total / float64(n)
	}
}

// lagBack fills LagBackMaxSeconds and SlowRecoveries: every restart (an
// increase of Restarts) waits for the first running sample with lag under
// RecoveredFraction of the SLO, however many restarts come between.
func (r *Recorder) lagBack(e *Experience) {
	ss := r.samples
	limit := RecoveredFraction * r.sc.SLO.MaxLagSeconds
	var waiting []time.Duration // restarts not back yet, by elapsed
	finish := func(now time.Duration) {
		for _, at := range waiting {
			took := now - at
			e.LagBackMaxSeconds = max(e.LagBackMaxSeconds, took.Seconds())
			if took > RecoveryTarget {
				e.SlowRecoveries++
			}
		}
		waiting = waiting[:0]
	}
	for i := 1; i < len(ss); i++ {
		s := ss[i]
		for range s.Restarts - ss[i-1].Restarts {
			waiting = append(waiting, s.Elapsed)
		}
		if len(waiting) > 0 && s.State == flinksim.StateRunning && s.LagSeconds <= limit {
			finish(s.Elapsed)
		}
	}
	if len(ss) > 0 {
		finish(ss[len(ss)-1].Elapsed)
	}
}

// oscillations counts parallelism moves of a vertex that the vertex's next
// move reverses within OscillationWindow, and of them the flaps: those with
// no load change (changes: sample indices) after the move and at or before
// the one that reversed it; then the same two counts over the reversals
// whose two moves were decided (Experience.DecidedFlaps).
func (r *Recorder) oscillations(changes []int) (count, flaps, decidedCount, decidedFlaps int) {
	ss := r.samples
	if len(ss) == 0 {
		return 0, 0, 0, 0
	}
	type move struct {
		at      time.Duration
		i       int
		dir     int
		decided bool
	}
	n := len(ss[0].Parallelism)
	last := make([]move, n)
	pending := make([]int, n) // target of the latest decision not reached yet (0: none)
	next := 0                 // the next decision to take into pending
	for i := 1; i < len(ss); i++ {
		for ; next < len(r.decisions) && r.decisions[next].Elapsed <= ss[i].Elapsed; next++ {
			for v, t := range r.decisions[next].Targets {
				if v < n && t > 0 {
					pending[v] = t
				}
			}
		}
		for v := range min(len(ss[i].Parallelism), len(ss[i-1].Parallelism), n) {
			from, to := ss[i-1].Parallelism[v], ss[i].Parallelism[v]
			if to == from {
				continue
			}
			dir := sign(to - from)
			decided := pending[v] > 0 && sign(pending[v]-from) == dir
			if to == pending[v] {
				pending[v] = 0
			}
			if last[v].dir == -dir && ss[i].Elapsed-last[v].at <= OscillationWindow {
				flap := !slices.ContainsFunc(changes, func(c int) bool { return c > last[v].i && c <= i })
				both := decided && last[v].decided
				count, flaps = count+1, flaps+b2i(flap)
				decidedCount, decidedFlaps = decidedCount+b2i(both), decidedFlaps+b2i(both && flap)
			}
			last[v] = move{ss[i].Elapsed, i, dir, decided}
		}
	}
	return count, flaps, decidedCount, decidedFlaps
}

func sign(x int) int {
	switch {
	case x > 0:
		return 1
	case x < 0:
		return -1
	}
	return 0
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}
