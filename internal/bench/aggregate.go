package bench

import (
	"math"
	"slices"
)

// Measure is one figure of a run that the report aggregates over seeds.
type Measure struct {
	Key string // JSON name, as in scorecard.Summary where it comes from
	Get func(Result) float64
}

// Measures are the aggregated figures, in the JSON's order
// (docs/BENCHMARK.md "Metrics" defines each).
var Measures = []Measure{
	{"costVsOracle", func(r Result) float64 { return r.Summary.CostVsOracle }},
	{"costVsOracle15", func(r Result) float64 { return r.Summary.CostVsOracle15 }},
	{"slotSeconds", func(r Result) float64 { return r.Summary.SlotSeconds }},
	{"lagP50Seconds", func(r Result) float64 { return r.Summary.LagP50Seconds }},
	{"lagP95Seconds", func(r Result) float64 { return r.Summary.LagP95Seconds }},
	{"lagP99Seconds", func(r Result) float64 { return r.Summary.LagP99Seconds }},
	{"latencyP99Seconds", func(r Result) float64 { return r.Summary.LatencyP99Seconds }},
	{"lagIntegral", func(r Result) float64 { return r.Summary.LagIntegral }},
	{"steadyLagSeconds", func(r Result) float64 { return r.Summary.SteadyLagSeconds }},
	{"steadyLagP99Seconds", func(r Result) float64 { return r.Summary.SteadyLagP99Seconds }},
	{"steadySeconds", func(r Result) float64 { return r.Summary.SteadySeconds }},
	{"steadyRun", func(r Result) float64 { return b2f(r.Summary.SteadySeconds > 0) }},
	{"maxLagSeconds", func(r Result) float64 { return r.Summary.MaxLagSeconds }},
	{"sloViolationSeconds", func(r Result) float64 { return r.Summary.SLOViolationSeconds }},
	{"recoverySeconds", func(r Result) float64 { return r.Summary.RecoverySeconds }},
	{"recoveryMaxSeconds", func(r Result) float64 { return r.Summary.RecoveryMaxSeconds }},
	{"unrecovered", func(r Result) float64 { return float64(r.Summary.Unrecovered) }},
	{"lagBackMaxSeconds", func(r Result) float64 { return r.Summary.LagBackMaxSeconds }},
	{"slowRecoveries", func(r Result) float64 { return float64(r.Summary.SlowRecoveries) }},
	{"busyHighSeconds", func(r Result) float64 { return r.Summary.BusyHighSeconds }},
	{"headroomP5", func(r Result) float64 { return r.Summary.HeadroomP5 }},
	{"rescales", func(r Result) float64 { return float64(r.Summary.Rescales) }},
	{"parallelismChanges", func(r Result) float64 { return float64(r.Summary.ParallelismChanges) }},
	{"loadChanges", func(r Result) float64 { return float64(r.Summary.LoadChanges) }},
	{"rescalesPerLoadChange", func(r Result) float64 { return r.Summary.RescalesPerLoadChange }},
	{"oscillations", func(r Result) float64 { return float64(r.Summary.Oscillations) }},
	{"flaps", func(r Result) float64 { return float64(r.Summary.Flaps) }},
	{"decidedOscillations", func(r Result) float64 { return float64(r.Summary.DecidedOscillations) }},
	{"decidedFlaps", func(r Result) float64 { return float64(r.Summary.DecidedFlaps) }},
	{"convergeSeconds", func(r Result) float64 { return r.Summary.ConvergeSeconds }},
	{"downtimeSeconds", func(r Result) float64 { return r.Summary.DowntimeSeconds }},
	{"failedActuations", func(r Result) float64 { return float64(r.Failed) }},
	{"timedOutActuations", func(r Result) float64 { return float64(r.TimedOut) }},
}

// b2f is 1 for true, 0 for false: the mean of such a measure over seeds is
// the share of seeds where it held.
func b2f(b bool) float64 {
	if b {
		return 1
	}
	return 0
}

// Row is one setting on one scenario, aggregated over its seeds: the mean
// and the 95th percentile (nearest rank: with 10 seeds, the largest) of
// every Measure.
type Row struct {
	Scenario string  `json:"scenario"`
	Setting  Setting `json:"setting"`
	Name     string  `json:"name"`
	Seeds    int     `json:"seeds"`
	// SLOSeconds is the scenario's slo.maxLagSeconds.
	SLOSeconds float64            `json:"sloSeconds"`
	Mean       map[string]float64 `json:"mean"`
	P95        map[string]float64 `json:"p95"`
	// Front marks the settings on the scenario's Pareto front of mean
	// cost (vs the oracle) against mean p99 lag; the oracle takes no part.
	Front bool `json:"front"`
	// Errors are the first actuation failures over the seeds.
	Errors []string `json:"errors,omitempty"`
}

// Aggregate groups RunAll's results by scenario and setting, in their
// order, and marks each scenario's Pareto front.
func Aggregate(results []Result) []Row {
	var rows []Row
	for _, rs := range runs(results, func(a, b Result) bool { return a.Scenario == b.Scenario && a.Setting == b.Setting }) {
		rows = append(rows, aggregate(rs))
	}
	for _, group := range scenarioRows(rows) {
		markFront(group)
	}
	return rows
}

func aggregate(rs []Result) Row {
	row := Row{Scenario: rs[0].Scenario, Setting: rs[0].Setting, Name: rs[0].Setting.String(), Seeds: len(rs),
		SLOSeconds: rs[0].SLOSeconds,
		Mean:       map[string]float64{}, P95: map[string]float64{}}
	vals := make([]float64, len(rs))
	for _, m := range Measures {
		sum := 0.0
		for k, r := range rs {
			vals[k] = m.Get(r)
			sum += vals[k]
		}
		slices.Sort(vals)
		row.Mean[m.Key] = sum / float64(len(rs))
		row.P95[m.Key] = vals[int(math.Ceil(0.95*float64(len(vals))))-1]
	}
	for _, r := range rs {
		for _, e := range r.Errors {
			if len(row.Errors) < 5 {
				row.Errors = append(row.Errors, e)
			}
		}
	}
	return row
}

// scenarioRows splits rows into runs of one scenario each.
func scenarioRows(rows []Row) [][]Row {
	return runs(rows, func(a, b Row) bool { return a.Scenario == b.Scenario })
}

// runs splits xs into maximal runs of neighbours that same groups together.
func runs[T any](xs []T, same func(a, b T) bool) [][]T {
	var out [][]T
	for i := 0; i < len(xs); {
		j := i
		for j < len(xs) && same(xs[j], xs[i]) {
			j++
		}
		out = append(out, xs[i:j])
		i = j
	}
	return out
}

// Dominates reports whether a is at least as good as b on mean cost and
// mean p99 lag and better on one of them.
func Dominates(a, b Row) bool {
	ac, al := a.Mean["costVsOracle"], a.Mean["lagP99Seconds"]
	bc, bl := b.Mean["costVsOracle"], b.Mean["lagP99Seconds"]
	return ac <= bc && al <= bl && (ac < bc || al < bl)
}

// markFront sets Front on the rows no other row dominates.
func markFront(group []Row) {
	for i := range group {
		if group[i].Setting.Policy == OracleName {
			continue
		}
		group[i].Front = !slices.ContainsFunc(group, func(o Row) bool {
			return o.Setting.Policy != OracleName && Dominates(o, group[i])
		})
	}
}
