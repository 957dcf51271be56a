package demo

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"math"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/scorecard"
	"github.com/flinkscaler/flinkscaler/internal/svgchart"
)

//go:embed report.html.tmpl
var reportHTML string

var reportTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"secs": secs, "clock": clock, "inc": func(i int) int { return i + 1 },
	"f1": func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"f2": func(v float64) string { return fmt.Sprintf("%.2f", v) },
	"f0": func(v float64) string { return fmt.Sprintf("%.0f", v) },
}).Parse(reportHTML))

// palette colours the vertices, in order.
var palette = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"}

// outcomeColor colours a decision's mark by what became of it.
var outcomeColor = map[string]string{
	events.OutcomeApplied: "#2e7d32", events.OutcomeSkipped: "#9e9e9e",
	events.OutcomeFailed: "#c62828", events.OutcomePartial: "#c62828", "": "#f9a825",
}

type plot struct {
	Title  string
	Note   string
	Legend []legend
	SVG    template.HTML
}

type legend struct {
	Color, Name string
	Dashed      bool
}

// WriteReport writes the self-contained HTML report of a run: the summary,
// plots of load, parallelism per vertex, TaskManagers and lag with every
// decision marked, and the decisions with their outcomes.
func WriteReport(w io.Writer, o *Outcome, s Summary) error {
	data := struct {
		S         Summary
		O         *Outcome
		Generated string
		Plots     []plot
		Decisions []Decision
	}{s, o, time.Now().UTC().Format(time.RFC1123), plots(o), o.Decisions}
	if err := reportTmpl.Execute(w, data); err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	return nil
}

func plots(o *Outcome) []plot {
	marks := decisionMarks(o.Decisions)
	return []plot{loadPlot(o, marks), parallelismPlot(o, marks), taskManagerPlot(o, marks), lagPlot(o, marks)}
}

func loadPlot(o *Outcome, marks []svgchart.Mark) plot {
	c := svgchart.Chart{End: o.Simulated, Marks: marks, Labels: true}
	c.Lines = []svgchart.Line{{Color: "#37474f", Points: svgchart.Bucketed(o.Series.Samples, func(x scorecard.Sample) float64 { return x.OfferedRate }, false)}}
	c.YMax = svgchart.Headroom(svgchart.MaxOf(c.Lines))
	return plot{Title: "Offered load (records/s)", Note: "numbered lines mark decisions: green applied, grey skipped, red failed, amber still in flight",
		Legend: []legend{{Color: "#37474f", Name: "offered to the sources"}}, SVG: template.HTML(c.SVG())}
}

func parallelismPlot(o *Outcome, marks []svgchart.Mark) plot {
	ss := o.Series.Samples
	c := svgchart.Chart{End: o.Simulated, Marks: marks}
	var lg []legend
	for i, name := range o.Series.Vertices {
		col := palette[i%len(palette)]
		c.Lines = append(c.Lines,
			svgchart.Line{Color: col, Step: true, Points: svgchart.Steps(ss, func(x scorecard.Sample) float64 { return at(x.Parallelism, i) })},
			svgchart.Line{Color: col, Step: true, Dashed: true, Points: svgchart.Steps(ss, func(x scorecard.Sample) float64 { return at(x.OracleParallelism, i) })})
		lg = append(lg, legend{Color: col, Name: name})
	}
	c.YMax = svgchart.Headroom(svgchart.MaxOf(c.Lines))
	return plot{Title: "Parallelism per vertex", Note: "dashed: the oracle's (the fewest subtasks that sustain the load at that instant)",
		Legend: lg, SVG: template.HTML(c.SVG())}
}

func taskManagerPlot(o *Outcome, marks []svgchart.Mark) plot {
	ss := o.Series.Samples
	perTM := float64(max(o.Scenario.Cluster.SlotsPerTaskManager, 1))
	c := svgchart.Chart{End: o.Simulated, Marks: marks}
	c.Lines = []svgchart.Line{
		{Color: "#6a1b9a", Step: true, Points: svgchart.Steps(ss, func(x scorecard.Sample) float64 { return float64(x.TaskManagers) })},
		{Color: "#6a1b9a", Step: true, Dashed: true, Points: svgchart.Steps(ss, func(x scorecard.Sample) float64 { return math.Ceil(float64(x.OracleSlots) / perTM) })},
	}
	c.YMax = svgchart.Headroom(svgchart.MaxOf(c.Lines))
	return plot{Title: "TaskManagers", Legend: []legend{{Color: "#6a1b9a", Name: "requested"}, {Color: "#6a1b9a", Name: "the oracle's", Dashed: true}},
		SVG: template.HTML(c.SVG())}
}

func lagPlot(o *Outcome, marks []svgchart.Mark) plot {
	slo := o.Scenario.SLO.MaxLagSeconds
	c := svgchart.Chart{End: o.Simulated, Marks: marks, Unit: "s"}
	c.Lines = []svgchart.Line{
		{Color: "#c62828", Dashed: true, Points: []svgchart.Point{{X: 0, Y: slo}, {X: o.Simulated, Y: slo}}},
		{Color: "#ef6c00", Points: svgchart.Bucketed(o.Series.Samples, func(x scorecard.Sample) float64 { return x.LagSeconds }, true)},
	}
	c.YMax = svgchart.Headroom(svgchart.MaxOf(c.Lines))
	return plot{Title: "Lag (pending records ÷ offered rate)",
		Legend: []legend{{Color: "#ef6c00", Name: "lag"}, {Color: "#c62828", Name: fmt.Sprintf("SLO %gs", slo), Dashed: true}},
		SVG:    template.HTML(c.SVG())}
}

func decisionMarks(ds []Decision) []svgchart.Mark {
	marks := make([]svgchart.Mark, len(ds))
	for i, d := range ds {
		outcome := d.Outcome
		if outcome == "" {
			outcome = "no result yet"
		}
		marks[i] = svgchart.Mark{X: d.Elapsed, Color: outcomeColor[d.Outcome], Label: fmt.Sprint(i + 1),
			Title: fmt.Sprintf("#%d at %s: %s (%s)", i+1, clock(d.Elapsed), d.Changes, outcome)}
	}
	return marks
}

// at is xs[i] as a float, 0 when out of range.
func at(xs []int, i int) float64 {
	if i < len(xs) {
		return float64(xs[i])
	}
	return 0
}
