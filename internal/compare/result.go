package compare

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"slices"
	"text/tabwriter"

	"github.com/flinkscaler/flinkscaler/internal/bench"
	"github.com/flinkscaler/flinkscaler/internal/scorecard"
)

// measure is one row of the side-by-side table.
type measure struct {
	name  string
	get   func(scorecard.Summary) float64
	unit  string // "s", "×" or ""
	lower bool   // lower is better; false: no verdict
}

var measures = []measure{
	{"decisions", func(s scorecard.Summary) float64 { return float64(s.Decisions) }, "", false},
	{"rescales (restarts)", func(s scorecard.Summary) float64 { return float64(s.Rescales) }, "", true},
	{"SLO violation", func(s scorecard.Summary) float64 { return s.SLOViolationSeconds }, "s", true},
	{"max lag", func(s scorecard.Summary) float64 { return s.MaxLagSeconds }, "s", true},
	{"slot-seconds", func(s scorecard.Summary) float64 { return s.SlotSeconds }, "", true},
	{"cost vs oracle", func(s scorecard.Summary) float64 { return s.CostVsOracle }, "×", true},
	{"convergence (mean)", func(s scorecard.Summary) float64 { return s.ConvergeSeconds }, "s", true},
	{"convergence (max)", func(s scorecard.Summary) float64 { return s.ConvergeMaxSeconds }, "s", true},
	{"unconverged load changes", func(s scorecard.Summary) float64 { return float64(s.Unconverged) }, "", true},
	{"downtime", func(s scorecard.Summary) float64 { return s.DowntimeSeconds }, "s", true},
}

// Print writes both scorecards side by side, the runs' statuses and the
// options each changed.
func (r *Result) Print(w io.Writer) {
	fmt.Fprintf(w, "\n%s on %s, timing %s\n", r.Scenario, r.Engine, r.Timing)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprint(tw, "\t")
	for _, run := range r.Runs {
		fmt.Fprintf(tw, "%s\t", run.Policy)
	}
	fmt.Fprint(tw, "better\t\n")
	for _, m := range measures {
		fmt.Fprintf(tw, "%s\t", m.name)
		for _, run := range r.Runs {
			fmt.Fprintf(tw, "%s\t", cell(run, m))
		}
		fmt.Fprintf(tw, "%s\t\n", r.better(m))
	}
	fmt.Fprint(tw, "status\t")
	for _, run := range r.Runs {
		fmt.Fprintf(tw, "%s\t", run.Status)
	}
	fmt.Fprint(tw, "\t\n")
	_ = tw.Flush() // an in-memory tabwriter over w: w's error shows on the next write
	for _, run := range r.Runs {
		fmt.Fprintf(w, "%s: %s", run.Policy, run.What)
		if run.Error != "" {
			fmt.Fprintf(w, "\n  %s: %s", run.Status, run.Error)
		}
		fmt.Fprintln(w)
	}
	r.printTargets(w)
	for _, run := range r.Runs {
		if run.Baseline != nil {
			run.Baseline.Print(w)
		}
	}
	if opts := r.Options(); len(opts) > 0 {
		fmt.Fprintln(w, "changed from the shipped defaults:")
		for _, o := range opts {
			fmt.Fprintf(w, "  %-26s %-60s %s (default %s)\n", o.Policy, o.Key, o.Value, o.Default)
		}
	}
}

// targetsNote heads the targets in the text and the HTML report.
const targetsNote = "the benchmark's targets (docs/BENCHMARK.md \"Targets\") checked on this one run, as `flinkscaler bench` checks them over seeds, with the peer's run in place of the baselines' sweep"

// printTargets writes ours' targets, one line each: ok, MISS or n/a, the
// target and the figure checked, and how many were met; or why there are
// none.
func (r *Result) printTargets(w io.Writer) {
	i := slices.IndexFunc(r.Runs, func(run Run) bool { return run.Policy == PolicyOurs })
	if i < 0 {
		return
	}
	fs := r.Runs[i].Targets
	if len(fs) == 0 {
		fmt.Fprintf(w, "targets: not checked, %s did not run to the end\n", PolicyOurs)
		return
	}
	fmt.Fprintf(w, "targets of %s: %s:\n", PolicyOurs, targetsNote)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	for _, f := range fs {
		fmt.Fprintf(tw, "  %s\t%s\t%s\t\n", f.Mark(), f.Target, f.Figure)
	}
	_ = tw.Flush() // an in-memory tabwriter over w: w's error shows on the next write
	met, applicable := tally(fs)
	fmt.Fprintf(w, "  met %d of %d", met, applicable)
	if n := len(fs) - applicable; n > 0 {
		fmt.Fprintf(w, " (%d n/a)", n)
	}
	fmt.Fprintln(w)
}

// tally counts the findings met among those that apply.
func tally(fs []bench.Finding) (met, applicable int) {
	for _, f := range fs {
		if f.NotApplicable {
			continue
		}
		applicable++
		if f.Met {
			met++
		}
	}
	return met, applicable
}

// Options lists every changed option: the scenario's, then each run's.
func (r *Result) Options() []Option {
	out := append([]Option(nil), r.Common...)
	for _, run := range r.Runs {
		out = append(out, run.Options...)
	}
	return out
}

// cell is a run's value of m, or a dash when the run has no scorecard.
func cell(run Run, m measure) string {
	if run.Card == nil {
		return "—"
	}
	return format(m.get(*run.Card), m.unit)
}

func format(v float64, unit string) string {
	switch {
	case math.IsInf(v, 1):
		return "∞"
	case unit == "×":
		return fmt.Sprintf("%.2f×", v)
	case unit == "s":
		return fmt.Sprintf("%.0fs", v)
	case v == math.Trunc(v):
		return fmt.Sprintf("%.0f", v)
	}
	return fmt.Sprintf("%.1f", v)
}

// better names the run that did better on m, "tie", or "" when there is
// no verdict (no lower-is-better measure, or a run without a scorecard or
// that did not run to the end).
func (r *Result) better(m measure) string {
	if !m.lower || len(r.Runs) != 2 {
		return ""
	}
	a, b := r.Runs[0], r.Runs[1]
	if !comparable(a) || !comparable(b) {
		return ""
	}
	x, y := m.get(*a.Card), m.get(*b.Card)
	switch {
	case math.Abs(x-y) <= 1e-9*math.Max(math.Abs(x), math.Abs(y)):
		return "tie"
	case x < y:
		return a.Policy
	}
	return b.Policy
}

// comparable: the run ran to the end (scaling or not).
func comparable(run Run) bool {
	return run.Card != nil && (run.Status == StatusOK || run.Status == StatusNeverScaled)
}

// jsonRun is one line of --json.
type jsonRun struct {
	Scenario string `json:"scenario"`
	Engine   string `json:"engine"`
	Timing   string `json:"timing"`
	Run
	Common    []Option       `json:"scenarioChanges,omitempty"`
	Decisions []jsonDecision `json:"decisions,omitempty"`
}

// jsonDecision is one decision of a run in --json, as the report's
// "Decisions" table shows it: when (job time), the parallelism it set per
// vertex it names, the TaskManagers it asked for (ours only) and its
// rationale (ours: the trade it made; the peer: its request and the
// JobManager's answer).
type jsonDecision struct {
	AtSeconds    float64        `json:"atSeconds"`
	Targets      map[string]int `json:"targets,omitempty"`
	TaskManagers int            `json:"taskManagers,omitempty"`
	Rationale    string         `json:"rationale,omitempty"`
}

// decisions lists a run's recorded decisions for --json, vertices named
// as the run's series names them.
func decisions(s scorecard.Series) []jsonDecision {
	var out []jsonDecision
	for _, d := range s.Decisions {
		jd := jsonDecision{AtSeconds: d.Elapsed.Seconds(), TaskManagers: d.TaskManagers.Target, Rationale: d.Rationale}
		for v, t := range d.Targets {
			if t > 0 && v < len(s.Vertices) {
				if jd.Targets == nil {
					jd.Targets = map[string]int{}
				}
				jd.Targets[s.Vertices[v]] = t
			}
		}
		out = append(out, jd)
	}
	return out
}

// WriteJSON writes one JSON object per run, one per line, each with the
// run's decisions and their rationales.
func (r *Result) WriteJSON(w io.Writer) error {
	enc := json.NewEncoder(w)
	for _, run := range r.Runs {
		line := jsonRun{Scenario: r.Scenario, Engine: r.Engine, Timing: r.Timing, Run: run, Common: r.Common, Decisions: decisions(run.Series)}
		if err := enc.Encode(line); err != nil {
			return err
		}
	}
	return nil
}
