package policy

import (
	"math"
	"strconv"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// label names a candidate: "keeping", or its headroom and slots.
func (e evaluation) label(b text) text {
	if e.keep() {
		return b.s("keeping")
	}
	if e.capped() && !math.IsInf(e.h, 0) {
		// the level it was sized for is not what it carries
		b = b.i(e.slots).s(" slots (the most that fit: ")
		if e.h >= 0 {
			b = b.s("+")
		}
		b = b.f(100*e.h, 0).s("% headroom)")
	} else {
		b = b.i(e.slots).s(" slots (+").f(100*e.headroom, 0).s("% headroom)")
	}
	if e.after > 0 {
		b = b.s(" after the checkpoint in ").dur(e.after)
	}
	switch {
	case e.released != nil && e.held:
		b = b.s(", released to ").i(e.released.slots).s(" slots ").dur(undoWindow).s(" after it runs (the lag drains in ~").dur(e.drained).s(": sooner would undo it on the same load for less than its restart)")
	case e.released != nil:
		b = b.s(", released to ").i(e.released.slots).s(" slots once the lag drains (~").dur(e.drained).s(")")
	}
	if e.back != nil {
		b = b.s(", undone in ~").dur(e.back.in).s(" (forecast: the load rose from its level now to ×").f(e.back.peak, 2).
			s(" of it, above what this carries, ").i(e.back.seen).s(" times, every ~").dur(e.back.every).s(": that restart priced)")
	}
	return b
}

// summary states what the candidate trades: "6 slots (+20% headroom): 1
// restart, ~40 s over the SLO, lag ~5 s, +1800 slot-s/h".
func (e evaluation) summary() string { return string(e.sum(make(text, 0, 128))) }

func (e evaluation) sum(b text) text {
	b = e.label(b).s(": ").f(e.restarts, 1).s(" restarts, ~").f(e.over, 0).s(" s over the SLO, lag ~").f(e.lag, 0).s(" s")
	if !e.keep() {
		b = b.s(", ")
		if e.dSlot >= 0 {
			b = b.s("+")
		}
		b = b.f(e.dSlot*3600/horizon.Seconds(), 0).s(" slot-s/h")
	}
	return b
}

// holdSentence explains why keeping won: its figures and the best change's.
func holdSentence(evs []evaluation, ld load, lim limits) string {
	s := "keeping is cheapest: " + evs[0].summary()
	var alt *evaluation
	for i := range evs[1:] {
		if e := &evs[i+1]; alt == nil || e.cost < alt.cost {
			alt = e
		}
	}
	if alt != nil {
		s += "; best change " + alt.summary()
	}
	return s + string(capSentence(nil, evs, ld, lim)) + "; " + ld.String()
}

// capSentence appends to b, when the slots the job can take (a session
// cluster's, or maxTaskManagers') cannot carry its demand, what the most
// of them carry and what that leaves over the SLO: "; the 24 slots the
// session cluster has for the job carry ~38.0k of the 44.0k rec/s it
// needs: ~120 s over the SLO at best; the SLO cannot be met within them".
// Nothing when no candidate was capped or the largest that fits carries
// the demand.
func capSentence(b text, evs []evaluation, ld load, lim limits) text {
	var most *evaluation
	for i := range evs {
		if e := &evs[i]; e.capped() && !math.IsInf(e.h, 0) && (most == nil || e.h > most.h) {
			most = e
		}
	}
	if most == nil || most.h >= 0 {
		return b
	}
	need := ld.offered * ld.forecast
	if lim.session {
		b = b.s("; the ").i(most.slots).s(" slots the session cluster has for the job")
	} else {
		b = b.s("; the ").i(lim.maxTMs).s(" TaskManagers maxTaskManagers allows (").i(most.slots).s(" slots)")
	}
	return b.s(" carry ~").si(need*(1+most.h)).s(" of the ").si(need).s(" rec/s it needs: ~").f(most.over, 0).
		s(" s over the SLO at best; the SLO cannot be met within them")
}

// newDecision is a decision of ours on g's snapshot, made now, with what
// every decision carries: its ID, the job and the user's mode. The caller
// fills in what it decides.
func newDecision(g gateInput, snapshotID string) *events.Decision {
	s := g.snap
	return &events.Decision{
		DecisionID: decisionID(s.Cluster, s.JobID, Name, g.now),
		SnapshotID: snapshotID,
		Cluster:    s.Cluster, JobID: s.JobID, JobName: s.JobName,
		Mode: g.cfg.Mode, Workload: g.cfg.Workload, Policy: Name, DryRun: g.cfg.DryRun,
		DecidedAt: g.now,
	}
}

// decision builds the decision for the chosen evaluation.
// dem is j's demand at ld's forecast (weigh's).
func decision(g gateInput, snapshotID string, j jobView, best evaluation, evs []evaluation, ld load, rc restartCost, sc []scaling, lim limits, dem []float64) *events.Decision {
	s := g.snap
	d := newDecision(g, snapshotID)
	d.Rationale = rationale(j, best, evs, ld, rc, lim)
	sharing := g.cfg.Slots.Sharing
	if lim.layout.Dedicated {
		sharing = events.SlotSharingDedicated
		if g.cfg.Slots.Sharing != events.SlotSharingDedicated {
			d.Rationale += unfitNote
		}
	} else if countsLearned(lim.layout) {
		d.Rationale += learnedNote
	}
	d.Slots = events.Slots{PerTaskManager: lim.layout.PerTaskManager, Sharing: sharing, Standby: lim.layout.Standby}
	if len(lim.layout.Groups) > 0 {
		d.Slots.Groups = lim.layout.Groups
	}
	d.TaskManagers = events.Count{Current: s.TaskManagers, Target: s.TaskManagers}
	if g.cfg.Mode != events.ModeSession {
		d.TaskManagers.Target = best.tms
	}
	d.Vertices = make([]events.VertexDecision, 0, len(j.vs))
	// Every vertex's reason is written into one text and cut from one
	// string.
	var buf [2048]byte // most jobs' reasons fit; copied into the string
	b := text(buf[:0])
	var endBuf [16]int // most jobs' vertex count: each reason's end
	ends := endBuf[:0]
	for i, v := range j.vs {
		b = appendVertexReason(b, v, sc[i], dem[i], best.ps[i])
		if best.notes != nil {
			for _, n := range best.notes[i] {
				b = n.appendTo(b.s("; "))
			}
		}
		if i < 64 && best.raised&(1<<i) != 0 {
			b = b.s("; ").s(raisedNote)
		}
		ends = append(ends, len(b))
	}
	all, from := string(b), 0
	for i, v := range j.vs {
		d.Vertices = append(d.Vertices, events.VertexDecision{ID: v.id, Name: v.name, Current: v.cur, Target: best.ps[i], Reason: all[from:ends[i]]})
		from = ends[i]
	}
	if len(lim.layout.Alternatives) > 0 {
		// the grouping that counts the targets as the policy did, for
		// actuate's count of the TaskManagers
		targets := make(map[string]int, len(d.Vertices))
		for _, v := range d.Vertices {
			targets[v.ID] = v.Target
		}
		d.Slots.Groups = lim.layout.Most(targets).Groups
	}
	return d
}

// undoneBelow is the release to fewer slots than best's that a rise seen
// to repeat would undo (the fewest slots of them), nil for none: what the
// chosen size traded against.
func undoneBelow(best evaluation, evs []evaluation) *evaluation {
	var u *evaluation
	for i := range evs {
		if e := &evs[i]; e.back != nil && e.paid < best.paid && (u == nil || e.paid < u.paid) {
			u = e
		}
	}
	return u
}

// rationale: the load, its uncertainty, the restart's price, what keeping
// and the chosen change trade, and the changes.
func rationale(j jobView, best evaluation, evs []evaluation, ld load, rc restartCost, lim limits) string {
	b := make(text, 0, 512)
	b = b.s("offered ").si(j.offered).s(" rec/s")
	if j.minute > 0 && j.offered > j.minute*(1+freshRise/2) {
		b = b.s(" (a step up read over the last ").dur(freshSpan).s("; the minute's rates show ").si(j.minute).s(")")
	}
	if j.pending > 0 {
		b = j.userLagNote(b.s(", lag ").f(j.lag, 0).s(" s"))
	}
	if j.blind {
		b = j.run.describe(j.ceilingNote(b.s(" (a source shows no backlog and the job is saturated")))
	}
	b = rc.describe(ld.describe(b.s("; ")).s("; "))
	b = best.recovery.describe(best.sum(evs[0].sum(b.s("; ")).s("; ")), best, evs)
	if u := undoneBelow(best, evs); u != nil {
		b = u.sum(b.s("; "))
	}
	b = capSentence(b, evs, ld, lim)
	b = b.s(" → scale ")
	first := true
	for i, v := range j.vs {
		if best.ps[i] != v.cur {
			if !first {
				b = b.s(", ")
			}
			b, first = b.s(v.name).s(" ").i(v.cur).s("→").i(best.ps[i]), false
		}
	}
	return string(b)
}

// appendVertexReason appends to b why v goes to p: its busy time, rates,
// true rate, efficiency, demand and the headroom p leaves.
func appendVertexReason(b text, v vertexView, sc scaling, demand float64, p int) text {
	b = b.s(v.name).s(": ")
	if v.est.busy >= 0 {
		b = b.s("busy ").f(100*v.est.busy, 0).s("% ")
	}
	if v.est.noise > 0 {
		b = b.s("(busiest subtask: max ").f(100*v.est.busyMax, 0).s("% less the max of ").i(v.cur).
			s(" readings' ±").f(100*v.est.noise, 1).s("% noise) ")
	}
	b = b.s("at ").si(v.est.in).s(" rec/s")
	if v.source && v.est.pending >= 0 {
		b = b.s(", ").si(v.est.pending).s(" pending (")
		if v.est.slope >= 0 {
			b = b.s("+")
		}
		b = b.si(v.est.slope).s("/s)")
	}
	switch {
	case v.rate <= 0:
		return b.s("; capacity unknown (no busy time and not lagging); kept at ").i(v.cur)
	case v.ceiling > 0:
		if v.est.busy >= 0 {
			b = b.s("; no backlog shown and busy time under-read")
		} else {
			b = b.s("; no busy time or backlog shown")
		}
		b = b.s(": at its learned ceiling of ").si(v.ceiling).
			s(" rec/s per subtask (read catching up after a restart) it is ").f(100*v.est.in/(v.ceiling*float64(v.cur)), 0).s("% of it")
	case v.observed:
		b = b.s("; true rate ").si(v.rate).s(" per subtask, observed from its growing lag (busy under-reads)")
	default:
		b = b.s("; true rate ").si(v.rate).s(" per subtask")
	}
	if p < v.cur && v.lowRate > 0 && v.lowRate != v.rate {
		b = b.s(" (").si(v.lowRate).s(" below ").i(v.cur).s(": a release is sized on the busy max as read)")
	}
	b = b.s(" at efficiency p^").f(sc.a, 2).s("±").f(sc.sd, 2).s(" (").i(sc.fitted).s(" parallelisms measured); needs ").
		si(demand).s(" rec/s → ").i(p).s(" subtasks")
	if demand > 0 {
		b = b.s(" (").f(100*(capacityAt(&v, p, sc.a)/demand-1), 0).s("% headroom)")
	}
	if s, c, ok := v.boundBy(p); ok {
		if free := v.unbounded(p, sc.a); c < free {
			b = b.s("; ").i(p).s(" subtasks priced at ").si(c).s(" rec/s, what ").i(s.P).s(" carried saturated, not the efficiency's ").si(free)
		}
	}
	if sc.ineffective > 0 {
		b = b.s("; scaling above ").i(sc.ineffective).s(" was measured ineffective")
	}
	return b
}

// text appends formatted figures without fmt's interface conversions:
// a decision formats a line per vertex.
type text []byte

func (t text) s(x string) text { return append(t, x...) }

// f appends x with prec decimals, as strconv.AppendFloat(t, x, 'f', prec,
// 64) does (appendFixed when it can tell the digits for sure).
func (t text) f(x float64, prec int) text {
	if b, ok := appendFixed(t, x, prec); ok {
		return b
	}
	return strconv.AppendFloat(t, x, 'f', prec, 64)
}

// fixedScale is 10^prec for the precisions appendFixed handles.
var fixedScale = [3]float64{1, 10, 100}

// appendFixed appends x with prec (0–2) decimals, the digits strconv's
// 'f' format gives (x's exact value rounded half to even), without its
// general algorithm: a decision formats some hundred figures. x × 10^prec
// is rounded to the nearest integer; the product's rounding error is at
// most half its last bit, so when its fraction is further than that from
// a half the nearest integer is the exact value's. false (nothing
// appended) for a fraction that close, |x| ≥ 1e9, NaN or infinities:
// strconv decides those.
func appendFixed(b []byte, x float64, prec int) ([]byte, bool) {
	a := math.Abs(x)
	if prec < 0 || prec >= len(fixedScale) || !(a < 1e9) {
		return b, false
	}
	y := a * fixedScale[prec]
	n := math.Floor(y)
	frac := y - n
	if math.Abs(frac-0.5) <= y*1e-15+1e-300 {
		return b, false
	}
	u := uint64(n)
	if frac > 0.5 {
		u++
	}
	if math.Signbit(x) {
		b = append(b, '-')
	}
	var buf [24]byte
	i := len(buf)
	for range prec {
		i--
		buf[i] = byte('0' + u%10)
		u /= 10
	}
	if prec > 0 {
		i--
		buf[i] = '.'
	}
	for {
		i--
		buf[i] = byte('0' + u%10)
		if u /= 10; u == 0 {
			break
		}
	}
	return append(b, buf[i:]...), true
}

func (t text) i(x int) text { return strconv.AppendInt(t, int64(x), 10) }

func (t text) dur(d time.Duration) text { return t.s(d.Round(time.Second).String()) }

func (t text) si(x float64) text {
	a := math.Abs(x)
	switch {
	case a >= 1e9:
		return t.f(x/1e9, 1).s("G")
	case a >= 1e6:
		return t.f(x/1e6, 1).s("M")
	case a >= 1e3:
		return t.f(x/1e3, 1).s("k")
	}
	return t.f(x, 0)
}

// userLagNote names the sources whose backlog is a user's lag metric.
func (j jobView) userLagNote(b text) text {
	sep := " (the user's lag metric for "
	for _, v := range j.vs {
		if v.userLag {
			b, sep = b.s(sep).s(v.name), ", "
		}
	}
	if sep == ", " {
		b = b.s(")")
	}
	return b
}

// ceilingNote names the blind sources that read at their learned ceiling,
// the saturation nothing else shows.
func (j jobView) ceilingNote(b text) text {
	for _, v := range j.vs {
		if v.atCeiling() {
			b = b.s(": ").s(v.name).s(" reads ").si(v.est.in).s(" rec/s, ").f(100*v.est.in/(v.ceiling*float64(v.cur)), 0).
				s("% of its learned ceiling (").si(v.ceiling).s(" rec/s per subtask, read catching up after a restart)")
		}
	}
	return b
}
