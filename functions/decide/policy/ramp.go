package policy

import (
	"fmt"
	"math"
	"slices"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// deramped returns the window with the current run's samples younger than
// MeterSettle corrected for the meters' ramp, when the run's rates show
// which way they read: flat across its young samples (the meters do not
// ramp: kept as read), or growing in proportion to the data's age (the
// ramp: divided by (age − staleness) ÷ 60, the staleness read from the
// growth). ok is false when there are fewer than two young samples at
// least 10 s apart, or they fit neither.
func deramped(st State, settle time.Duration) (w []Sample, ok bool) {
	w, _, ok = derampedNote(st, settle)
	return w, ok
}

// derampedNote is deramped and how the rates were read, for the rationale.
func derampedNote(st State, settle time.Duration) (w []Sample, note string, ok bool) {
	var young []int
	for i, s := range st.Window {
		if s.Epoch.Equal(st.Epoch) && s.At.Sub(s.Epoch) < MeterSettle && s.At.Sub(s.Epoch) >= settle/2 {
			young = append(young, i)
		}
	}
	if len(young) < 2 {
		return nil, "", false
	}
	ages := readAges(st.Window, young)
	last := len(young) - 1
	a, b := st.Window[young[0]], st.Window[young[last]]
	ya, yb := sourceIn(a), sourceIn(b)
	if len(a.V) == 0 || len(b.V) == 0 {
		return nil, "", false
	}
	ta, tb := a.At.Sub(a.Epoch).Seconds(), b.At.Sub(b.Epoch).Seconds()
	if tb-ta < 10 || ya <= 0 || yb <= 0 {
		return nil, "", false
	}
	g := yb / ya
	if math.Abs(g-1) < 0.1 {
		return st.Window, "rates as read: its meters show no ramp (the sources' rate held within 10 % from " + fmtAge(ta) + " to " + fmtAge(tb) + ")", true
	}
	// a ramp is fitted at the ages the rates were read
	if ta, tb = ages[0][sourceAt(a)], ages[last][sourceAt(b)]; tb-ta < 10 {
		return nil, "", false
	}
	// ya ÷ (ta − d) = yb ÷ (tb − d)
	d := (yb*ta - ya*tb) / (yb - ya)
	if g < 1 || d < -2 || d > 15 {
		return nil, "", false
	}
	w = make([]Sample, len(st.Window))
	copy(w, st.Window)
	for n, i := range young {
		s := w[i]
		in := sourceIn(s)
		vs := make([]VertexSample, len(s.V))
		for j, v := range s.V {
			k := math.Min((ages[n][j]-d)/meterSpan.Seconds(), 1)
			if k <= 0.1 {
				return nil, "", false
			}
			v.In, v.Out = v.In/k, v.Out/k
			vs[j] = v
		}
		s.V = vs
		if len(vs) > 0 {
			k := math.Min((ages[n][sourceAt(s)]-d)/meterSpan.Seconds(), 1)
			s.Offered += in/k - in
		}
		w[i] = s
	}
	note = "rates read de-ramped: the sources' rate grew ×" + fmt.Sprintf("%.2f", g) + " from " + fmtAge(ta) + " to " + fmtAge(tb) + " as Flink's meters ramp over their first minute (divided by (age − " + fmtAge(math.Max(d, 0)) + ") ÷ 60)"
	if repeats := repeated(st.Window, young, ages); repeats > 0 {
		note += fmt.Sprintf("; %d vertex readings repeated the poll before (the JobManager's same fetch): read at its age", repeats)
	}
	return w, note, true
}

// repeated counts the young samples' vertices read at an earlier age
// than their own (readAges).
func repeated(w []Sample, young []int, ages [][]float64) int {
	n := 0
	for m, i := range young {
		for _, a := range ages[m] {
			if a != w[i].At.Sub(w[i].Epoch).Seconds() {
				n++
			}
		}
	}
	return n
}

// readAges is, for each young sample (in young's order) and each of its
// vertices, how far into the run its rates were read, for a ramp's fit
// and divisor: the sample's own age, or the previous young sample's read
// age when the vertex's rates repeat that sample's exactly (rates that
// hold are read as they are, whatever their age). The JobManager fetches
// the TaskManagers' metrics at most every 10 s and answers a request
// from its previous fetch, so a poll that comes under 10 s after the
// last fetch gets the same rates again (real Flink, constant-noise's
// first minute: every vertex's rates identical 43.8 and 55.1 s into the
// run); divided by the ramp of the later age, the repeat read a third
// low (the Map's true rate 86 rec/s a subtask where 175 came, sized 2 →
// 13 where 5 slots carry the load), and as the last young sample it
// bends the ramp's fit.
func readAges(w []Sample, young []int) [][]float64 {
	ages := make([][]float64, len(young))
	for n, i := range young {
		s := &w[i]
		ages[n] = make([]float64, len(s.V))
		var p *Sample
		if n > 0 && len(w[young[n-1]].V) == len(s.V) {
			p = &w[young[n-1]]
		}
		for j, v := range s.V {
			ages[n][j] = s.At.Sub(s.Epoch).Seconds()
			if p != nil && v.In > 0 && v.In == p.V[j].In && v.Out == p.V[j].Out {
				ages[n][j] = ages[n-1][j]
			}
		}
	}
	return ages
}

// sourceAt is the index of the vertex whose rate sourceIn reads first:
// the first with pending records, else the first.
func sourceAt(s Sample) int {
	for j, v := range s.V {
		if v.Pending >= 0 {
			return j
		}
	}
	return 0
}

func fmtAge(sec float64) string { return fmt.Sprintf("%.0f s", sec) }

// sourceIn is the records in of the sample's vertices that have no input
// rate from upstream: those with pending records (sources) — the sum of
// every vertex's In where Pending is known, else of the first vertex.
func sourceIn(s Sample) float64 {
	y := 0.0
	for _, v := range s.V {
		if v.Pending >= 0 {
			y += v.In
		}
	}
	if y == 0 && len(s.V) > 0 {
		y = s.V[0].In
	}
	return y
}

// firstRun: the job has not restarted since Decide began to watch it (no
// restart, failover or decision of ours seen, every sample from this run).
func firstRun(st State) bool {
	if len(st.Restarts) > 0 || len(st.Failovers) > 0 || st.Rescale != nil {
		return false
	}
	for _, s := range st.Window {
		if !s.Epoch.Equal(st.Epoch) {
			return false
		}
	}
	return true
}

// failoverRun: the job's current run began with a restart no decision of
// ours asked for (State.Failovers), and s runs every vertex at no less
// than the window's samples since our last decision applied (all of them
// when there is none): a failover restarted in place or onto its
// replacement TaskManagers, not a run on the slots a lost TaskManager left
// (Flink restarts that one again when the replacement registers) nor one
// whose decision of ours is still in flight.
func failoverRun(st State, s *events.Snapshot) bool {
	if !slices.ContainsFunc(st.Failovers, func(t time.Time) bool { return sameTime(t, st.Epoch) }) {
		return false
	}
	var since time.Time
	if rs := st.Rescale; rs != nil {
		if rs.Applied.IsZero() {
			return false
		}
		since = rs.Applied
	}
	for _, smp := range st.Window {
		if smp.At.Before(since) || len(smp.V) != len(s.Vertices) {
			continue
		}
		for i, v := range smp.V {
			if s.Vertices[i].Parallelism < v.P {
				return false
			}
		}
	}
	return true
}

// releaseRun: the job's current run is the restart of our last decision,
// applied, that lowered some vertex below the parallelism it ran at when
// decided (a release, or a reshape that moved slots between vertices), not
// made in a failover's outage, and the run no failover's. Such a run whose
// backlog grows (backlogGrows) met a rise its lowered vertices were not
// sized for: waiting out the cool-down from the run's start, the meters'
// 70 s settle and the scale-up delay (~1m35s into the run) adds that much
// to its lag back, while the decision's own rate limit (MinInterval from
// the decision) still binds. A run our scale-up began is left out: its
// backlog drains or its efficiency is learned from settled samples first.
func releaseRun(st State, s *events.Snapshot) bool {
	rs := st.Rescale
	if rs == nil || rs.Applied.IsZero() || rs.Failover || len(rs.From) == 0 || st.Epoch.Before(rs.At) ||
		slices.ContainsFunc(st.Failovers, func(t time.Time) bool { return sameTime(t, st.Epoch) }) {
		return false
	}
	for i := range s.Vertices {
		v := &s.Vertices[i]
		if from, ok := rs.From[v.ID]; ok && v.Parallelism < from {
			return true
		}
	}
	return false
}

// backlogStillGrows: the sources' pending records grew over each of the
// run's last two sample intervals. A release's run needs it beside
// backlogGrows: a source whose pending registers late in the run (0, then
// the restart's whole backlog) reads as growth from the run's first sample
// while the job works that backlog off (logs-dedupe-session-spikes 181005:
// a release raised back 53 s into its run on a draining backlog, 6 decided
// flaps); a rise keeps the pending growing.
func backlogStillGrows(st State) bool {
	p := runPending(st)
	n := len(p)
	return n >= 3 && p[n-1] > p[n-2] && p[n-2] > p[n-3]
}

// runPending: the sources' pending records summed per sample of the
// current run (negative readings count as none), oldest first.
func runPending(st State) []float64 {
	var p []float64
	for _, s := range st.Window {
		if !s.Epoch.Equal(st.Epoch) {
			continue
		}
		x := 0.0
		for _, v := range s.V {
			x += math.Max(v.Pending, 0)
		}
		p = append(p, x)
	}
	return p
}

// derampedState is st with its window de-ramped (deramped) and how its
// rates were read, when that is known and leaves at least two samples
// settle into the run within span of now.
func derampedState(st State, now time.Time, settle, span time.Duration) (State, string, bool) {
	w, note, ok := derampedNote(st, settle)
	if !ok {
		return st, "", false
	}
	read := st
	read.Window, read.Noise = w, NoiseSum{} // the de-ramped samples' sum is walked
	return read, note, len(read.settled(now, settle, span)) >= 2
}

// backlogGrows: the run's sources report pending records that grew over
// its samples to at least a tenth of the SLO's lag at the latest offered
// rate, the job short from its start. Only such a job gains from a
// decision before its meters settle (the restart a checkpoint sooner);
// for one that keeps up, a load still rising in the run's first minute
// would read as the meters' ramp.
func backlogGrows(st State, slo time.Duration) bool {
	p := runPending(st)
	if len(p) == 0 {
		return false
	}
	first, last := p[0], p[len(p)-1]
	n := len(st.Window)
	return n > 0 && last > first && st.Window[n-1].Offered > 0 && last/st.Window[n-1].Offered >= 0.1*slo.Seconds()
}
