package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"math"
	"strings"
	"text/tabwriter"
)

// JSONResult is one row of `flinkscaler bench --json`.
type JSONResult struct {
	Scenario            string  `json:"scenario"`
	Policy              string  `json:"policy"`
	DurationSeconds     float64 `json:"durationSeconds"`
	Rescales            int     `json:"rescales"`
	ConvergeSeconds     float64 `json:"convergeSeconds"`
	ConvergeMaxSeconds  float64 `json:"convergeMaxSeconds"`
	LoadChanges         int     `json:"loadChanges"`
	Unconverged         int     `json:"unconverged"`
	SLOViolationSeconds float64 `json:"sloViolationSeconds"`
	MaxLagSeconds       float64 `json:"maxLagSeconds"`
	SlotSeconds         float64 `json:"slotSeconds"`
	CostVsOracle        float64 `json:"costVsOracle"`
	DowntimeSeconds     float64 `json:"downtimeSeconds"`
}

// WriteJSON writes {"results":[...]} with one JSONResult per result.
func WriteJSON(w io.Writer, results []Result) error {
	rows := make([]JSONResult, 0, len(results))
	for _, r := range results {
		s := r.Summary
		rows = append(rows, JSONResult{
			Scenario: r.Scenario, Policy: r.Policy, DurationSeconds: s.DurationSeconds,
			Rescales: s.Rescales, ConvergeSeconds: round(s.ConvergeSeconds), ConvergeMaxSeconds: s.ConvergeMaxSeconds,
			LoadChanges: s.LoadChanges, Unconverged: s.Unconverged,
			SLOViolationSeconds: s.SLOViolationSeconds, MaxLagSeconds: round(s.MaxLagSeconds),
			SlotSeconds: s.SlotSeconds, CostVsOracle: round(s.CostVsOracle), DowntimeSeconds: s.DowntimeSeconds,
		})
	}
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	if err := enc.Encode(struct {
		Results []JSONResult `json:"results"`
	}{rows}); err != nil {
		return fmt.Errorf("write json: %w", err)
	}
	return nil
}

func round(x float64) float64 { return math.Round(x*1000) / 1000 }

// WriteTables writes one aligned table per scenario, in the order results
// come (RunAll's order groups them by scenario).
func WriteTables(w io.Writer, results []Result) error {
	var b strings.Builder
	for i, r := range results {
		if i == 0 || results[i-1].Scenario != r.Scenario {
			if i > 0 {
				b.WriteString("\n")
			}
			fmt.Fprintf(&b, "scenario %s (%s)\n", r.Scenario, fmtDuration(r.Summary.DurationSeconds))
			b.WriteString(tableOf(results[i:], r.Scenario))
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

func tableOf(results []Result, scenario string) string {
	var b strings.Builder
	tw := tabwriter.NewWriter(&b, 0, 0, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "policy\trescales\tconverge s (mean/max)\tSLO violation s\tmax lag s\tslot-s\tcost vs oracle\tdowntime s\t")
	for _, r := range results {
		if r.Scenario != scenario {
			break
		}
		s := r.Summary
		conv := fmt.Sprintf("%.0f / %.0f", s.ConvergeSeconds, s.ConvergeMaxSeconds)
		if s.Unconverged > 0 {
			conv += fmt.Sprintf(" (%d of %d open)", s.Unconverged, s.LoadChanges)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%.0f\t%.1f\t%.0f\t%.2f\t%.0f\t\n", r.Policy, s.Rescales, conv,
			s.SLOViolationSeconds, s.MaxLagSeconds, s.SlotSeconds, s.CostVsOracle, s.DowntimeSeconds)
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
