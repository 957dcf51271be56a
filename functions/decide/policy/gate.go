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

// run is one Decide call's working data.
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
	// lenient: validation excuses a source's missing busy or pending.
	lenient bool
}

// allExcused reports whether the snapshot's only missing metrics are ones a
// lenient run excuses.
func (r *run) allExcused() bool {
	if !r.lenient {
		return false
	}
	n := 0
	for i := range r.snap.Vertices {
		v := &r.snap.Vertices[i]
		if len(v.Incomplete) > 0 && !r.excused(v) {
			return false
		}
		n += len(v.Incomplete)
	}
	// Anything missing beyond the vertices (the cluster overview) is not
	// excused.
	return len(r.snap.Incomplete) == n
}

func newRun(in Input, policy string) *run {
	now := in.Now
	if now.IsZero() {
		now = in.Snapshot.ObservedAt
	}
	st := in.State
	st.Version = StateVersion
	return &run{in: in, cfg: in.Config, snap: &in.Snapshot, st: st, now: now, policy: policy}
}

func stepOrder(r *run) *hold {
	last := r.st.LastObservedAt
	switch {
	case r.now.IsZero():
		return holdf(HoldInvalid, "snapshot has no observedAt")
	case !last.IsZero() && r.now.Equal(last):
		return holdf(HoldDuplicate, "duplicate snapshot of "+last.Format(time.RFC3339Nano))
	case r.now.Before(last):
		return holdf(HoldOutOfOrder, fmt.Sprintf("snapshot of %s is older than the last one (%s)",
			r.now.Format(time.RFC3339), last.Format(time.RFC3339)))
	}
	n := len(r.st.Window)
	if !last.IsZero() && r.now.Sub(last) > maxJump && (n == 0 || r.now.Sub(r.st.Window[n-1].At) > maxJump ||
		r.st.Window[n-1].At.Before(last)) {
		// Keep LastObservedAt: a clock error must not lock out later
		// snapshots. A second snapshot close after this one confirms it.
		r.st.Window = nil
		r.st.Epoch = time.Time{}
		r.resetDecisions()
		r.stashJump()
		return holdf(HoldTimeJump, fmt.Sprintf("observedAt jumps %s past the last snapshot; history reset",
			r.now.Sub(last).Round(time.Second)))
	}
	if n > 0 && !r.st.Window[n-1].At.Before(r.now) {
		r.st.Window = nil // samples from a rejected clock jump
	}
	r.st.LastObservedAt = r.now
	return nil
}

// stashJump records the jumped snapshot as a lone sample, so the next
// snapshot close after it is accepted.
func (r *run) stashJump() {
	if r.validate() == nil {
		r.st.Window = []Sample{{At: r.now, Epoch: r.now, V: r.sampleVertices()}}
	}
}

func (r *run) resetDecisions() {
	r.st.Rescale = nil
	r.st.UpSince = time.Time{}
	r.st.ScaleDowns = nil
	r.st.Release = ""
}

func stepValidate(r *run) *hold { return r.validate() }

// stepValidateLenient is stepValidate that accepts a source whose busy,
// idle or back-pressured time or pending records are missing (a legacy
// source reports busy as NaN; many connectors report no pendingRecords):
// such a source must not hold the other vertices.
func stepValidateLenient(r *run) *hold {
	r.lenient = true
	return r.validate()
}

// lenientFields are the metrics a source may lack under stepValidateLenient.
var lenientFields = map[string]bool{
	"busyMsPerSecond": true, "idleMsPerSecond": true, "backPressuredMsPerSecond": true, "pendingRecords": true,
}

// excused reports whether every missing field of v is one a lenient run
// accepts.
func (r *run) excused(v *events.VertexSnapshot) bool {
	if !r.lenient || !(v.IsSource || len(v.Inputs) == 0) {
		return false
	}
	for _, f := range v.Incomplete {
		if !lenientFields[f] {
			return false
		}
	}
	return true
}

func (r *run) validate() *hold {
	s := r.snap
	if s.JobState != "RUNNING" {
		r.st.UpSince = time.Time{}
		return holdf(HoldNotRunning, fmt.Sprintf("job is %s, not RUNNING", orDash(s.JobState)))
	}
	if len(s.Vertices) == 0 || len(s.Vertices) > maxVertices {
		return holdf(HoldInvalid, fmt.Sprintf("snapshot has %d vertices", len(s.Vertices)))
	}
	if s.TaskManagers < 0 || s.SlotsTotal < 0 || s.SlotsFree < 0 {
		return holdf(HoldInvalid, "negative TaskManager or slot count")
	}
	if (!s.Complete || len(s.Incomplete) > 0) && !r.allExcused() {
		return holdf(HoldIncomplete, "snapshot incomplete: "+orDash(strings.Join(s.Incomplete, ", ")))
	}
	if err := r.index(); err != nil {
		return holdf(HoldInvalid, err.Error())
	}
	feeds := make(map[string]bool, len(s.Vertices))
	for _, v := range s.Vertices {
		for _, e := range v.Inputs {
			feeds[e.ID] = true
		}
	}
	for i := range s.Vertices {
		v := &s.Vertices[i]
		if h := r.validateVertex(v); h != nil {
			return h
		}
		if feeds[v.ID] && v.RecordsOutPerSecond == nil {
			return holdf(HoldIncomplete, orDash(v.Name)+": records out missing")
		}
	}
	return nil
}

// index maps vertex ids to positions and checks the inputs form a DAG in
// topological order.
func (r *run) index() error {
	r.idx = make(map[string]int, len(r.snap.Vertices))
	for i, v := range r.snap.Vertices {
		if v.ID == "" {
			return fmt.Errorf("vertex %d has no id", i)
		}
		if _, dup := r.idx[v.ID]; dup {
			return fmt.Errorf("vertex id %s appears twice", v.ID)
		}
		for _, e := range v.Inputs {
			j, ok := r.idx[e.ID]
			if !ok || j >= i {
				return fmt.Errorf("vertex %s: input %s is unknown or not upstream", v.ID, e.ID)
			}
		}
		r.idx[v.ID] = i
	}
	return nil
}

func (r *run) validateVertex(v *events.VertexSnapshot) *hold {
	name := orDash(v.Name)
	if len(v.Incomplete) > 0 && !r.excused(v) {
		return holdf(HoldIncomplete, name+": missing "+strings.Join(v.Incomplete, ", "))
	}
	if v.Parallelism <= 0 || v.Parallelism > maxParallelism || v.MaxParallelism < 0 || v.MaxParallelism > maxParallelism {
		return holdf(HoldInvalid, fmt.Sprintf("%s: parallelism %d, max %d", name, v.Parallelism, v.MaxParallelism))
	}
	if (v.BusyMsPerSecond == nil && !r.excused(v)) || v.RecordsInPerSecond == nil {
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

func stepTopology(r *run) *hold {
	if sameTopology(r.st.Topology, r.snap) {
		return nil
	}
	fp := fingerprint(r.snap)
	had := r.st.Topology != ""
	r.st.Topology = fp
	r.st.Window = nil
	r.st.Epoch = time.Time{}
	r.resetDecisions()
	r.st.Efficiency = nil
	r.st.Floors = nil
	if had {
		return holdf(HoldTopology, "job vertices changed; history reset")
	}
	return nil
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

// stepEpoch starts a new epoch when the job restarted (timestamps.RUNNING
// moved) or its parallelism changed since the last sample without one.
func stepEpoch(r *run) *hold {
	epoch := r.st.Epoch
	if rs := r.snap.RunningSince; rs != nil && rs.After(epoch) && !rs.After(r.now) {
		epoch = *rs
	}
	n := len(r.st.Window)
	if epoch.IsZero() || (n > 0 && parallelismChanged(r.st.Window[n-1], r.snap) && !epoch.After(r.st.Window[n-1].At)) {
		epoch = r.now
	}
	r.st.Epoch = epoch
	return nil
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
