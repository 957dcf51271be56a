package policy

import (
	"fmt"
	"strings"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// label names a candidate: "keeping", or its headroom and slots.
func (e evaluation) label() string {
	if e.keep() {
		return "keeping"
	}
	s := fmt.Sprintf("%d slots (+%.0f%% headroom)", e.slots, 100*e.headroom)
	if e.after > 0 {
		s += fmt.Sprintf(" after the checkpoint in %s", e.after.Round(time.Second))
	}
	if e.released != nil {
		s += fmt.Sprintf(", released to %d slots once the lag drains (~%s)", e.released.slots, e.drained.Round(time.Second))
	}
	return s
}

// summary states what the candidate trades: "6 slots (+20% headroom): 1
// restart, ~40 s over the SLO, lag ~5 s, +1,800 slot-s/h".
func (e evaluation) summary() string {
	s := fmt.Sprintf("%s: %.1f restarts, ~%.0f s over the SLO, lag ~%.0f s", e.label(), e.restarts, e.over, e.lag)
	if !e.keep() {
		s += fmt.Sprintf(", %+.0f slot-s/h", e.dSlot*3600/horizon.Seconds())
	}
	return s
}

// holdSentence explains why keeping won: its figures and the best change's.
func holdSentence(evs []evaluation, ld load) string {
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
	return s + "; " + ld.String()
}

// decision builds the decision for the chosen evaluation.
func decision(r *run, j jobView, best evaluation, evs []evaluation, ld load, rc restartCost, sc []scaling, lim limits) *events.Decision {
	s := r.snap
	d := &events.Decision{
		DecisionID: decisionID(s.Cluster, s.JobID, r.policy, r.now),
		SnapshotID: r.in.SnapshotID,
		Cluster:    s.Cluster, JobID: s.JobID, JobName: s.JobName,
		Mode: r.cfg.Mode, Workload: r.cfg.Workload, Policy: r.policy, DryRun: r.cfg.DryRun,
		Rationale: rationale(j, best, evs, ld, rc),
		DecidedAt: r.now,
	}
	sharing := r.cfg.Slots.Sharing
	if lim.layout.Dedicated {
		sharing = events.SlotSharingDedicated
	}
	d.Slots = events.Slots{PerTaskManager: lim.layout.PerTaskManager, Sharing: sharing, Standby: lim.layout.Standby}
	if len(lim.layout.Groups) > 0 {
		d.Slots.Groups = lim.layout.Groups
	}
	d.TaskManagers = events.Count{Current: s.TaskManagers, Target: s.TaskManagers}
	if r.cfg.Mode != events.ModeSession {
		d.TaskManagers.Target = best.tms
	}
	dem := j.demand(ld.forecast)
	for i, v := range j.vs {
		reason := vertexReason(v, sc[i], dem[i], best.ps[i])
		if len(best.notes[i]) > 0 {
			reason += "; " + strings.Join(best.notes[i], "; ")
		}
		d.Vertices = append(d.Vertices, events.VertexDecision{ID: v.id, Name: v.name, Current: v.cur, Target: best.ps[i], Reason: reason})
	}
	return d
}

// rationale: the load, its uncertainty, the restart's price, what keeping
// and the chosen change trade, and the changes.
func rationale(j jobView, best evaluation, evs []evaluation, ld load, rc restartCost) string {
	var b strings.Builder
	fmt.Fprintf(&b, "offered %s rec/s", si(j.offered))
	if j.pending > 0 {
		fmt.Fprintf(&b, ", lag %.0f s", j.lag)
	}
	if j.blind {
		fmt.Fprintf(&b, " (a source shows no backlog and the job is saturated: sized for %.0f%% more)", 100*blindProbe)
	}
	fmt.Fprintf(&b, "; %s; restart %s (outage %s, %s", ld, rc.downtime.Round(time.Second), rc.outage.Round(time.Second), rc.why)
	if rc.observed > 0 {
		fmt.Fprintf(&b, "; from %d observed", rc.observed)
	}
	fmt.Fprintf(&b, "); %s; %s → scale ", evs[0].summary(), best.summary())
	var parts []string
	for i, v := range j.vs {
		if best.ps[i] != v.cur {
			parts = append(parts, fmt.Sprintf("%s %d→%d", v.name, v.cur, best.ps[i]))
		}
	}
	b.WriteString(strings.Join(parts, ", "))
	return b.String()
}

func vertexReason(v vertexView, sc scaling, demand float64, p int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "%s: ", v.name)
	if v.est.busy >= 0 {
		fmt.Fprintf(&b, "busy %.0f%% ", 100*v.est.busy)
	}
	fmt.Fprintf(&b, "at %s rec/s", si(v.est.in))
	if v.source && v.est.pending >= 0 {
		fmt.Fprintf(&b, ", %s pending (%+s/s)", si(v.est.pending), si(v.est.slope))
	}
	switch {
	case v.rate <= 0:
		fmt.Fprintf(&b, "; capacity unknown (no busy time and not lagging); kept at %d", v.cur)
		return b.String()
	case v.observed:
		fmt.Fprintf(&b, "; true rate %s per subtask, observed from its growing lag (busy under-reads)", si(v.rate))
	default:
		fmt.Fprintf(&b, "; true rate %s per subtask", si(v.rate))
	}
	fmt.Fprintf(&b, " at efficiency p^%.2f±%.2f (%d parallelisms measured); needs %s rec/s → %d subtasks",
		sc.a, sc.sd, sc.fitted, si(demand), p)
	if c := capacityAt(v, p, sc.a); demand > 0 {
		fmt.Fprintf(&b, " (%.0f%% headroom)", 100*(c/demand-1))
	}
	if sc.ineffective > 0 {
		fmt.Fprintf(&b, "; scaling above %d was measured ineffective", sc.ineffective)
	}
	return b.String()
}
