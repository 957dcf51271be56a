package demo

import (
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/scorecard"
)

// Summary is the end-of-run summary, as printed and as `--json` writes it.
// The scorecard's figures (rescales, max lag, SLO violation, slot-seconds,
// the oracle's and their ratio, …) are inlined under their bench names.
type Summary struct {
	Scenario    string  `json:"scenario"`
	Job         string  `json:"job"`
	Speed       float64 `json:"speed"`
	WallSeconds float64 `json:"wallSeconds"`
	Interrupted bool    `json:"interrupted"`
	scorecard.Summary
	SLOMaxLagSeconds float64 `json:"sloMaxLagSeconds"`
	// Actuations counts results by outcome (applied, skipped, failed,
	// partial); a decision still in flight at the end has none.
	Actuations   map[string]int `json:"actuations"`
	Vertices     []Range        `json:"vertices"`
	TaskManagers Range          `json:"taskManagers"`
	// RejectedEvents counts events a function rejected during the run.
	RejectedEvents int `json:"rejectedEvents"`
	// DecisionList is every decision with its outcome, in order.
	DecisionList []Decision `json:"decisionList"`
	Endpoints    Endpoints  `json:"endpoints"`
	Report       string     `json:"report,omitempty"`
}

// Range is how one count moved during the run.
type Range struct {
	Name    string `json:"name,omitempty"`
	Initial int    `json:"initial"`
	Min     int    `json:"min"`
	Max     int    `json:"max"`
	Final   int    `json:"final"`
}

// Summary summarises the outcome; report is the report's path, if any.
func (o *Outcome) Summary(report string) Summary {
	s := Summary{
		Scenario: o.Scenario.Name, Job: o.Scenario.Job.Name, Speed: o.Speed,
		WallSeconds: o.Wall.Seconds(), Interrupted: o.Interrupted, Summary: o.Card,
		SLOMaxLagSeconds: o.Scenario.SLO.MaxLagSeconds,
		Actuations:       map[string]int{}, RejectedEvents: o.Rejected, Endpoints: o.Endpoints, Report: report,
		DecisionList: append([]Decision{}, o.Decisions...),
	}
	for _, d := range o.Decisions {
		if d.Outcome != "" {
			s.Actuations[d.Outcome]++
		}
	}
	samples := o.Series.Samples
	for i, name := range o.Series.Vertices {
		s.Vertices = append(s.Vertices, rangeOf(name, samples, func(x scorecard.Sample) int { return int(at(x.Parallelism, i)) }))
	}
	s.TaskManagers = rangeOf("", samples, func(x scorecard.Sample) int { return x.TaskManagers })
	return s
}

func rangeOf(name string, samples []scorecard.Sample, get func(scorecard.Sample) int) Range {
	r := Range{Name: name}
	for i, x := range samples {
		v := get(x)
		if i == 0 {
			r.Initial, r.Min, r.Max = v, v, v
		}
		r.Min, r.Max, r.Final = min(r.Min, v), max(r.Max, v), v
	}
	return r
}

// Print writes the summary for people.
func (s Summary) Print(w io.Writer) {
	state := "finished"
	if s.Interrupted {
		state = "interrupted"
	}
	fmt.Fprintf(w, "\nSummary: %s after %s simulated in %s (%g×)\n", state,
		secs(s.DurationSeconds), secs(s.WallSeconds), s.Speed)
	fmt.Fprintf(w, "  decisions        %d (%s)\n", s.Decisions, outcomes(s.Actuations))
	fmt.Fprintf(w, "  rescales         %d job restarts, %s downtime\n", s.Rescales, secs(s.DowntimeSeconds))
	width := len("TaskManagers")
	for _, v := range s.Vertices {
		width = max(width, len([]rune(clip(v.Name, 24))))
	}
	fmt.Fprintf(w, "  parallelism and TaskManagers:\n")
	for _, v := range s.Vertices {
		fmt.Fprintf(w, "    %-*s  %s\n", width, clip(v.Name, 24), v)
	}
	fmt.Fprintf(w, "    %-*s  %s\n", width, "TaskManagers", s.TaskManagers)
	fmt.Fprintf(w, "  max lag          %.1fs (SLO %gs)\n", s.MaxLagSeconds, s.SLOMaxLagSeconds)
	fmt.Fprintf(w, "  SLO violation    %s with lag above %gs\n", secs(s.SLOViolationSeconds), s.SLOMaxLagSeconds)
	fmt.Fprintf(w, "  slot-seconds     %.0f; the oracle's %.0f; ratio %.2f×\n", s.SlotSeconds, s.OracleSlotSeconds, s.CostVsOracle)
	if s.LoadChanges > 0 {
		fmt.Fprintf(w, "  convergence      mean %s, worst %s over %s (%d never settled)\n",
			secs(s.ConvergeSeconds), secs(s.ConvergeMaxSeconds), plural(s.LoadChanges, "load level"), s.Unconverged)
	}
	if s.RejectedEvents > 0 {
		fmt.Fprintf(w, "  rejected events  %d (see flinkscaler.rejected.*)\n", s.RejectedEvents)
	}
	if s.Report != "" {
		fmt.Fprintf(w, "  report           %s\n", s.Report)
	}
}

// String renders a range: its first, lowest, highest and last value.
func (r Range) String() string {
	if r.Min == r.Max {
		return fmt.Sprintf("%d throughout", r.Min)
	}
	return fmt.Sprintf("%d at the start, %d..%d during the run, %d at the end", r.Initial, r.Min, r.Max, r.Final)
}

func outcomes(m map[string]int) string {
	if len(m) == 0 {
		return "none actuated"
	}
	var parts []string
	for _, k := range []string{"applied", "partial", "skipped", "failed"} {
		if m[k] > 0 {
			parts = append(parts, fmt.Sprintf("%d %s", m[k], k))
		}
	}
	return strings.Join(parts, ", ")
}

// secs renders seconds as a rounded duration: 95.4 → 1m35s.
func secs(s float64) string {
	d := time.Duration(s * float64(time.Second))
	if d < time.Minute {
		return d.Round(100 * time.Millisecond).String()
	}
	return d.Round(time.Second).String()
}

func clip(s string, n int) string {
	if r := []rune(s); len(r) > n {
		return string(r[:n-1]) + "…"
	}
	return s
}

// plural renders a count with its noun: "1 load level", "3 load levels".
func plural(n int, noun string) string {
	if n == 1 {
		return "1 " + noun
	}
	return fmt.Sprintf("%d %ss", n, noun)
}
