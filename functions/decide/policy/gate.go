package policy

import (
	"fmt"
	"math"
	"strings"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// Plausibility limits: a figure beyond them is a broken metric, not a load.
const (
	maxRate        = 1e12 // records/s or records
	maxParallelism = 32768
	maxVertices    = 10000
	// maxJump is how far ahead of the last snapshot observedAt may jump
	// before the snapshot is treated as a clock error.
	maxJump = 6 * time.Hour
	// busySlack tolerates ms/s figures a little over 1000 from rounding.
	busySlack = 1.05
)

// run is the working data of a baseline's (and V1's) sizing steps, built
// from what the gates returned; the gates themselves never see it.
type run struct {
	in       Input
	cfg      Config
	snap     *events.Snapshot
	st       State
	now      time.Time
	policy   string
	vs       []vplan
	idx      map[string]int
	sources  []bool
	decision *events.Decision
	// Job-level figures for the rationale.
	offered, pending, util, cv float64
	consumed                   float64 // the sources' records in
	backlog                    bool
	// restartLags: the backlog a restart leaves (the pending records, the
	// downtime's input and the replay) puts the job above its SLO.
	restartLags bool
	downtime    time.Duration
	// upCV and downCV are the volatilities a scale-up and a scale-down are
	// sized with (stepSize).
	upCV, downCV float64
	// level is how long the offered rate has held within the band.
	level time.Duration
	// released: stabilize found a planned release or a drop due.
	released bool
}

// gateInput is what the gates read of one Decide call: the snapshot, the
// policy's config (with the policy's own overrides applied), the event
// time, and whether the policy accepts a source whose busy, idle or
// back-pressured time or pending records are missing (lenient: a legacy
// source reports busy as NaN, many connectors report no pendingRecords;
// such a source must not hold the other vertices). No gate writes it.
type gateInput struct {
	snap    *events.Snapshot
	cfg     Config
	now     time.Time
	lenient bool
	// scr is the decision's scratch (Decide's; nil: none, every buffer
	// is allocated).
	scr *scratch
}

// gate is one acceptance step: the job's state before it in, the state
// after it out. A non-nil hold ends the gates; the state returned with it
// is the one to store.
type gate func(gateInput, State) (State, *hold)

// newGateInput is in's snapshot and event time (observedAt when in.Now is
// zero) with cfg, lenient or not.
func newGateInput(in *Input, cfg Config, lenient bool) gateInput {
	now := in.Now
	if now.IsZero() {
		now = in.Snapshot.ObservedAt
	}
	snap := in.Snapshot // only the snapshot goes to the heap with g, not all of in
	return gateInput{snap: &snap, cfg: cfg, now: now, lenient: lenient}
}

// accept runs gates in order from st (stamped with StateVersion) and
// returns the state the last one left, or the first hold and the state
// then.
func accept(g gateInput, st State, gates []gate) (State, *hold) {
	st.Version = StateVersion
	for _, gt := range gates {
		var h *hold
		if st, h = gt(g, st); h != nil {
			return st, h
		}
	}
	return st, nil
}

// decideWith accepts in's snapshot through gates, with cfg as the
// policy's config (lenient: gateInput), then runs steps on a run built
// from the state the gates returned: how V1 and the baselines decide.
func decideWith(in Input, name string, cfg Config, lenient bool, gates []gate, steps []step) Output {
	g := newGateInput(&in, cfg, lenient)
	st, h := accept(g, in.State, gates)
	if h != nil {
		return Output{NewState: st, HoldKind: h.kind, Hold: h.msg}
	}
	r := &run{in: in, cfg: cfg, snap: g.snap, st: st, now: g.now, policy: name, idx: vertexIndex(g.snap)}
	return r.runSteps(steps)
}

// gateOrder drops duplicate, out-of-order and far-future snapshots and
// moves LastObservedAt to an accepted one.
func gateOrder(g gateInput, st State) (State, *hold) {
	last := st.LastObservedAt
	switch {
	case g.now.IsZero():
		return st, holdf(HoldInvalid, "snapshot has no observedAt")
	case !last.IsZero() && g.now.Equal(last):
		return st, holdf(HoldDuplicate, "duplicate snapshot of "+last.Format(time.RFC3339Nano))
	case g.now.Before(last):
		return st, holdf(HoldOutOfOrder, fmt.Sprintf("snapshot of %s is older than the last one (%s)",
			g.now.Format(time.RFC3339), last.Format(time.RFC3339)))
	}
	n := len(st.Window)
	if !last.IsZero() && g.now.Sub(last) > maxJump && (n == 0 || g.now.Sub(st.Window[n-1].At) > maxJump ||
		st.Window[n-1].At.Before(last)) {
		// Keep LastObservedAt: a clock error must not lock out later
		// snapshots. A second snapshot close after this one confirms it.
		st = resetDecisions(st)
		st.Window, st.Epoch = nil, time.Time{}
		if validate(g.snap, g.lenient) == nil {
			// The jumped snapshot as a lone sample, so the next snapshot
			// close after it is accepted.
			st.Window = []Sample{{At: g.now, Epoch: g.now, V: sampleVertices(g, st, sourcesOf(g.snap))}}
		}
		return st, holdf(HoldTimeJump, fmt.Sprintf("observedAt jumps %s past the last snapshot; history reset",
			g.now.Sub(last).Round(time.Second)))
	}
	if n > 0 && !st.Window[n-1].At.Before(g.now) {
		st.Window = nil // samples from a rejected clock jump
	}
	st.LastObservedAt = g.now
	return st, nil
}

// resetDecisions forgets the decisions in flight and pending.
func resetDecisions(st State) State {
	st.Rescale = nil
	st.UpSince = time.Time{}
	st.ScaleDowns = nil
	st.Release = ""
	return st
}

// gateValidate holds a snapshot that is not RUNNING, incomplete (bar what
// g.lenient excuses) or implausible; a job that is not running forgets its
// scale-up signal.
func gateValidate(g gateInput, st State) (State, *hold) {
	h := validate(g.snap, g.lenient)
	if h != nil && h.kind == HoldNotRunning {
		st.UpSince = time.Time{}
	}
	return st, h
}

// lenientFields are the metrics a source may lack when validation is
// lenient.
var lenientFields = map[string]bool{
	"busyMsPerSecond": true, "idleMsPerSecond": true, "backPressuredMsPerSecond": true, "pendingRecords": true,
}

// excused reports whether every missing field of v is one a lenient
// validation accepts.
func excused(v *events.VertexSnapshot, lenient bool) bool {
	if !lenient || !(v.IsSource || len(v.Inputs) == 0) {
		return false
	}
	for _, f := range v.Incomplete {
		if !lenientFields[f] {
			return false
		}
	}
	return true
}

// allExcused reports whether the snapshot's only missing metrics are ones a
// lenient validation excuses.
func allExcused(s *events.Snapshot, lenient bool) bool {
	if !lenient {
		return false
	}
	n := 0
	for i := range s.Vertices {
		v := &s.Vertices[i]
		if len(v.Incomplete) > 0 && !excused(v, lenient) {
			return false
		}
		n += len(v.Incomplete)
	}
	// Anything missing beyond the vertices (the cluster overview) is not
	// excused.
	return len(s.Incomplete) == n
}

// validate says why s cannot be used, or nil: the job RUNNING, the
// topology a DAG in topological order, every needed metric present (bar
// what lenient excuses) and plausible.
func validate(s *events.Snapshot, lenient bool) *hold {
	if s.JobState != "RUNNING" {
		return holdf(HoldNotRunning, fmt.Sprintf("job is %s, not RUNNING", orDash(s.JobState)))
	}
	if len(s.Vertices) == 0 || len(s.Vertices) > maxVertices {
		return holdf(HoldInvalid, fmt.Sprintf("snapshot has %d vertices", len(s.Vertices)))
	}
	if s.TaskManagers < 0 || s.SlotsTotal < 0 || s.SlotsFree < 0 {
		return holdf(HoldInvalid, "negative TaskManager or slot count")
	}
	if (!s.Complete || len(s.Incomplete) > 0) && !allExcused(s, lenient) {
		return holdf(HoldIncomplete, "snapshot incomplete: "+orDash(strings.Join(s.Incomplete, ", ")))
	}
	var small [smallJob]bool // which vertices feed another; on the stack for most jobs
	var feeds []bool
	if len(s.Vertices) <= len(small) {
		feeds = small[:len(s.Vertices)]
	} else {
		feeds = make([]bool, len(s.Vertices))
	}
	if err := checkDAG(s, feeds); err != nil {
		return holdf(HoldInvalid, err.Error())
	}
	for i := range s.Vertices {
		v := &s.Vertices[i]
		if h := validateVertex(v, lenient); h != nil {
			return h
		}
		if feeds[i] && v.RecordsOutPerSecond == nil {
			return holdf(HoldIncomplete, orDash(v.Name)+": records out missing")
		}
	}
	return nil
}

// checkDAG checks that vertex ids are set and unique and that every input
// is a vertex listed before the one it feeds, and marks in feeds (one per
// vertex) the vertices that are some vertex's input. A small job is
// searched in place; a large one through a map.
func checkDAG(s *events.Snapshot, feeds []bool) error {
	vs := s.Vertices
	var idx map[string]int
	if len(vs) > smallJob {
		idx = make(map[string]int, len(vs))
	}
	// upstream finds id among the vertices before the i-th.
	upstream := func(id string, i int) (int, bool) {
		if idx != nil {
			j, ok := idx[id]
			return j, ok
		}
		for j := range i {
			if vs[j].ID == id {
				return j, true
			}
		}
		return 0, false
	}
	for i, v := range vs {
		if v.ID == "" {
			return fmt.Errorf("vertex %d has no id", i)
		}
		if _, dup := upstream(v.ID, i); dup {
			return fmt.Errorf("vertex id %s appears twice", v.ID)
		}
		for _, e := range v.Inputs {
			j, ok := upstream(e.ID, i)
			if !ok {
				return fmt.Errorf("vertex %s: input %s is unknown or not upstream", v.ID, e.ID)
			}
			feeds[j] = true
		}
		if idx != nil {
			idx[v.ID] = i
		}
	}
	return nil
}

// upstreamOf is, per vertex of a validated snapshot, the positions of its
// inputs in order (nil for a source without inputs).
// Its slices are sc's (one observe's).
func upstreamOf(sc *scratch, s *events.Snapshot) [][]int {
	vs := s.Vertices
	n := 0
	for _, v := range vs {
		n += len(v.Inputs)
	}
	var idx map[string]int
	if len(vs) > smallJob {
		idx = vertexIndex(s)
	}
	all := zeroed(&sc.upAll, 0, n)
	out := zeroed(&sc.ups, len(vs), 0)
	for i, v := range vs {
		from := len(all)
		for _, e := range v.Inputs {
			if idx != nil {
				all = append(all, idx[e.ID])
				continue
			}
			for j := range i {
				if vs[j].ID == e.ID {
					all = append(all, j)
					break
				}
			}
		}
		if len(all) > from {
			out[i] = all[from:len(all):len(all)]
		}
	}
	return out
}

// smallJob is the most vertices checkDAG searches without a map.
const smallJob = 32

// vertexIndex maps a validated snapshot's vertex ids to their positions.
func vertexIndex(s *events.Snapshot) map[string]int {
	idx := make(map[string]int, len(s.Vertices))
	for i, v := range s.Vertices {
		idx[v.ID] = i
	}
	return idx
}

func validateVertex(v *events.VertexSnapshot, lenient bool) *hold {
	name := orDash(v.Name)
	if len(v.Incomplete) > 0 && !excused(v, lenient) {
		return holdf(HoldIncomplete, name+": missing "+strings.Join(v.Incomplete, ", "))
	}
	if v.Parallelism <= 0 || v.Parallelism > maxParallelism || v.MaxParallelism < 0 || v.MaxParallelism > maxParallelism {
		return holdf(HoldInvalid, fmt.Sprintf("%s: parallelism %d, max %d", name, v.Parallelism, v.MaxParallelism))
	}
	if (v.BusyMsPerSecond == nil && !excused(v, lenient)) || v.RecordsInPerSecond == nil {
		return holdf(HoldIncomplete, name+": busy time or records in missing")
	}
	if b := v.BusyMsPerSecond; b != nil && (bad(b.Avg, 1000*busySlack) || bad(b.Max, 1000*busySlack)) {
		return holdf(HoldInvalid, fmt.Sprintf("%s: busy %v/%v ms/s", name, b.Avg, b.Max))
	}
	if bp := v.BackPressuredMsPerSecond; bp != nil && (bad(bp.Avg, 1000*busySlack) || bad(bp.Max, 1000*busySlack)) {
		return holdf(HoldInvalid, fmt.Sprintf("%s: back pressure %v ms/s", name, bp.Avg))
	}
	for _, f := range []*float64{v.RecordsInPerSecond, v.RecordsOutPerSecond, v.PendingRecords} {
		if f != nil && bad(*f, maxRate) {
			return holdf(HoldInvalid, fmt.Sprintf("%s: implausible rate or backlog %v", name, *f))
		}
	}
	if v.SourcePartitions != nil && (*v.SourcePartitions < 0 || *v.SourcePartitions > 1<<20) {
		return holdf(HoldInvalid, fmt.Sprintf("%s: %d source partitions", name, *v.SourcePartitions))
	}
	return nil
}

// bad reports a figure that is not finite, negative or above limit.
func bad(f, limit float64) bool { return math.IsNaN(f) || f < 0 || f > limit }

// gateTopology resets the history when the job's vertices or edges differ
// from the ones it describes; it holds unless this is the first snapshot.
func gateTopology(g gateInput, st State) (State, *hold) {
	if sameTopology(st.Topology, g.snap) {
		return st, nil
	}
	had := st.Topology != ""
	st = resetDecisions(st)
	st.Topology = fingerprint(g.snap)
	st.Window, st.Epoch = nil, time.Time{}
	st.Efficiency, st.Floors = nil, nil
	if had {
		return st, holdf(HoldTopology, "job vertices changed; history reset")
	}
	return st, nil
}

// sameTopology reports whether fp is s's fingerprint, without building it.
func sameTopology(fp string, s *events.Snapshot) bool {
	eat := func(part string) bool {
		if !strings.HasPrefix(fp, part) {
			return false
		}
		fp = fp[len(part):]
		return true
	}
	for _, v := range s.Vertices {
		if !eat(v.ID) {
			return false
		}
		for _, e := range v.Inputs {
			if !eat("<") || !eat(e.ID) {
				return false
			}
		}
		if !eat(";") {
			return false
		}
	}
	return fp == ""
}

func fingerprint(s *events.Snapshot) string {
	var b strings.Builder
	for _, v := range s.Vertices {
		b.WriteString(v.ID)
		for _, e := range v.Inputs {
			b.WriteString("<" + e.ID)
		}
		b.WriteByte(';')
	}
	return b.String()
}

// gateEpoch starts a new epoch when the job restarted (timestamps.RUNNING
// moved) or its parallelism changed since the last sample without one.
func gateEpoch(g gateInput, st State) (State, *hold) {
	epoch := st.Epoch
	if rs := g.snap.RunningSince; rs != nil && rs.After(epoch) && !rs.After(g.now) {
		epoch = *rs
	}
	n := len(st.Window)
	if epoch.IsZero() || (n > 0 && parallelismChanged(st.Window[n-1], g.snap) && !epoch.After(st.Window[n-1].At)) {
		epoch = g.now
	}
	st.Epoch = epoch
	return st, nil
}

func parallelismChanged(last Sample, s *events.Snapshot) bool {
	if len(last.V) != len(s.Vertices) {
		return true
	}
	for i, v := range s.Vertices {
		if last.V[i].P != v.Parallelism {
			return true
		}
	}
	return false
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
