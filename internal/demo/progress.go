package demo

import (
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
	"github.com/flinkscaler/flinkscaler/internal/svgchart"
)

// progress renders the live view: a line per simulated interval and a line
// per decision and result. It is used under the run's mutex.
type progress struct {
	w       io.Writer
	every   time.Duration
	next    time.Duration
	printed time.Duration // the last instant printed (an instant at 0 never is)
}

// header explains the columns once, before the first line.
func (p *progress) header(vertices []string) {
	fmt.Fprintf(p.w, "\n  p = parallelism of %s;  TMs = registered/requested TaskManagers;  lag = pending records / offered rate\n\n",
		strings.Join(vertices, " / "))
	fmt.Fprintf(p.w, "  %-8s  %10s  %-12s  %-6s  %8s  %s\n", "sim time", "offered/s", "p", "TMs", "lag", "state")
}

// observe prints a line when gt reaches the next interval; last reports
// whether this is the run's final instant, which is always printed.
func (p *progress) observe(gt flinksim.GroundTruth, last bool) {
	if (gt.Elapsed < p.next && !last) || gt.Elapsed == p.printed {
		return
	}
	p.printed = gt.Elapsed
	p.next = gt.Elapsed.Truncate(p.every) + p.every
	par := make([]string, len(gt.Vertices))
	for i, v := range gt.Vertices {
		par[i] = fmt.Sprint(v.Parallelism)
	}
	fmt.Fprintf(p.w, "  %-8s  %10s  %-12s  %-6s  %8s  %s\n", clock(gt.Elapsed), rate(gt.OfferedRate),
		strings.Join(par, "/"), fmt.Sprintf("%d/%d", gt.RegisteredTaskManagers, gt.TaskManagers), lag(gt.LagSeconds), gt.State)
}

// decision prints a decision as it arrives, at simulated elapsed time at.
func (p *progress) decision(at time.Duration, d events.Decision) {
	fmt.Fprintf(p.w, "  %-8s  ▶ decision %s: %s\n", clock(at), short(d.DecisionID), changes(d))
	if d.Rationale != "" {
		fmt.Fprintf(p.w, "  %-8s    %s\n", "", d.Rationale)
	}
}

// result prints an actuation result as it arrives.
func (p *progress) result(at time.Duration, r events.Result) {
	mark := map[string]string{events.OutcomeApplied: "✔", events.OutcomeSkipped: "–"}[r.Outcome]
	if mark == "" {
		mark = "✘"
	}
	steps := make([]string, 0, len(r.Steps))
	for _, s := range r.Steps {
		if s.Status == "done" {
			steps = append(steps, stepText(s))
		}
	}
	line := fmt.Sprintf("%s %s %s", mark, r.Outcome, short(r.DecisionID))
	if len(steps) > 0 && r.Outcome != events.OutcomeSkipped {
		line += ": " + strings.Join(steps, " → ")
	}
	if detail := resultDetail(r); detail != "" {
		line += " (" + detail + ")"
	}
	fmt.Fprintf(p.w, "  %-8s  %s\n", clock(at), line)
}

// stepText is a done step's name, with how long it took when that was a
// second or more of the job's time (actuate runs on the emulator's clock):
// "wait-checkpoint 20s". The waits are where a scale-up's restart spends
// the time between the decision and the stop.
func stepText(s events.Step) string {
	d := time.Duration(s.DurationMs) * time.Millisecond
	if d < time.Second {
		return s.Name
	}
	return s.Name + " " + d.Round(time.Second).String()
}

// resultDetail is why a result did not apply: its error, or the detail of
// its last step when skipped.
func resultDetail(r events.Result) string {
	if r.Error != "" {
		return r.Error
	}
	if r.Outcome == events.OutcomeSkipped && len(r.Steps) > 0 {
		return r.Steps[len(r.Steps)-1].Detail
	}
	return ""
}

// changes renders what a decision changes: "tokenizer 2→3, TMs 2→4".
func changes(d events.Decision) string {
	var parts []string
	for _, v := range d.Vertices {
		if v.Current != v.Target {
			parts = append(parts, fmt.Sprintf("%s %d→%d", v.Name, v.Current, v.Target))
		}
	}
	if d.TaskManagers.Current != d.TaskManagers.Target {
		parts = append(parts, fmt.Sprintf("TMs %d→%d", d.TaskManagers.Current, d.TaskManagers.Target))
	}
	if len(parts) == 0 {
		return "no change"
	}
	return strings.Join(parts, ", ")
}

// short is the first 8 characters of an id.
func short(id string) string {
	if len(id) > 8 {
		return id[:8]
	}
	return id
}

// clock renders simulated elapsed time as h:mm:ss.
func clock(d time.Duration) string { return svgchart.Clock(d) }

// rate renders records/s as 15.0k or 1.2M.
func rate(v float64) string {
	switch {
	case v >= 1e6:
		return fmt.Sprintf("%.2fM", v/1e6)
	case v >= 1e3:
		return fmt.Sprintf("%.1fk", v/1e3)
	default:
		return fmt.Sprintf("%.0f", v)
	}
}

// lag renders seconds of lag; infinite when there is a backlog and no load.
func lag(s float64) string {
	if math.IsInf(s, 0) {
		return "∞"
	}
	return fmt.Sprintf("%.1fs", s)
}
