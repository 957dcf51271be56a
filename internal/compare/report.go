package compare

import (
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/bench"
	"github.com/flinkscaler/flinkscaler/internal/scorecard"
	"github.com/flinkscaler/flinkscaler/internal/svgchart"
)

//go:embed report.html.tmpl
var reportHTML string

var reportTmpl = template.Must(template.New("compare").Parse(reportHTML))

// Colours: the vertices (same in both runs), each run's marks.
var (
	palette   = []string{"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"}
	runColors = []string{"#1565c0", "#e65100"}
)

type plot struct {
	Title, Note string
	Legend      []legend
	SVG         template.HTML
}

type legend struct {
	Color, Name string
	Dashed      bool
}

type row struct {
	Name   string
	Cells  []string
	Better string
}

type decisionRow struct {
	Label, Policy, At, Targets, Rationale string
	elapsed                               time.Duration
}

// WriteReport writes one self-contained HTML page with both runs
// overlaid: the first run solid, the second dashed.
func (r *Result) WriteReport(w io.Writer) error {
	data := struct {
		R                    *Result
		Simulated, Generated string
		Rows                 []row
		Plots                []plot
		Decisions            []decisionRow
		Baseline             *BaselineCheck
		BaselineRows         []baselineRow
		Tolerance            time.Duration
		Targets              []bench.Finding
		TargetsNote          string
		Met, Applicable      int
	}{R: r, Simulated: r.Simulated.String(), Generated: time.Now().UTC().Format(time.RFC1123), Tolerance: MatchTolerance,
		TargetsNote: targetsNote}
	for _, run := range r.Runs {
		if run.Baseline != nil {
			data.Baseline, data.BaselineRows = run.Baseline, run.Baseline.rows()
		}
		if run.Policy == PolicyOurs {
			data.Targets = run.Targets
		}
	}
	data.Met, data.Applicable = tally(data.Targets)
	for _, m := range measures {
		rw := row{Name: m.name, Better: r.better(m)}
		for _, run := range r.Runs {
			rw.Cells = append(rw.Cells, cell(run, m))
		}
		data.Rows = append(data.Rows, rw)
	}
	marks, decisions := r.marks()
	data.Decisions = decisions
	data.Plots = []plot{r.loadPlot(marks), r.parallelismPlot(marks), r.taskManagerPlot(marks), r.lagPlot(marks)}
	if err := reportTmpl.Execute(w, data); err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	return nil
}

// dash: the first run solid, the others dashed.
func dash(i int) bool { return i > 0 }

func (r *Result) chart(marks []svgchart.Mark) svgchart.Chart {
	return svgchart.Chart{End: r.Simulated, Marks: marks}
}

func (r *Result) runLegend(color string) []legend {
	var lg []legend
	for i, run := range r.Runs {
		lg = append(lg, legend{Color: color, Name: run.Policy, Dashed: dash(i)})
	}
	return lg
}

func (r *Result) loadPlot(marks []svgchart.Mark) plot {
	c := r.chart(marks)
	c.Labels = true
	for i, run := range r.Runs {
		c.Lines = append(c.Lines, svgchart.Line{Color: "#37474f", Dashed: dash(i),
			Points: svgchart.Bucketed(run.Series.Samples, func(x scorecard.Sample) float64 { return x.OfferedRate }, false)})
	}
	c.YMax = svgchart.Headroom(svgchart.MaxOf(c.Lines))
	return plot{Title: "Offered load (records/s)", Legend: r.runLegend("#37474f"),
		Note: "same scenario and seed in both runs; marks: decisions, blue " + r.policy(0) + ", orange " + r.policy(1) + " (hover for targets)",
		SVG:  template.HTML(c.SVG())}
}

func (r *Result) parallelismPlot(marks []svgchart.Mark) plot {
	c := r.chart(marks)
	var lg []legend
	for v, name := range r.sc.Job.Vertices {
		col := palette[v%len(palette)]
		for i, run := range r.Runs {
			c.Lines = append(c.Lines, svgchart.Line{Color: col, Step: true, Dashed: dash(i),
				Points: svgchart.Steps(run.Series.Samples, func(x scorecard.Sample) float64 { return at(x.Parallelism, v) })})
		}
		lg = append(lg, legend{Color: col, Name: name.Name})
	}
	c.YMax = svgchart.Headroom(svgchart.MaxOf(c.Lines))
	return plot{Title: "Parallelism per vertex", Legend: lg,
		Note: "solid: " + r.policy(0) + ", dashed: " + r.policy(1), SVG: template.HTML(c.SVG())}
}

func (r *Result) taskManagerPlot(marks []svgchart.Mark) plot {
	c := r.chart(marks)
	for i, run := range r.Runs {
		c.Lines = append(c.Lines, svgchart.Line{Color: "#6a1b9a", Step: true, Dashed: dash(i),
			Points: svgchart.Steps(run.Series.Samples, func(x scorecard.Sample) float64 { return float64(x.TaskManagers) })})
	}
	c.YMax = svgchart.Headroom(svgchart.MaxOf(c.Lines))
	return plot{Title: "TaskManagers (requested)", Legend: r.runLegend("#6a1b9a"), SVG: template.HTML(c.SVG())}
}

func (r *Result) lagPlot(marks []svgchart.Mark) plot {
	slo := r.sc.SLO.MaxLagSeconds
	c := r.chart(marks)
	c.Unit = "s"
	c.Lines = []svgchart.Line{{Color: "#c62828", Dashed: true, Points: []svgchart.Point{{X: 0, Y: slo}, {X: r.Simulated, Y: slo}}}}
	for i, run := range r.Runs {
		c.Lines = append(c.Lines, svgchart.Line{Color: "#ef6c00", Dashed: dash(i),
			Points: svgchart.Bucketed(run.Series.Samples, func(x scorecard.Sample) float64 { return x.LagSeconds }, true)})
	}
	c.YMax = svgchart.Headroom(svgchart.MaxOf(c.Lines))
	lg := append(r.runLegend("#ef6c00"), legend{Color: "#c62828", Name: fmt.Sprintf("SLO %gs", slo), Dashed: true})
	return plot{Title: "Lag (pending records ÷ offered rate)", Legend: lg, SVG: template.HTML(c.SVG())}
}

// marks are both runs' decisions as chart marks and table rows, in time
// order, labelled by run ("A3" = the first run's third decision).
func (r *Result) marks() ([]svgchart.Mark, []decisionRow) {
	var marks []svgchart.Mark
	var rows []decisionRow
	for i, run := range r.Runs {
		for k, d := range run.Series.Decisions {
			label := fmt.Sprintf("%c%d", 'A'+i, k+1)
			targets := r.targets(d)
			marks = append(marks, svgchart.Mark{X: d.Elapsed, Color: runColors[i%len(runColors)], Label: label,
				Title: fmt.Sprintf("%s %s at %s: %s", run.Policy, label, svgchart.Clock(d.Elapsed), targets)})
			rows = append(rows, decisionRow{Label: label, Policy: run.Policy, At: svgchart.Clock(d.Elapsed),
				Targets: targets, Rationale: d.Rationale, elapsed: d.Elapsed})
		}
	}
	sort.SliceStable(rows, func(a, b int) bool { return rows[a].elapsed < rows[b].elapsed })
	return marks, rows
}

func (r *Result) targets(d scorecard.Mark) string {
	var parts []string
	for v, t := range d.Targets {
		if t > 0 && v < len(r.sc.Job.Vertices) {
			parts = append(parts, fmt.Sprintf("%s %d", r.sc.Job.Vertices[v].Name, t))
		}
	}
	if d.TaskManagers.Target > 0 {
		parts = append(parts, fmt.Sprintf("TaskManagers %d", d.TaskManagers.Target))
	}
	return strings.Join(parts, ", ")
}

func (r *Result) policy(i int) string {
	if i < len(r.Runs) {
		return r.Runs[i].Policy
	}
	return ""
}

// at is xs[i] as a float, 0 when out of range.
func at(xs []int, i int) float64 {
	if i < len(xs) {
		return float64(xs[i])
	}
	return 0
}
