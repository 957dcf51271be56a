package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"text/tabwriter"

	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/internal/scorecard"
)

// JSONResult is one run in `flinkscaler bench --json`: its scenario,
// setting and seed, every scorecard figure and the actuation outcomes.
type JSONResult struct {
	Scenario string `json:"scenario"`
	Policy   string `json:"policy"`
	Setting  string `json:"setting"`
	Seed     int64  `json:"seed"`
	scorecard.Summary
	Applied            int `json:"appliedActuations"`
	FailedActuations   int `json:"failedActuations"`
	TimedOutActuations int `json:"timedOutActuations"`
}

// JSONReport is the document `flinkscaler bench --json` writes: every run,
// the rows aggregated over seeds, each scenario's Pareto front (the rows'
// names, cheapest first) and ours' targets per scenario (CheckTargets;
// empty when ours did not run).
type JSONReport struct {
	Results []JSONResult        `json:"results"`
	Rows    []Row               `json:"rows"`
	Pareto  map[string][]string `json:"pareto"`
	Targets []Finding           `json:"targets"`
}

// WriteJSON writes the JSONReport of results.
func WriteJSON(w io.Writer, results []Result) error {
	doc := JSONReport{Results: make([]JSONResult, 0, len(results)), Pareto: map[string][]string{}}
	for _, r := range results {
		doc.Results = append(doc.Results, JSONResult{
			Scenario: r.Scenario, Policy: r.Policy, Setting: r.Setting.String(), Seed: r.Seed, Summary: r.Summary,
			Applied: r.Applied, FailedActuations: r.Failed, TimedOutActuations: r.TimedOut,
		})
	}
	doc.Rows = Aggregate(results)
	for _, group := range scenarioRows(doc.Rows) {
		front := []string{}
		for _, row := range frontOf(group) {
			front = append(front, row.Name)
		}
		doc.Pareto[group[0].Scenario] = front
	}
	doc.Targets = CheckTargets(doc.Rows)
	if doc.Targets == nil {
		doc.Targets = []Finding{}
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

// frontOf returns the rows on the front, cheapest first.
func frontOf(group []Row) []Row {
	var out []Row
	for _, row := range group {
		if row.Front {
			out = append(out, row)
		}
	}
	sort.SliceStable(out, func(a, b int) bool { return out[a].Mean["costVsOracle"] < out[b].Mean["costVsOracle"] })
	return out
}

// WriteTables writes one aligned table per scenario, in the order results
// come (RunAll's order groups them by scenario), each row a setting over
// its seeds: means, with the 95th percentile over seeds after a slash where
// the tail matters, and "*" for the Pareto front of cost against p99 lag;
// then, when ours ran, the table of its targets (targetsTable).
func WriteTables(w io.Writer, results []Result) error {
	var b strings.Builder
	rows := Aggregate(results)
	for k, group := range scenarioRows(rows) {
		if k > 0 {
			b.WriteString("\n")
		}
		dur := 0.0
		for _, r := range results {
			if r.Scenario == group[0].Scenario {
				dur = r.Summary.DurationSeconds
				break
			}
		}
		fmt.Fprintf(&b, "scenario %s (%s, %d seeds)\n", group[0].Scenario, fmtDuration(dur), group[0].Seeds)
		b.WriteString(tableOf(group))
		if front := frontOf(group); len(front) > 0 {
			names := make([]string, len(front))
			for i, row := range front {
				names[i] = row.Name
			}
			fmt.Fprintf(&b, "Pareto front (cost vs p99 lag): %s\n", strings.Join(names, ", "))
		}
	}
	if findings := CheckTargets(rows); len(findings) > 0 {
		b.WriteString("\n")
		b.WriteString(targetsTable(findings))
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// targetHeads are the targets table's column heads, in Targets order.
var targetHeads = map[string]string{
	TargetNotDominated:  "not dominated",
	TargetSteadyLag:     "steady p99 ≤ SLO/2",
	TargetLagBack:       "lag back ≤ 3 min",
	TargetRescales:      "rescales/change ≤ 1",
	TargetNoOscillation: "no oscillation",
	TargetCost:          "cost ≤ 1.25×oracle15",
	TargetNoFailed:      "no failed actuation",
	TargetRecovery:      "recovery ≤ 10 SLOs",
}

// targetsTable writes ours' targets, a row per scenario and a column per
// target: "ok", "MISS" or "n/a" (nothing to check on) and the figure
// checked, and a last row counting the scenarios where each target is met
// among those where it applies.
func targetsTable(findings []Finding) string {
	var b strings.Builder
	fmt.Fprintf(&b, "targets of %s (docs/BENCHMARK.md \"Targets\"): ok = met, MISS = not met, with the figure checked:\n", policy.Name)
	b.WriteString("  not dominated: mean cost×oracle, mean p99 lag; baseline settings dominating. steady: mean over seeds of the steady-state\n" +
		"  p99 lag / bound. lag back: p95 over seeds of a run's longest time from a restart to lag < 10 % SLO; slow restarts per run.\n" +
		"  rescales: mean per load change. oscillation: decided flaps (a decision's move undone by a decision within 15 min,\n" +
		"  no load change between) per run; in brackets every flap, Flink's own moves included, and every move undone within\n" +
		"  15 min (oscillations). cost: mean ×oracle15. failed: mean per run.\n" +
		"  recovery: p95 of the longest recovery / bound.\n")
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	head := "scenario\t"
	for _, t := range Targets {
		head += targetHeads[t] + "\t"
	}
	fmt.Fprintln(tw, head)
	met, na := map[string]int{}, map[string]int{}
	scenarios := 0
	for _, fs := range runs(findings, func(a, b Finding) bool { return a.Scenario == b.Scenario }) {
		scenarios++
		line := fs[0].Scenario + "\t"
		for _, t := range Targets {
			i := slices.IndexFunc(fs, func(f Finding) bool { return f.Target == t })
			if i < 0 {
				line += "-\t"
				continue
			}
			switch {
			case fs[i].NotApplicable:
				na[t]++
			case fs[i].Met:
				met[t]++
			}
			line += fs[i].Mark() + " " + fs[i].Figure + "\t"
		}
		fmt.Fprintln(tw, line)
	}
	line := "met on\t"
	for _, t := range Targets {
		if na[t] > 0 {
			line += fmt.Sprintf("%d of %d (%d n/a)\t", met[t], scenarios-na[t], na[t])
			continue
		}
		line += fmt.Sprintf("%d of %d\t", met[t], scenarios)
	}
	fmt.Fprintln(tw, line)
	_ = tw.Flush() // writes to a strings.Builder, which never fails
	return b.String()
}

func tableOf(rows []Row) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "setting\tcost×oracle\t×oracle15\tlag p50\tp95\tp99 s\tlatency p99\tlag∫ s²\tsteady lag\tSLO viol s\trecovery s\tunrec\tbusy>90% s\theadroom p5\trescales\toscill/flaps\tfail/timeout\tfront\t")
	for _, r := range rows {
		m, p := r.Mean, r.P95
		front := ""
		if r.Front {
			front = "*"
		}
		fmt.Fprintf(tw, "%s\t%.2f/%.2f\t%.2f\t%.1f\t%.1f\t%.1f/%.1f\t%.1f\t%.0f\t%.1f\t%.0f/%.0f\t%.0f/%.0f\t%.1f\t%.0f\t%.2f\t%.1f\t%.1f/%.1f\t%.0f/%.0f\t%s\t\n",
			r.Name, m["costVsOracle"], p["costVsOracle"], m["costVsOracle15"],
			m["lagP50Seconds"], m["lagP95Seconds"], m["lagP99Seconds"], p["lagP99Seconds"], m["latencyP99Seconds"],
			m["lagIntegral"], m["steadyLagSeconds"], m["sloViolationSeconds"], p["sloViolationSeconds"],
			m["recoverySeconds"], p["recoveryMaxSeconds"], m["unrecovered"], m["busyHighSeconds"], m["headroomP5"],
			m["rescales"], m["oscillations"], m["flaps"], m["failedActuations"], m["timedOutActuations"], front)
	}
	_ = tw.Flush() // writes to a strings.Builder, which never fails
	return b.String()
}

func fmtDuration(sec float64) string {
	h, m := int(sec)/3600, int(sec)%3600/60
	if h > 0 {
		return fmt.Sprintf("%dh%02dm", h, m)
	}
	return fmt.Sprintf("%dm%02ds", m, int(sec)%60)
}
