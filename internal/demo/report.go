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
)

//go:embed report.html.tmpl
var reportHTML string

var reportTmpl = template.Must(template.New("report").Funcs(template.FuncMap{
	"secs": secs, "clock": clock, "inc": func(i int) int { return i + 1 },
	"f1": func(v float64) string { return fmt.Sprintf("%.1f", v) },
	"f2": func(v float64) string { return fmt.Sprintf("%.2f", v) },
	"f0": func(v float64) string { return fmt.Sprintf("%.0f", v) },
}).Parse(reportHTML))

// maxPoints bounds the points of a continuous series in a plot; longer runs
// are averaged (load) or maxed (lag) over buckets.
const maxPoints = 1500

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

func loadPlot(o *Outcome, marks []mark) plot {
	c := chart{end: o.Simulated, marks: marks, labels: true}
	c.lines = []line{{color: "#37474f", pts: bucketed(o.Series.Samples, func(x scorecard.Sample) float64 { return x.OfferedRate }, false)}}
	c.ymax = headroom(maxOf(c.lines))
	return plot{Title: "Offered load (records/s)", Note: "numbered lines mark decisions: green applied, grey skipped, red failed, amber still in flight",
		Legend: []legend{{Color: "#37474f", Name: "offered to the sources"}}, SVG: template.HTML(c.svg())}
}

func parallelismPlot(o *Outcome, marks []mark) plot {
	ss := o.Series.Samples
	c := chart{end: o.Simulated, marks: marks}
	var lg []legend
	for i, name := range o.Series.Vertices {
		col := palette[i%len(palette)]
		c.lines = append(c.lines,
			line{color: col, step: true, pts: steps(ss, func(x scorecard.Sample) float64 { return at(x.Parallelism, i) })},
			line{color: col, step: true, dashed: true, pts: steps(ss, func(x scorecard.Sample) float64 { return at(x.OracleParallelism, i) })})
		lg = append(lg, legend{Color: col, Name: name})
	}
	c.ymax = headroom(maxOf(c.lines))
	return plot{Title: "Parallelism per vertex", Note: "dashed: the oracle's (the fewest subtasks that sustain the load at that instant)",
		Legend: lg, SVG: template.HTML(c.svg())}
}

func taskManagerPlot(o *Outcome, marks []mark) plot {
	ss := o.Series.Samples
	perTM := float64(max(o.Scenario.Cluster.SlotsPerTaskManager, 1))
	c := chart{end: o.Simulated, marks: marks}
	c.lines = []line{
		{color: "#6a1b9a", step: true, pts: steps(ss, func(x scorecard.Sample) float64 { return float64(x.TaskManagers) })},
		{color: "#6a1b9a", step: true, dashed: true, pts: steps(ss, func(x scorecard.Sample) float64 { return math.Ceil(float64(x.OracleSlots) / perTM) })},
	}
	c.ymax = headroom(maxOf(c.lines))
	return plot{Title: "TaskManagers", Legend: []legend{{Color: "#6a1b9a", Name: "requested"}, {Color: "#6a1b9a", Name: "the oracle's", Dashed: true}},
		SVG: template.HTML(c.svg())}
}

func lagPlot(o *Outcome, marks []mark) plot {
	slo := o.Scenario.SLO.MaxLagSeconds
	c := chart{end: o.Simulated, marks: marks, unit: "s"}
	c.lines = []line{
		{color: "#c62828", dashed: true, pts: []point{{0, slo}, {o.Simulated, slo}}},
		{color: "#ef6c00", pts: bucketed(o.Series.Samples, func(x scorecard.Sample) float64 { return x.LagSeconds }, true)},
	}
	c.ymax = headroom(maxOf(c.lines))
	return plot{Title: "Lag (pending records ÷ offered rate)",
		Legend: []legend{{Color: "#ef6c00", Name: "lag"}, {Color: "#c62828", Name: fmt.Sprintf("SLO %gs", slo), Dashed: true}},
		SVG:    template.HTML(c.svg())}
}

func decisionMarks(ds []Decision) []mark {
	marks := make([]mark, len(ds))
	for i, d := range ds {
		outcome := d.Outcome
		if outcome == "" {
			outcome = "no result yet"
		}
		marks[i] = mark{x: d.Elapsed, color: outcomeColor[d.Outcome], label: fmt.Sprint(i + 1),
			title: fmt.Sprintf("#%d at %s: %s (%s)", i+1, clock(d.Elapsed), d.Changes, outcome)}
	}
	return marks
}

// steps are the points where a step series changes value, and the last.
func steps(ss []scorecard.Sample, get func(scorecard.Sample) float64) []point {
	var pts []point
	for i, x := range ss {
		v := get(x)
		if i == 0 || i == len(ss)-1 || v != pts[len(pts)-1].y {
			pts = append(pts, point{x.Elapsed, v})
		}
	}
	return pts
}

// bucketed is a continuous series reduced to at most maxPoints points:
// the mean of each bucket, or its largest value when peak is set (so a lag
// spike is never averaged away).
func bucketed(ss []scorecard.Sample, get func(scorecard.Sample) float64, peak bool) []point {
	k := (len(ss) + maxPoints - 1) / maxPoints
	var pts []point
	for lo := 0; lo < len(ss); lo += k {
		hi := min(lo+k, len(ss))
		agg := 0.0
		for _, x := range ss[lo:hi] {
			if v := get(x); peak {
				agg = max(agg, v)
			} else {
				agg += v / float64(hi-lo)
			}
		}
		pts = append(pts, point{ss[hi-1].Elapsed, agg})
	}
	return pts
}

// maxOf is the largest finite y of the lines.
func maxOf(ls []line) float64 {
	m := 0.0
	for _, l := range ls {
		for _, p := range l.pts {
			if !math.IsInf(p.y, 0) && p.y > m {
				m = p.y
			}
		}
	}
	return m
}

// at is xs[i] as a float, 0 when out of range.
func at(xs []int, i int) float64 {
	if i < len(xs) {
		return float64(xs[i])
	}
	return 0
}
