package bench

import (
	"fmt"
	"html"
	"io"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	"github.com/flinkscaler/flinkscaler/internal/scorecard"
)

// Plot geometry, in SVG user units.
const (
	plotWidth  = 960
	panelH     = 180
	marginL    = 70
	marginR    = 150
	marginT    = 40
	panelGap   = 40
	maxPoints  = 800
	lagCapSLOs = 5 // the lag axis ends at 5 × the SLO
)

var palette = []string{"#d62728", "#1f77b4", "#2ca02c", "#9467bd", "#ff7f0e", "#7f7f7f", "#8c564b", "#e377c2"}

// WriteSVGs writes two SVGs per scenario into dir (created if needed) and
// returns the files written: <scenario>.svg, the time series of the runs
// that kept theirs (Options.Series), and <scenario>-pareto.svg, every
// setting's mean cost against mean p99 lag with the Pareto front.
func WriteSVGs(dir string, results []Result) ([]string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("create %s: %w", dir, err)
	}
	var files []string
	write := func(name string, draw func(io.Writer) error) error {
		name = filepath.Join(dir, name)
		f, err := os.Create(name)
		if err != nil {
			return fmt.Errorf("create %s: %w", name, err)
		}
		err = draw(f)
		if cerr := f.Close(); err == nil {
			err = cerr
		}
		if err != nil {
			return fmt.Errorf("write %s: %w", name, err)
		}
		files = append(files, name)
		return nil
	}
	rows := scenarioRows(Aggregate(results))
	for k, group := range byScenario(results) {
		var plotted []Result
		for _, r := range group {
			if len(r.Series.Samples) > 0 {
				plotted = append(plotted, r)
			}
		}
		base := fileName(group[0].Scenario)
		if len(plotted) > 0 {
			if err := write(base+".svg", func(w io.Writer) error { return WriteSVG(w, plotted) }); err != nil {
				return files, err
			}
		}
		if err := write(base+"-pareto.svg", func(w io.Writer) error { return WriteParetoSVG(w, rows[k]) }); err != nil {
			return files, err
		}
	}
	return files, nil
}

// WriteParetoSVG plots one scenario's rows: mean cost against the oracle
// (x) and mean p99 lag (y), one labelled dot per setting, the Pareto front
// joined by a line.
func WriteParetoSVG(w io.Writer, rows []Row) error {
	if len(rows) == 0 {
		return nil
	}
	const width, height, left, top, plotW, plotH = 760, 520, 70, 40, 540, 420
	xmax, ymax := 1.0, 1.0
	for _, r := range rows {
		xmax = math.Max(xmax, r.Mean["costVsOracle"])
		ymax = math.Max(ymax, r.Mean["lagP99Seconds"])
	}
	xmax, ymax = xmax*1.05, ymax*1.05
	x := func(v float64) float64 { return left + plotW*v/xmax }
	y := func(v float64) float64 { return top + plotH - plotH*v/ymax }
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="11">`+"\n", width, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/><text x="%d" y="22" font-size="15">%s: cost vs p99 lag (mean over %d seeds)</text>`+"\n",
		left, html.EscapeString(rows[0].Scenario), rows[0].Seeds)
	fmt.Fprintf(&b, `<rect x="%d" y="%d" width="%d" height="%d" fill="none" stroke="#999"/>`+"\n", left, top, plotW, plotH)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="middle">slot-seconds ÷ oracle's (0 … %.2f)</text>`+"\n", left+plotW/2, top+plotH+30, xmax)
	fmt.Fprintf(&b, `<text x="%d" y="%d" text-anchor="end">%.0f s</text><text x="%d" y="%d" text-anchor="end">0</text>`+"\n",
		left-4, top+10, ymax, left-4, top+plotH)
	fmt.Fprintf(&b, `<text x="14" y="%d" transform="rotate(-90 14 %d)" text-anchor="middle">p99 lag (s)</text>`+"\n", top+plotH/2, top+plotH/2)
	front := frontOf(rows)
	if len(front) > 1 {
		var pts strings.Builder
		for _, r := range front {
			fmt.Fprintf(&pts, "%.1f,%.1f ", x(r.Mean["costVsOracle"]), y(r.Mean["lagP99Seconds"]))
		}
		fmt.Fprintf(&b, `<polyline fill="none" stroke="#d62728" stroke-dasharray="4 3" points="%s"/>`+"\n", strings.TrimSpace(pts.String()))
	}
	colors := map[string]string{}
	for i, r := range rows {
		c, ok := colors[r.Setting.Policy]
		if !ok {
			c = palette[len(colors)%len(palette)]
			colors[r.Setting.Policy] = c
		}
		cx, cy := x(r.Mean["costVsOracle"]), y(r.Mean["lagP99Seconds"])
		radius := 4
		if r.Front {
			radius = 6
		}
		fmt.Fprintf(&b, `<circle cx="%.1f" cy="%.1f" r="%d" fill="%s"/>`+"\n", cx, cy, radius, c)
		fmt.Fprintf(&b, `<text x="%.1f" y="%.1f" fill="%s">%s</text>`+"\n", cx+8, cy+4-float64(i%2)*10, c, html.EscapeString(r.Name))
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

var unsafeName = regexp.MustCompile(`[^A-Za-z0-9._-]+`)

func fileName(s string) string { return unsafeName.ReplaceAllString(s, "_") }

// panel is one plot: a value per sample for each line.
type panel struct {
	title string
	max   float64
	lines []line
}

type line struct {
	label string
	ys    []float64
	xs    []float64 // seconds
}

// WriteSVG plots one scenario's runs: offered load, total parallelism (Σ
// over vertices) and lag of every policy over time.
func WriteSVG(w io.Writer, results []Result) error {
	if len(results) == 0 {
		return nil
	}
	load := panel{title: "offered load (records/s)"}
	par := panel{title: "parallelism (Σ over vertices)"}
	slo := results[0].Series.MaxLagSeconds
	lag := panel{title: fmt.Sprintf("lag (s; SLO %.0f s, axis capped at %d × SLO)", slo, lagCapSLOs), max: slo * lagCapSLOs}
	for k, r := range results {
		ss := r.Series.Samples
		if k == 0 {
			load.lines = append(load.lines, series(ss, "offered", func(s scorecard.Sample) float64 { return s.OfferedRate }))
		}
		total := func(p []int) float64 {
			t := 0
			for _, x := range p {
				t += x
			}
			return float64(t)
		}
		if r.Policy == OracleName {
			par.lines = append(par.lines, series(ss, r.Policy, func(s scorecard.Sample) float64 { return total(s.OracleParallelism) }))
			lag.lines = append(lag.lines, line{label: r.Policy})
			continue
		}
		par.lines = append(par.lines, series(ss, r.Policy, func(s scorecard.Sample) float64 { return total(s.Parallelism) }))
		lag.lines = append(lag.lines, series(ss, r.Policy, func(s scorecard.Sample) float64 { return math.Min(s.LagSeconds, lag.max) }))
	}
	var b strings.Builder
	height := marginT + 3*(panelH+panelGap)
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" width="%d" height="%d" font-family="sans-serif" font-size="12">`+"\n", plotWidth, height)
	fmt.Fprintf(&b, `<rect width="100%%" height="100%%" fill="white"/><text x="%d" y="22" font-size="16">%s</text>`+"\n", marginL, html.EscapeString(results[0].Scenario))
	for i, p := range []panel{load, par, lag} {
		drawPanel(&b, p, marginT+i*(panelH+panelGap), duration(results[0].Series))
	}
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

func duration(s scorecard.Series) float64 {
	if len(s.Samples) == 0 {
		return 1
	}
	return math.Max(s.Samples[len(s.Samples)-1].Elapsed.Seconds(), 1)
}

// series samples f at most maxPoints times, keeping the largest value of
// each stride so short spikes stay visible.
func series(ss []scorecard.Sample, label string, f func(scorecard.Sample) float64) line {
	stride := max(1, len(ss)/maxPoints)
	l := line{label: label}
	for i := 0; i < len(ss); i += stride {
		y := math.Inf(-1)
		for k := i; k < min(i+stride, len(ss)); k++ {
			if v := f(ss[k]); !math.IsNaN(v) {
				y = math.Max(y, v)
			}
		}
		if math.IsInf(y, -1) {
			continue
		}
		l.xs = append(l.xs, ss[i].Elapsed.Seconds())
		l.ys = append(l.ys, y)
	}
	return l
}

func drawPanel(b *strings.Builder, p panel, top int, xmax float64) {
	ymax := p.max
	if ymax <= 0 {
		for _, l := range p.lines {
			for _, y := range l.ys {
				ymax = math.Max(ymax, y)
			}
		}
		ymax *= 1.1
	}
	if ymax <= 0 {
		ymax = 1
	}
	w := float64(plotWidth - marginL - marginR)
	fmt.Fprintf(b, `<text x="%d" y="%d">%s</text>`+"\n", marginL, top-6, html.EscapeString(p.title))
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="%.0f" height="%d" fill="none" stroke="#999"/>`+"\n", marginL, top, w, panelH)
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="end">%s</text><text x="%d" y="%d" text-anchor="end">0</text>`+"\n",
		marginL-4, top+10, fmtNum(ymax), marginL-4, top+panelH)
	fmt.Fprintf(b, `<text x="%.0f" y="%d" text-anchor="end">%s</text>`+"\n", float64(marginL)+w, top+panelH+14, fmtDuration(xmax))
	for k, l := range p.lines {
		color := palette[k%len(palette)]
		if len(l.xs) > 0 {
			var pts strings.Builder
			for i := range l.xs {
				x := float64(marginL) + w*l.xs[i]/xmax
				y := float64(top+panelH) - float64(panelH)*math.Min(l.ys[i], ymax)/ymax
				fmt.Fprintf(&pts, "%.1f,%.1f ", x, y)
			}
			fmt.Fprintf(b, `<polyline fill="none" stroke="%s" stroke-width="1.2" points="%s"/>`+"\n", color, strings.TrimSpace(pts.String()))
		}
		if len(p.lines) > 1 {
			fmt.Fprintf(b, `<text x="%.0f" y="%d" fill="%s">%s</text>`+"\n", float64(marginL)+w+8, top+14+14*k, color, html.EscapeString(l.label))
		}
	}
}

func fmtNum(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.1fM", v/1e6)
	case v >= 1e4:
		return fmt.Sprintf("%.0fk", v/1e3)
	default:
		return fmt.Sprintf("%.0f", v)
	}
}
