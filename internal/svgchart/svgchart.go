// Package svgchart renders the time-series plots of the HTML reports
// (demo, compare) as inline SVG: simulated time on x, one y axis from 0,
// lines and vertical marks.
package svgchart

import (
	"fmt"
	"html"
	"math"
	"strings"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/scorecard"
)

// Chart is one time-series plot: simulated time on x, one y axis from 0,
// lines and vertical marks. SVG renders it.
type Chart struct {
	End    time.Duration // x runs from 0 to End
	YMax   float64
	Unit   string // y tick suffix, e.g. "s"
	Lines  []Line
	Marks  []Mark
	Labels bool // label the marks at the top
}

// Line is one series: points sorted by x.
type Line struct {
	Color  string
	Dashed bool
	Step   bool // hold each value until the next point
	Points []Point
}

// Point is one point of a Line.
type Point struct {
	X time.Duration
	Y float64
}

// Mark is a vertical line at a decision.
type Mark struct {
	X     time.Duration
	Color string
	Label string
	Title string // hover text
}

// Layout of every chart, in SVG user units.
const (
	chartW, chartH         = 1000, 200
	padL, padR, padT, padB = 64, 16, 18, 26
)

func (c Chart) px(x time.Duration) float64 {
	if c.End <= 0 {
		return padL
	}
	return padL + float64(x)/float64(c.End)*(chartW-padL-padR)
}

func (c Chart) py(y float64) float64 {
	top := c.YMax
	if !(top > 0) {
		top = 1
	}
	return padT + (1-min(y, top)/top)*(chartH-padT-padB)
}

// SVG renders the chart.
func (c Chart) SVG() string {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img">`, chartW, chartH)
	c.axes(&b)
	for _, m := range c.Marks {
		x := c.px(m.X)
		fmt.Fprintf(&b, `<g class="mark"><title>%s</title><line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-dasharray="3 3"/>`,
			html.EscapeString(m.Title), x, padT, x, chartH-padB, m.Color)
		if c.Labels {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" font-size="11" fill="%s">%s</text>`, x, padT-5, m.Color, html.EscapeString(m.Label))
		}
		b.WriteString(`</g>`)
	}
	for _, l := range c.Lines {
		c.polyline(&b, l)
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func (c Chart) polyline(b *strings.Builder, l Line) {
	if len(l.Points) == 0 {
		return
	}
	dash := ""
	if l.Dashed {
		dash = ` stroke-dasharray="6 4"`
	}
	fmt.Fprintf(b, `<polyline fill="none" stroke="%s" stroke-width="1.8"%s points="`, l.Color, dash)
	for i, p := range l.Points {
		if l.Step && i > 0 {
			fmt.Fprintf(b, "%.1f,%.1f ", c.px(p.X), c.py(l.Points[i-1].Y))
		}
		fmt.Fprintf(b, "%.1f,%.1f ", c.px(p.X), c.py(p.Y))
	}
	b.WriteString(`"/>`)
}

// axes draws the frame, the y grid with its labels and the time ticks.
func (c Chart) axes(b *strings.Builder) {
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" fill="#fff" stroke="#bbb"/>`, padL, padT, chartW-padL-padR, chartH-padT-padB)
	for _, y := range ticks(c.YMax) {
		py := c.py(y)
		fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#eee"/>`, padL, py, chartW-padR, py)
		fmt.Fprintf(b, `<text x="%d" y="%.1f" text-anchor="end" font-size="11" fill="#555">%s%s</text>`, padL-6, py+4, tickLabel(y), c.Unit)
	}
	step := timeStep(c.End)
	for t := time.Duration(0); t <= c.End; t += step {
		px := c.px(t)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#999"/>`, px, chartH-padB, px, chartH-padB+4)
		fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle" font-size="11" fill="#555">%s</text>`, px, chartH-padB+16, Clock(t)[:len(Clock(t))-3])
	}
}

// ticks are about five round values from 0 to top.
func ticks(top float64) []float64 {
	if !(top > 0) {
		return []float64{0}
	}
	raw := top / 5
	mag := math.Pow(10, math.Floor(math.Log10(raw)))
	step := mag
	for _, m := range []float64{1, 2, 5, 10} {
		if m*mag >= raw {
			step = m * mag
			break
		}
	}
	var out []float64
	for y := 0.0; y <= top*1.0001; y += step {
		out = append(out, y)
	}
	return out
}

// tickLabel renders a tick value: 1.5k, 2M, 0.5, 12.
func tickLabel(v float64) string {
	switch {
	case v >= 1e6:
		return trimZero(fmt.Sprintf("%.1f", v/1e6)) + "M"
	case v >= 1e3:
		return trimZero(fmt.Sprintf("%.1f", v/1e3)) + "k"
	default:
		return trimZero(fmt.Sprintf("%.1f", v))
	}
}

func trimZero(s string) string { return strings.TrimSuffix(s, ".0") }

// timeStep is the spacing of time ticks: a round number of minutes giving
// at most 12 ticks.
func timeStep(end time.Duration) time.Duration {
	for _, m := range []time.Duration{1, 2, 5, 10, 15, 30, 60, 120, 240, 360, 720} {
		if end/(m*time.Minute) <= 12 {
			return m * time.Minute
		}
	}
	return 24 * time.Hour
}

// Headroom is a y-axis top a little above the largest value, so lines do
// not run along the frame.
func Headroom(v float64) float64 {
	if !(v > 0) || math.IsInf(v, 0) {
		return 1
	}
	return v * 1.1
}

// Clock renders an elapsed time as h:mm:ss.
func Clock(d time.Duration) string {
	s := int(d.Seconds())
	return fmt.Sprintf("%d:%02d:%02d", s/3600, s/60%60, s%60)
}

// MaxPoints bounds the points of a continuous series in a plot; longer runs
// are averaged (load) or maxed (lag) over buckets.
const MaxPoints = 1500

// Steps are the points where a step series changes value, and the last.
func Steps(ss []scorecard.Sample, get func(scorecard.Sample) float64) []Point {
	var pts []Point
	for i, x := range ss {
		v := get(x)
		if i == 0 || i == len(ss)-1 || v != pts[len(pts)-1].Y {
			pts = append(pts, Point{x.Elapsed, v})
		}
	}
	return pts
}

// Bucketed is a continuous series reduced to at most MaxPoints points: the
// mean of each bucket, or its largest value when peak is set (so a lag
// spike is never averaged away).
func Bucketed(ss []scorecard.Sample, get func(scorecard.Sample) float64, peak bool) []Point {
	k := (len(ss) + MaxPoints - 1) / MaxPoints
	var pts []Point
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
		pts = append(pts, Point{ss[hi-1].Elapsed, agg})
	}
	return pts
}

// MaxOf is the largest finite y of the lines.
func MaxOf(ls []Line) float64 {
	m := 0.0
	for _, l := range ls {
		for _, p := range l.Points {
			if !math.IsInf(p.Y, 0) && p.Y > m {
				m = p.Y
			}
		}
	}
	return m
}
