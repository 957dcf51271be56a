package policy

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"strings"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// stepEmit makes a decision when a target differs from the current
// parallelism, and remembers it.
func stepEmit(r *run) *hold {
	if !r.any(func(vp *vplan) bool { return vp.p != vp.cur }) {
		return holdf(HoldNoChange, fmt.Sprintf("every vertex within its band around %.0f%% utilization", 100*r.util))
	}
	r.emit(r.rationale())
	return nil
}

func (r *run) rationale() string {
	var b strings.Builder
	fmt.Fprintf(&b, "offered %s rec/s", si(r.offered))
	if r.pending > 0 {
		fmt.Fprintf(&b, ", %s pending", si(r.pending))
		if r.backlog {
			b.WriteString(" (backlog)")
		}
	}
	util, cv := r.util, r.cv
	switch {
	case r.any(func(vp *vplan) bool { return vp.p > vp.cur }):
		cv = r.upCV
	case r.any(func(vp *vplan) bool { return vp.p < vp.cur }):
		cv = r.downCV
	}
	if cv != r.cv {
		util = r.utilTarget(cv)
	}
	fmt.Fprintf(&b, "; utilization target %.0f%% (load volatility %.1f%%); restart %s; ",
		100*util, 100*cv, r.downtime.Round(time.Second))
	b.WriteString(r.changes())
	return b.String()
}

// changes lists "name a→b" for every changed vertex.
func (r *run) changes() string {
	var parts []string
	for _, vp := range r.vs {
		if vp.p != vp.cur {
			parts = append(parts, fmt.Sprintf("%s %d→%d", vp.name, vp.cur, vp.p))
		}
	}
	return "scale " + strings.Join(parts, ", ")
}

// emit builds the decision from r.vs and records it in the state.
func (r *run) emit(rationale string) {
	s := r.snap
	d := &events.Decision{
		DecisionID: decisionID(s.Cluster, s.JobID, r.policy, r.now),
		SnapshotID: r.in.SnapshotID,
		Cluster:    s.Cluster,
		JobID:      s.JobID,
		JobName:    s.JobName,
		Mode:       r.cfg.Mode,
		Workload:   r.cfg.Workload,
		Policy:     r.policy,
		DryRun:     r.cfg.DryRun,
		Rationale:  rationale,
		DecidedAt:  r.now,
	}
	layout := r.layout().Most(r.targets())
	d.Slots = events.Slots{PerTaskManager: layout.PerTaskManager, Sharing: r.cfg.Slots.Sharing, Standby: layout.Standby}
	if len(layout.Groups) > 0 {
		d.Slots.Groups = layout.Groups
	}
	d.TaskManagers = events.Count{Current: s.TaskManagers, Target: s.TaskManagers}
	if r.cfg.Mode != events.ModeSession {
		if tms, err := layout.TaskManagers(r.targets()); err == nil {
			d.TaskManagers.Target = tms
		}
	}
	r.recordFloors()
	before := make(map[string]Capacity, len(r.vs))
	for _, vp := range r.vs {
		reason := vp.reason
		if reason == "" {
			reason = r.explain(&vp)
		}
		if len(vp.notes) > 0 {
			reason += "; " + strings.Join(vp.notes, "; ")
		}
		d.Vertices = append(d.Vertices, events.VertexDecision{ID: vp.id, Name: vp.name, Current: vp.cur, Target: vp.p, Reason: reason})
		if vp.est.perSubtask > 0 && !vp.est.idle {
			before[vp.id] = Capacity{P: vp.cur, PerSubtask: vp.est.perSubtask}
		}
	}
	r.decision = d
	r.st.Rescale = &Rescale{DecisionID: d.DecisionID, At: r.now, Targets: r.targets(), Before: before}
	r.st.UpSince = time.Time{}
	r.st.ScaleDowns = nil
	r.st.Release = r.release()
}

// release is the kind of release a decision's scale-up plans, "" for none
// (State.Release).
func (r *run) release() string {
	switch {
	case !r.any(func(vp *vplan) bool { return vp.p > vp.cur }):
		return ""
	case r.backlog || r.lagging():
		return ReleaseBacklog
	case r.level < r.cfg.ScaleDownWindow:
		return ReleaseLevel
	}
	return ""
}

// recordFloors remembers, for every vertex scaled up, the parallelism it
// leaves and the rate it could not carry there; other vertices keep theirs.
func (r *run) recordFloors() {
	floors := make(map[string]Floor, len(r.vs))
	for _, vp := range r.vs {
		f, ok := r.st.Floors[vp.id]
		if vp.p > vp.cur {
			f, ok = Floor{P: vp.cur, Rate: vp.steady}, true
		}
		if ok {
			floors[vp.id] = f
		}
	}
	r.st.Floors = floors
}

// decisionID is derived from the job, policy and event time, so a
// redelivered snapshot yields the same id and JetStream drops the duplicate.
func decisionID(cluster, job, policy string, at time.Time) string {
	var buf [128]byte // most keys fit: hashed without a copy on the heap
	key := append(buf[:0], cluster...)
	key = append(append(key, 0), job...)
	key = append(append(key, 0), policy...)
	key = at.UTC().AppendFormat(append(key, 0), time.RFC3339Nano)
	h := sha256.Sum256(key)
	var id [32]byte
	hex.Encode(id[:], h[:16])
	return string(id[:])
}
