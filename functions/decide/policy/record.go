package policy

import (
	"fmt"
	"math"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// gateRecord appends the snapshot, reduced to a sample of the current
// epoch, to the bounded window.
func gateRecord(g gateInput, st State) (State, *hold) {
	src := sourcesOf(g.snap)
	smp := Sample{At: g.now, Epoch: st.Epoch, V: sampleVertices(g, st, src)}
	smp.Offered = offeredAt(st.Window, smp, src, g.cfg.RateWindow)
	if len(st.Metrics) > 0 {
		smp.Offered = timeLagsOffered(g, st, smp, src)
	}
	old := st.Window
	st.Window = withSample(st.Window, smp, g.cfg.MetricWindow, g.cfg.MaxSamples)
	st.Noise = slideNoise(st.Noise, old, st.Window, st.Epoch, func(i int) int { return snapUnits(g.snap, i) }, g.cfg.Settle)
	return st, nil
}

// sourcesOf marks the snapshot's sources: vertices flagged as one or
// without inputs.
func sourcesOf(s *events.Snapshot) []bool {
	src := make([]bool, len(s.Vertices))
	for i := range s.Vertices {
		src[i] = isSource(&s.Vertices[i])
	}
	return src
}

// isSource reports whether v is one of the job's sources: flagged so, or
// with no inputs.
func isSource(v *events.VertexSnapshot) bool {
	return v.IsSource || len(v.Inputs) == 0
}

// sourceCount is how many of s's vertices are sources (isSource).
func sourceCount(s *events.Snapshot) int {
	n := 0
	for i := range s.Vertices {
		if isSource(&s.Vertices[i]) {
			n++
		}
	}
	return n
}

// snapSources is sourcesOf the run's snapshot, worked out once.
func (r *run) snapSources() []bool {
	if r.sources == nil {
		r.sources = sourcesOf(r.snap)
	}
	return r.sources
}

// sampleVertices reduces the snapshot to the numbers the policies use
// (src marks its sources). A source without pendingRecords takes a
// user's lag metric from st for it, or the job's when the job has one
// source.
func sampleVertices(g gateInput, st State, src []bool) []VertexSample {
	nsrc := sourceCount(g.snap)
	out := make([]VertexSample, len(g.snap.Vertices))
	for i, v := range g.snap.Vertices {
		vs := VertexSample{P: v.Parallelism, Pending: -1, BusyMax: -1, BusyAvg: -1}
		if b := v.BusyMsPerSecond; b != nil {
			vs.BusyMax, vs.BusyAvg = minF(b.Max/1000, 1), minF(b.Avg/1000, 1)
		}
		if bp := v.BackPressuredMsPerSecond; bp != nil {
			vs.BP = minF(bp.Avg/1000, 1)
		}
		if v.RecordsInPerSecond != nil {
			vs.In = *v.RecordsInPerSecond
		}
		vs.Out = vs.In
		if v.RecordsOutPerSecond != nil {
			vs.Out = *v.RecordsOutPerSecond
		}
		if v.PendingRecords != nil {
			vs.Pending = *v.PendingRecords
		}
		if src[i] && len(st.Metrics) > 0 { // a user's backlog metric counts when it is the larger (events.CheckUserMetric)
			keys, n := backlogKeys(&v, nsrc)
			if m, ok := st.userBacklog(g.now, g.cfg.MetricWindow, keys[:n]...); ok {
				vs.Pending = math.Max(vs.Pending, events.BacklogRecords(m, vs.In))
			}
		}
		out[i] = vs
	}
	return out
}

// timeLagsOffered is smp's offered rate (offeredAt) with each source
// whose backlog is a user's time lag read as observe reads it
// (timeLagOffered) once the run has two of the exporter's reports: records
// in ÷ (1 − the lag's growth per second) between them, not the growth of
// the backlog in records the lag stands for (lag × the rate read), so the
// load's history (the minutes, the volatility, the drift) does not hold
// the exporter's steps nor a catch-up's rising read. Before the run's
// second report the sample keeps offeredAt's reading: records in alone
// there (as observe takes) read a lagging source's load short in the
// history, and a run that restarts again and again (failed restores)
// has none else (payments seed 105003: p99 168 → 383 s that way).
func timeLagsOffered(g gateInput, st State, smp Sample, src []bool) float64 {
	nsrc := sourceCount(g.snap)
	total := smp.Offered
	for i, v := range g.snap.Vertices {
		x := smp.V[i]
		if !src[i] || x.Pending < 0 || (v.PendingRecords != nil && *v.PendingRecords >= x.Pending) {
			continue
		}
		keys, n := backlogKeys(&v, nsrc)
		gr, _, ok := st.timeLagGrowth(g.now, st.Epoch.Add(g.cfg.Settle), g.cfg.MetricWindow, keys[:n]...)
		if !ok {
			continue
		}
		o := math.Max(x.In, 0) / (1 - math.Min(gr, maxTimeLagGrowth))
		total += o - sourceOffered(st.Window, smp, i, g.cfg.RateWindow)
	}
	return math.Max(total, 0)
}

// offeredAt is Σ over sources of records in plus the growth of pending
// records since the oldest sample of the same epoch within span that shows
// them (pendingRef).
func offeredAt(w []Sample, smp Sample, src []bool, span time.Duration) float64 {
	total := 0.0
	for i := range smp.V {
		if src[i] {
			total += sourceOffered(w, smp, i, span)
		}
	}
	return math.Max(total, 0)
}

// sourceOffered is source i's records in at smp plus the growth of its
// pending records since pendingRef (w holds the samples before smp).
func sourceOffered(w []Sample, smp Sample, i int, span time.Duration) float64 {
	v := smp.V[i]
	if v.Pending < 0 {
		return v.In
	}
	if ref, ok := pendingRef(w, smp, i, span); ok {
		if dt := smp.At.Sub(ref.At).Seconds(); dt > 0 {
			return v.In + (v.Pending-ref.V[i].Pending)/dt
		}
	}
	return v.In
}

// pendingSpanned reports whether the offered rate of w's last sample
// counts its sources' backlog change over most of span (three quarters
// of it): every source that shows pending records showed them that long
// before, in the same run. A source whose pendingRecords registers late
// (FLINK-31299) reads, until then, its records in alone, which Flink's
// meters average over the last minute: after a restart whose backlog
// drained within that minute, the catch-up's rate (constant-noise on real
// Flink: 990 rec/s read, 600 offered).
func pendingSpanned(w []Sample, span time.Duration) bool {
	if len(w) == 0 {
		return false
	}
	last := w[len(w)-1]
	for i, v := range last.V {
		if v.Pending < 0 {
			continue
		}
		if ref, ok := pendingRef(w, last, i, span); !ok || last.At.Sub(ref.At) < span*3/4 {
			return false
		}
	}
	return true
}

// pendingRef is the oldest sample of last's epoch within span before it
// (w may end with last itself) in which vertex i shows pending records; ok
// is false when none does. Not simply the run's oldest sample within span:
// a source whose pendingRecords registers late (FLINK-31299) shows none in
// a run's first samples, and growth measured from one of those was none at
// all, so the catch-up after a restart read as the offered rate.
func pendingRef(w []Sample, last Sample, i int, span time.Duration) (ref Sample, ok bool) {
	oldest := last.At.Add(-span)
	for k := len(w) - 1; k >= 0 && sameTime(w[k].Epoch, last.Epoch) && !w[k].At.Before(oldest); k-- {
		if i < len(w[k].V) && w[k].V[i].Pending >= 0 {
			ref, ok = w[k], true
		}
	}
	return ref, ok
}

// gateInFlight waits, up to RescaleTimeout (plus a checkpoint interval
// when the job rescales on a checkpoint: rescaleTimeout), until snapshots show the last
// decision's targets.
//
//	no decision / applied ──────────────────────────────► continue
//	pending ── snapshot shows targets ──► applied (downtime learned) ► continue
//	pending ── RescaleTimeout passed ───► dropped ───────────────────► continue
//	pending ── otherwise ───────────────► hold in_flight
func gateInFlight(g gateInput, st State) (State, *hold) {
	rs := st.Rescale
	if rs == nil || !rs.Applied.IsZero() {
		return st, nil
	}
	if shows(g.snap, rs.Targets) {
		c := *rs
		c.Applied = g.now
		if run := g.snap.RunningSince; run != nil && run.After(rs.At) && run.Sub(rs.At) < rescaleTimeout(g.cfg, g.snap) {
			st.Downtime = run.Sub(rs.At)
			st.Outage = run.Sub(stoppedAfter(st.Window, rs.At, *run))
			if g.cfg.Mode == events.ModeReactive {
				st.Outage = run.Sub(firstStop(st.Window, rs.At, *run, g.snap.LastCheckpointAt))
			}
		}
		st.Rescale = &c
		return st, nil
	}
	if rs.Outcome != "" {
		// actuate reported that the targets will not show: decided again
		// once the cool-down has passed from the decision, or from the
		// end of its actuation when later (actuate's own rate limit runs
		// from there: a failed wait of minutes is an actuation too), and
		// never later than without the result (an end stamped ahead of
		// decide's clock holds no longer than that)
		if since := maxTime(rs.At, rs.Ended); g.now.Sub(since) < g.cfg.MinInterval && g.now.Sub(rs.At) < inFlightBound(g, rs) {
			from := "the decision"
			if since.After(rs.At) {
				from = "its actuation ended"
			}
			return st, holdf(HoldInFlight, fmt.Sprintf("decision %s was %s by actuate (%s); deciding again %s after %s (minInterval)",
				rs.DecisionID, rs.Outcome, rs.Why, g.cfg.MinInterval, from))
		}
		st.Rescale = nil
		return st, nil
	}
	if g.now.Sub(rs.At) < inFlightBound(g, rs) {
		return st, holdf(HoldInFlight, fmt.Sprintf("waiting for decision %s (%s ago) to take effect",
			rs.DecisionID, g.now.Sub(rs.At).Round(time.Second)))
	}
	st.Rescale = nil
	return st, nil
}

// Observe records in st actuate's result r of the job's pending decision
// when it says the decision's targets will not show: skipped (rate
// limited, too old, the job paused), failed (nothing stayed
// changed) or partial (the job runs at what the registered slots allow).
// The in-flight wait then ends at the next snapshot once the cool-down
// has passed from the decision, or from the end of its actuation when
// later (gateInFlight), instead of after RescaleTimeout: a decision rolled back after a slot wait of 2–4 minutes,
// or applied in part, left the job waiting up to 5 minutes more for
// targets that never came. changed is false, and st is returned as it
// is, for an applied result (the snapshots show it), a dry run's (the
// job is left as it is by design: decide's own dry run waits as before,
// not deciding again every minInterval), a result of another decision
// than the pending one (an older one, or one replayed), and a pending
// decision already shown or already answered.
func Observe(st State, r events.Result) (next State, changed bool) {
	rs := st.Rescale
	if rs == nil || r.DryRun || rs.DecisionID != r.DecisionID || !rs.Applied.IsZero() || rs.Outcome != "" {
		return st, false
	}
	switch r.Outcome {
	case events.OutcomeSkipped, events.OutcomeFailed, events.OutcomePartial:
	default:
		return st, false
	}
	c := *rs
	c.Outcome, c.Why, c.Ended = r.Outcome, resultWhy(r), r.FinishedAt
	st.Rescale = &c
	return st, true
}

// resultWhy is a result's reason (events.Result.Reason), or says it gave
// none.
func resultWhy(r events.Result) string {
	if why := r.Reason(); why != "" {
		return why
	}
	return "no reason given"
}

// inFlightBound is how long the pending decision rs may take to show:
// rescaleTimeout, without the wait for the checkpoint that lands it
// (events.CheckpointGate) while none of the TaskManagers rs asked for has
// registered (Rescale.Registered). actuate raises the requirements only
// once the new TaskManagers' slots register, so until one does no change
// can be waiting for a checkpoint: the wait ran out with none registered
// and was rolled back, or it is still under way within RescaleTimeout
// (actuate's slot wait is at most twice its 2-minute bound).
// email-blast-clickthrough-flink2 (Flink 2.0, 5-minute checkpoints,
// TaskManagers that start in 1–4 min): the blast's first scale-up was
// rolled back after 2 min with none registered, and the policy waited
// the 15m30s the gate allows for a change that was never declared, the
// job at a fifth of its load meanwhile (lag 1,600 s). What it trades: a
// cluster whose TaskManagers take longer than RescaleTimeout to register
// and still register for a decision actuate waits for (a slot wait
// longer than its default) is decided again over it; the new decision
// waits until actuate is done with the first.
func inFlightBound(g gateInput, rs *Rescale) time.Duration {
	if rs.TaskManagers > 0 && rs.Registered > 0 && g.snap.TaskManagers <= rs.Registered {
		return g.cfg.RescaleTimeout
	}
	return rescaleTimeout(g.cfg, g.snap)
}

// shows reports whether the snapshot runs at targets; a vertex may stop at
// its max parallelism (reactive mode bounds it there).
func shows(s *events.Snapshot, targets map[string]int) bool {
	for _, v := range s.Vertices {
		t, ok := targets[v.ID]
		if !ok {
			continue
		}
		if v.Parallelism != t && !(v.MaxParallelism > 0 && t > v.MaxParallelism && v.Parallelism == v.MaxParallelism) {
			return false
		}
	}
	return true
}

// gatePaused holds a paused job, which forgets its scale-up signal.
func gatePaused(g gateInput, st State) (State, *hold) {
	if g.cfg.Paused {
		st.UpSince = time.Time{}
		return st, holdf(HoldPaused, "scaling is paused for this job")
	}
	return st, nil
}

// gateCooldown holds while the last decision, or the run its restart began,
// is younger than MinInterval: actuate skips a decision arriving inside its
// own rate limit (--min-interval, kept below MinInterval), and a skipped
// decision would leave the policy waiting RescaleTimeout for targets that
// never show. Without a decision of ours there is nothing to cool down from.
func gateCooldown(g gateInput, st State) (State, *hold) {
	rs := st.Rescale
	if g.cfg.MinInterval <= 0 || rs == nil {
		return st, nil
	}
	since := rs.At
	if st.Epoch.After(since) {
		since = st.Epoch
	}
	if age := g.now.Sub(since); age < g.cfg.MinInterval {
		return st, holdf(HoldCooldown, fmt.Sprintf("last decision or restart %s ago; next decision after %s (minInterval)",
			age.Round(time.Second), g.cfg.MinInterval))
	}
	return st, nil
}

// gateSettle holds until the run is Settle old and at least two samples were
// taken after that within RateWindow.
func gateSettle(g gateInput, st State) (State, *hold) {
	fresh := st.settled(g.now, g.cfg.Settle, g.cfg.RateWindow)
	if age := g.now.Sub(st.Epoch); age < g.cfg.Settle || len(fresh) < 2 {
		return st, holdf(HoldSettling, fmt.Sprintf("job running for %s; metrics settle after %s (%d of 2 fresh samples)",
			age.Round(time.Second), g.cfg.Settle, len(fresh)))
	}
	return st, nil
}

// firstStop is when a reactive scale-up decided at at first stopped the
// job, its last restart ending at run: the latest time in [at, run) w
// shows the run the decision was made in (a sample of an epoch not after
// at; at when none does). In reactive mode the job restarts once per
// registration wave: the TaskManagers a scale-up asks for start over tens
// of seconds, the first to register restarts the job on the slots there
// are, and the rest restart it again once Flink's scaling interval (30 s
// on 1.19/1.20) has passed (ledger-enrich-reactive-standby, 185001–185010:
// 2.0 restarts for a raise of 2 or 3 TaskManagers, 2.4 for 5 or more; 1.25
// for one). The run between them restores the checkpoint the first
// restart restored unless one completed meanwhile (each run's schedule
// starts an interval after it began), so the job is behind from the first
// stop until the last restart's run, and that, not the last restart's
// own outage (stoppedAfter), is what the scale-up cost: the outage of
// one, two or more restarts as the job showed it, which the next raise is
// priced from (registrationRestart). A checkpoint completed in a run
// between them (ckpt after the first stop) keeps what came before it:
// the stop is then no earlier than ckpt, nor later than stoppedAfter's.
func firstStop(w []Sample, at, run time.Time, ckpt *time.Time) time.Time {
	stop := at
	for _, s := range w {
		if s.At.After(stop) && s.At.Before(run) && !s.Epoch.After(at) {
			stop = s.At
		}
	}
	if ckpt != nil && ckpt.After(stop) {
		stop = minTime(*ckpt, stoppedAfter(w, at, run))
	}
	return stop
}

// stoppedAfter is the latest time in [at, run) the job was seen running in
// w before its restart that ended at run (at when it was never seen): the
// restart's outage excludes the TaskManagers' startup and the checkpoint
// wait that preceded it.
func stoppedAfter(w []Sample, at, run time.Time) time.Time {
	stop := at
	for _, s := range w {
		if s.At.After(stop) && s.At.Before(run) {
			stop = s.At
		}
	}
	return stop
}
