package fidelity

import (
	"fmt"
	"math"
	"strings"
)

// Diff is one figure compared.
type Diff struct {
	Figure, Real, Emulator, Tolerance string
	OK                                bool
}

// Compare lists every figure of real and emu with whether they agree within
// the figure's tolerance.
func Compare(real, emu *Record) []Diff {
	var out []Diff
	num := func(figure string, r, e, abs, rel float64, unit string) {
		tol := max(abs, rel*math.Abs(r))
		out = append(out, Diff{
			Figure: figure, Real: fmt.Sprintf("%.3g%s", r, unit), Emulator: fmt.Sprintf("%.3g%s", e, unit),
			Tolerance: fmt.Sprintf("±%.3g%s", tol, unit), OK: math.Abs(r-e) <= tol,
		})
	}
	for i, rv := range real.Steady {
		if i >= len(emu.Steady) {
			break
		}
		ev := emu.Steady[i]
		num(rv.Name+" max busy", rv.MaxBusy, ev.MaxBusy, 100, 0.1, " ms/s")
		num(rv.Name+" avg idle", rv.AvgIdle, ev.AvgIdle, 100, 0.1, " ms/s")
		num(rv.Name+" avg back-pressured", rv.AvgBackPressured, ev.AvgBackPressured, 100, 0.1, " ms/s")
		num(rv.Name+" records in", rv.RecordsIn, ev.RecordsIn, 5, 0.15, "/s")
	}
	// The sandbox's operators reach about 92 % of their configured
	// capacity (Flink's own per-record work on top of the sleeps), so the
	// backlog grows faster than the emulator's by offered − 0.92·capacity.
	num("pendingRecords growth", real.PendingGrowth, emu.PendingGrowth, 10, 0.5, "/s")
	num("TaskManager registration", real.TaskManagerRegistration, emu.TaskManagerRegistration, 2, 0, " s")
	// Both views of the job are cached for 3 s (web.refresh-interval): a
	// sub-second restart shows as 0 or 3 s.
	num("PUT to RUNNING", real.PutToRunning, emu.PutToRunning, 3.5, 0.5, " s")
	num("rescale downtime", real.Downtime, emu.Downtime, 3.5, 0, " s")
	num("first checkpoint after RUNNING", real.FirstCheckpoint, emu.FirstCheckpoint, 5, 0, " s")
	out = append(out, Diff{
		Figure: "timestamps.RUNNING moves", Real: fmt.Sprint(real.RunningTimestampMoved), Emulator: fmt.Sprint(emu.RunningTimestampMoved),
		Tolerance: "equal", OK: real.RunningTimestampMoved == emu.RunningTimestampMoved,
	})
	out = append(out, Diff{
		Figure: "metrics query with an unknown id answers the known ones", Real: fmt.Sprint(real.PartialAnswer), Emulator: fmt.Sprint(emu.PartialAnswer),
		Tolerance: "equal", OK: real.PartialAnswer == emu.PartialAnswer,
	})
	for i, at := range real.RampAt {
		switch {
		case i >= len(real.Ramp) || i >= len(emu.Ramp):
		case at < 30:
			// Within the fetch interval after a restart what a request
			// sees depends on when the previous fetch happened (before
			// the restart, or just after it when the new tasks had counted
			// nothing): shown, not compared.
			out = append(out, Diff{
				Figure: fmt.Sprintf("rate meter %gs after RUNNING", at), Real: fmt.Sprintf("%.3g×", real.Ramp[i]),
				Emulator: fmt.Sprintf("%.3g×", emu.Ramp[i]), Tolerance: "fetch phase", OK: true,
			})
		default:
			num(fmt.Sprintf("rate meter %gs after RUNNING", at), real.Ramp[i], emu.Ramp[i], 0.15, 0, "×")
		}
		if i < len(real.RampBusy) && i < len(emu.RampBusy) {
			num(fmt.Sprintf("busy time %gs after RUNNING", at), real.RampBusy[i], emu.RampBusy[i], 150, 0, " ms/s")
		}
	}
	return out
}

// Table renders diffs as a Markdown table.
func Table(diffs []Diff) string {
	var b strings.Builder
	b.WriteString("| figure | real Flink | emulator | tolerance | agrees |\n|---|---|---|---|---|\n")
	for _, d := range diffs {
		ok := "yes"
		if !d.OK {
			ok = "**no**"
		}
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %s |\n", d.Figure, d.Real, d.Emulator, d.Tolerance, ok)
	}
	return b.String()
}
