package policy

import (
	"fmt"
	"math"
	"time"
)

// blindRun is how long a job whose sources cannot show their backlog has
// been saturated, and what that says about the load. Such a job reads as
// fast as it can both when the load is above its capacity and while it
// works off a backlog it cannot show: the one a restart leaves (every
// record offered during the outage) is read at full speed after it, so the
// rate read then is the job's capacity, not the load. What a saturated job
// does show is a lower bound: nothing offered since it was last seen
// unsaturated (when the backlog was about empty) has been lost, so the
// load has been at least the records read since then ÷ the time since
// then, outages included.
type blindRun struct {
	// since is when the job was last seen unsaturated (or the oldest
	// sample kept), span how long before the latest sample that was;
	// restarts are the runs begun since.
	since    time.Time
	span     time.Duration
	restarts int
	// least is the lower bound on the blind sources' offered rate
	// (records/s).
	least float64
	// catchUp is set while a stretch that began with a restart (the job
	// unsaturated just before it) is no longer than draining the outage's
	// backlog takes: before (records/s read before the restart) × the
	// outage ÷ (read now − before), plus the meters' window. drain is
	// that time. The job is then sized for before, without a probe.
	catchUp       bool
	before        float64
	outage, drain time.Duration
	// floor is that lower bound ÷ what the blind sources read now (0, 1]:
	// 1 for a job saturated since before its current run settled and
	// not restarted since, less after a restart while it catches up.
	floor float64
}

// blindEpisode measures the saturated stretch the latest sample ends for a
// blind job (j.blind). Samples in the first settle of a run are skipped
// (their rates ramp from 0); over a run's samples the blind sources read
// the mean of what its settled samples show, from the run's start (or
// the stretch's) to its last sample, and nothing between runs.
func blindEpisode(w []Sample, j jobView, settle, meters time.Duration) blindRun {
	b := blindRun{floor: 1}
	if len(w) == 0 {
		return b
	}
	last := w[len(w)-1]
	b.since = w[0].At
	first := 0
	for k := len(w) - 1; k >= 0; k-- {
		s := &w[k]
		if timeSub(s.At, s.Epoch) < settle || len(s.V) != len(j.vs) {
			continue
		}
		if !j.saturatedAt(s) {
			b.since, first = s.At, k+1
			break
		}
	}
	now := blindRead(&last, &j)
	if now <= 0 || !last.At.After(b.since) {
		return b
	}
	var read float64
	for k := first; k < len(w); {
		e := w[k].Epoch
		var m moments
		end := k
		for ; end < len(w) && sameTime(w[end].Epoch, e); end++ {
			if s := &w[end]; timeSub(s.At, e) >= settle && len(s.V) == len(j.vs) {
				m.add(blindRead(s, &j))
			}
		}
		from := e
		if from.Before(b.since) {
			from = b.since
		}
		if m.n > 0 {
			read += m.sum / m.n * w[end-1].At.Sub(from).Seconds()
		}
		k = end
	}
	for k := max(first, 1); k < len(w); k++ {
		if !sameTime(w[k].Epoch, w[k-1].Epoch) {
			b.restarts++
		}
	}
	if p := first - 1; b.restarts == 1 && p >= 0 && !sameTime(w[p].Epoch, w[first].Epoch) {
		b.before, b.outage = blindRead(&w[p], &j), last.Epoch.Sub(w[p].At)
		if b.before > 0 && now > b.before {
			// bounded so that a rate read barely above before cannot
			// overflow a Duration (a day is "not over yet" all the same)
			sec := math.Min(b.before*b.outage.Seconds()/(now-b.before), (24 * time.Hour).Seconds())
			b.drain = time.Duration(sec*float64(time.Second)) + meters
			b.catchUp = last.At.Sub(last.Epoch) < b.drain
		}
	}
	b.span = last.At.Sub(b.since)
	b.least = math.Min(read/b.span.Seconds(), now)
	if b.least > 0 {
		b.floor = b.least / now
	}
	return b
}

// blindRead is what the sources without pending records read in s.
func blindRead(s *Sample, j *jobView) float64 {
	sum := 0.0
	for i := range j.vs {
		if v := &j.vs[i]; v.source && v.est.pending < 0 && i < len(s.V) {
			sum += s.V[i].In
		}
	}
	return sum
}

// saturatedAt reports whether s shows the job saturated, as sumSources
// judges the latest sample: a vertex busy (its busiest subtask when
// keyed), a source back-pressured for saturated of the time, or a blind
// source reading at its learned ceiling.
func (j *jobView) saturatedAt(s *Sample) bool {
	for i := range j.vs {
		v, x := &j.vs[i], &s.V[i]
		busy := x.BusyAvg
		if v.units > 0 {
			busy = x.BusyMax
		}
		if busy >= saturated || (v.source && x.BP >= saturated) || (v.ceiling > 0 && atCeiling(*x, v.ceiling)) {
			return true
		}
	}
	return false
}

// describe ends the rationale's note on a blind job: what the saturated
// stretch says of the load and what the job is sized for.
func (b blindRun) describe(t text) text {
	if b.catchUp {
		return t.s(", catching up after a restart: the ").dur(b.outage).s(" outage's backlog at the ").si(b.before).
			s(" rec/s read before it drains in ~").dur(b.drain).s(" at the rate read now: sized for ").si(b.before).s(" rec/s, not probed)")
	}
	if b.restarts > 0 && b.floor < 1 {
		t = t.s(", catching up after a restart; read since it was last seen unsaturated ").dur(b.span).
			s(" ago, outage included: at least ").si(b.least).s(" rec/s offered")
	}
	if b.answered() {
		return t.s(": sized for that, not probed: it reads more than ").f(100*blindProbe, 0).s("% above it)")
	}
	return t.s(": sized for ").f(100*blindProbe, 0).s("% more)")
}

// capped marks the samples of w that show the job saturated while a source
// cannot show its backlog, and those less than the meters' window after
// one (their averages still hold it): their offered rate is what the job
// could read, its capacity (and after a restart the catch-up), not what
// was offered, so the load's drift and the scale-down window's peak leave
// them out.
// Nil when every source shows its backlog.
func (j jobView) capped(w []Sample, meters time.Duration) []bool {
	if !j.hasBlindSource() {
		return nil
	}
	out := make([]bool, len(w))
	var sat time.Time
	for k := range w {
		s := &w[k]
		if len(s.V) == len(j.vs) && j.saturatedAt(s) {
			sat = s.At
		}
		out[k] = !sat.IsZero() && timeSub(s.At, sat) < meters
	}
	return out
}

// awaitCatchUp says why to wait when the job's sources cannot show their
// backlog and it was saturated less than the meters' window (rate) ago
// but is not now: its rates are averages over that window, so what a
// source reads still holds the catch-up (or the capacity) it read while
// saturated, not what is offered; sized on it, the job would be scaled up
// for a backlog that is gone. Empty when there is nothing to wait for.
func awaitCatchUp(w []Sample, j jobView, settle, meters time.Duration) string {
	if j.blind {
		return awaitBlindFall(w, j, settle)
	}
	if len(w) < 2 || !j.hasBlindSource() {
		return ""
	}
	last := w[len(w)-1]
	for k := len(w) - 2; k >= 0 && timeSub(last.At, w[k].At) < meters; k-- {
		if len(w[k].V) == len(j.vs) && j.saturatedAt(&w[k]) {
			return fmt.Sprintf("the job was saturated %s ago and a source shows no backlog: its rates, averaged over %s, still hold the catch-up; waiting for them to show the load",
				last.At.Sub(w[k].At).Round(time.Second), meters)
		}
	}
	return ""
}

// awaitBlindFall says why to wait when a saturated blind job's sources
// read at least blindFall less over the freshest samples (freshOffered)
// than their rate meters, which average the last minute, say: the read
// falls, so what held the job at its capacity is going (the backlog a
// restart left is drained, or the load fell), and the meters still hold
// the minute it read at its capacity. Probed then, the job is sized 25 %
// above a catch-up that has just ended (chains-windows: map 4→6 a minute
// after a step's scale-up had drained its backlog, where 4 carried the
// load). What it trades: a probe that a falling read answers waits a
// meter window; a job whose read falls while still saturated (a load that
// fell to just below its capacity) is probed a minute later. Empty when
// the read does not fall or is not known that far back.
func awaitBlindFall(w []Sample, j jobView, settle time.Duration) string {
	now, fresh := 0.0, 0.0
	for i, v := range j.vs {
		if !v.source || v.est.pending >= 0 {
			continue
		}
		f, _, ok := freshOffered(w, i, settle)
		if !ok {
			return ""
		}
		now, fresh = now+v.est.in, fresh+f
	}
	if now <= 0 || fresh > now*(1-blindFall) {
		return ""
	}
	return fmt.Sprintf("the job reads at its capacity and a source shows no backlog, but its sources read %s rec/s over the last %s, %.0f%% under the %s their meters average over a minute: what saturated it is going; waiting for the meters to show the load before probing",
		string(text{}.si(fresh)), freshSpan, 100*(1-fresh/now), string(text{}.si(now)))
}

// blindFall is the least fall of a saturated blind job's freshest read
// under its meters' minute that awaitBlindFall takes as its saturation
// going: a read held at the job's capacity is flat (within flatRead),
// while a step down or the end of a catch-up shows within 20 s.
const blindFall = 0.04

// hiddenCatchUp marks the samples of w whose sources' rates may still
// average a restart's catch-up that their pending records no longer show,
// in a run whose sources' pending records fell by more than the sources
// could have emitted (pendingCollapsed: the backlog pulled into the
// readers at once, where pendingRecords does not count it): a sample of
// that run in its first settle showing the job saturated while every
// source that reports pending records shows less than a second of its
// records in (the job working off the hidden backlog as fast as it
// takes it), and the samples of that run less than the meters' window
// after it. Their offered rate is the catch-up, not the load: constant-
// noise on real Flink (session 20) read 1,214 rec/s 77 s after a restart
// where 600 are offered (the restart's first settled sample; pending
// 27,054 → 14,614 → 4 in the run's first 17 s while the source emitted
// nothing), a ±30 % load uncertainty the undo was sized for. A run whose
// pending fell no faster than its sources emitted is left alone: a drain
// that ends inside the run's first minute reads the same saturated
// minute with no pending, and there the load it reads is the load
// (session 20's mark without this condition: meter-readings-quarter-hour
// p99 146 → 171 s, metrics-rollup-minincrease-blind 283 → 413 s). Only
// when every source reports pending records (a blind source's catch-up
// is capped's). Nil when no sample is marked.
func (j jobView) hiddenCatchUp(w []Sample, settle, meters time.Duration) []bool {
	if !j.pendingKnown() {
		return nil // a blind source's catch-up is capped's
	}
	var out []bool
	var sat time.Time
	collapsed := false
	for k := range w {
		s := &w[k]
		if k > 0 && !sameTime(s.Epoch, w[k-1].Epoch) {
			sat, collapsed = time.Time{}, false
		}
		if k > 0 && !collapsed && sameTime(s.Epoch, w[k-1].Epoch) && j.pendingCollapsed(&w[k-1], s, meters) {
			collapsed = true
		}
		if collapsed && timeSub(s.At, s.Epoch) < settle && len(s.V) == len(j.vs) && j.saturatedAt(s) && j.showsNoBacklog(s) {
			sat = s.At
		}
		if !sat.IsZero() && timeSub(s.At, sat) < meters {
			if out == nil {
				out = make([]bool, len(w))
			}
			out[k] = true
		}
	}
	return out
}

// pendingCollapsed: from sample p to s (one run) some source's pending
// records fell by more than it could have emitted: more than its rate
// meter's whole window at s (meters × its rate), which holds every record
// it emitted since p when p is less than a window before s. A source
// drains its pending records by emitting them, so only a backlog taken
// off pendingRecords' count without being emitted falls faster (a FLIP-27
// reader pulling a restart's backlog into its queue at once: constant-
// noise on real Flink, 14,614 → 4 with nothing emitted; keyed-aggregation,
// 31,156 → 22 where its meter's minute held 14,160).
func (j *jobView) pendingCollapsed(p, s *Sample, meters time.Duration) bool {
	if len(p.V) != len(j.vs) || len(s.V) != len(j.vs) || timeSub(s.At, p.At) > meters {
		return false
	}
	for i := range j.vs {
		a, b := &p.V[i], &s.V[i]
		if !j.vs[i].source || a.Pending < 0 || b.Pending < 0 {
			continue
		}
		if a.Pending-b.Pending > meters.Seconds()*math.Max(math.Max(b.In, b.Out), 0)+1 {
			return true
		}
	}
	return false
}

// showsNoBacklog: no source of s shows a second of its records in
// pending (every source reports them: hiddenCatchUp).
func (j *jobView) showsNoBacklog(s *Sample) bool {
	shown := false
	for i := range j.vs {
		if x := &s.V[i]; j.vs[i].source && x.Pending >= 0 {
			if x.Pending > math.Max(x.In, 0) {
				return false
			}
			shown = true
		}
	}
	return shown
}

func (j jobView) hasBlindSource() bool {
	for _, v := range j.vs {
		if v.source && v.est.pending < 0 {
			return true
		}
	}
	return false
}

// at reports whether mask marks index i (a nil mask marks none).
func at(mask []bool, i int) bool { return i < len(mask) && mask[i] }

// sizing is what a blind source's read rate is multiplied by to size the
// job: the rate read before the restart while catching up after it; the
// least load shown when the probe is answered; else that load plus the
// probe.
func (b blindRun) sizing() float64 {
	switch {
	case b.catchUp:
		return b.before / (b.least / b.floor)
	case b.answered():
		return b.floor
	}
	return b.floor * (1 + blindProbe)
}

// answered: after a restart within the stretch the job reads at least
// blindProbe more than the least load it has shown, so a probe would ask
// for no more capacity than it has (its saturation is the catch-up of the
// backlog that load left); it is probed again only once that load comes
// within blindProbe of what it reads.
func (b blindRun) answered() bool {
	return !b.catchUp && b.restarts > 0 && b.floor*(1+blindProbe) <= 1
}
