package demo

import (
	"fmt"
	"html"
	"math"
	"strings"
	"time"
)

// chart is one time-series plot of the report: simulated time on x, one
// y axis from 0, lines and vertical marks. It renders to inline SVG.
type chart struct {
	end    time.Duration // x runs from 0 to end
	ymax   float64
	unit   string // y tick suffix, e.g. "s"
	lines  []line
	marks  []mark
	labels bool // number the marks at the top
}

// line is one series: points sorted by x.
type line struct {
	color  string
	dashed bool
	step   bool // hold each value until the next point
	pts    []point
}

type point struct {
	x time.Duration
	y float64
}

// mark is a vertical line at a decision.
type mark struct {
	x     time.Duration
	color string
	label string
	title string // hover text
}

// Layout of every chart, in SVG user units.
const (
	chartW, chartH         = 1000, 200
	padL, padR, padT, padB = 64, 16, 18, 26
)

func (c chart) px(x time.Duration) float64 {
	if c.end <= 0 {
		return padL
	}
	return padL + float64(x)/float64(c.end)*(chartW-padL-padR)
}

func (c chart) py(y float64) float64 {
	top := c.ymax
	if !(top > 0) {
		top = 1
	}
	return padT + (1-min(y, top)/top)*(chartH-padT-padB)
}

// svg renders the chart.
func (c chart) svg() string {
	var b strings.Builder
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 %d %d" role="img">`, chartW, chartH)
	c.axes(&b)
	for _, m := range c.marks {
		x := c.px(m.x)
		fmt.Fprintf(&b, `<g class="mark"><title>%s</title><line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="%s" stroke-dasharray="3 3"/>`,
			html.EscapeString(m.title), x, padT, x, chartH-padB, m.color)
		if c.labels {
			fmt.Fprintf(&b, `<text x="%.1f" y="%d" text-anchor="middle" font-size="11" fill="%s">%s</text>`, x, padT-5, m.color, html.EscapeString(m.label))
		}
		b.WriteString(`</g>`)
	}
	for _, l := range c.lines {
		c.polyline(&b, l)
	}
	b.WriteString(`</svg>`)
	return b.String()
}

func (c chart) polyline(b *strings.Builder, l line) {
	if len(l.pts) == 0 {
		return
	}
	dash := ""
	if l.dashed {
		dash = ` stroke-dasharray="6 4"`
	}
	fmt.Fprintf(b, `<polyline fill="none" stroke="%s" stroke-width="1.8"%s points="`, l.color, dash)
	for i, p := range l.pts {
		if l.step && i > 0 {
			fmt.Fprintf(b, "%.1f,%.1f ", c.px(p.x), c.py(l.pts[i-1].y))
		}
		fmt.Fprintf(b, "%.1f,%.1f ", c.px(p.x), c.py(p.y))
	}
	b.WriteString(`"/>`)
}

// axes draws the frame, the y grid with its labels and the time ticks.
func (c chart) axes(b *strings.Builder) {
	fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" fill="#fff" stroke="#bbb"/>`, padL, padT, chartW-padL-padR, chartH-padT-padB)
	for _, y := range ticks(c.ymax) {
		py := c.py(y)
		fmt.Fprintf(b, `<line x1="%d" y1="%.1f" x2="%d" y2="%.1f" stroke="#eee"/>`, padL, py, chartW-padR, py)
		fmt.Fprintf(b, `<text x="%d" y="%.1f" text-anchor="end" font-size="11" fill="#555">%s%s</text>`, padL-6, py+4, tickLabel(y), c.unit)
	}
	step := timeStep(c.end)
	for t := time.Duration(0); t <= c.end; t += step {
		px := c.px(t)
		fmt.Fprintf(b, `<line x1="%.1f" y1="%d" x2="%.1f" y2="%d" stroke="#999"/>`, px, chartH-padB, px, chartH-padB+4)
		fmt.Fprintf(b, `<text x="%.1f" y="%d" text-anchor="middle" font-size="11" fill="#555">%s</text>`, px, chartH-padB+16, clock(t)[:len(clock(t))-3])
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

// headroom is a y-axis top a little above the largest value, so lines do
// not run along the frame.
func headroom(v float64) float64 {
	if !(v > 0) || math.IsInf(v, 0) {
		return 1
	}
	return v * 1.1
}
