package policy

import (
	"math"
	"strings"
	"sync"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// StateVersion is the version of State's JSON layout.
const StateVersion = 1

// State is everything a policy remembers about one job between snapshots. It
// is JSON-serializable (decide keeps it in the state KV bucket, updated with
// compare-and-set) and holds no NaN or infinity. Decide never mutates the
// State it is given; samples are shared read-only between old and new State.
type State struct {
	Version int `json:"version"`
	// Topology fingerprints the vertices the window describes; a change
	// resets the history.
	Topology string `json:"topology,omitempty"`
	// LastObservedAt is the newest snapshot accepted; older or equal ones
	// are dropped.
	LastObservedAt time.Time `json:"lastObservedAt"`
	// Epoch is when the job's current run began (timestamps.RUNNING, or the
	// first snapshot with the current parallelisms).
	Epoch time.Time `json:"epoch"`
	// Window holds the latest samples, oldest first, bounded by
	// Config.MetricWindow and Config.MaxSamples.
	Window []Sample `json:"window,omitempty"`
	// Rescale is the last decision made, until it is superseded.
	Rescale *Rescale `json:"rescale,omitempty"`
	// IdleRelease is the last TaskManager-only release of idle
	// TaskManagers (releaseIdle); it is not a rescale.
	IdleRelease *IdleRelease `json:"idleRelease,omitempty"`
	// UpSince is when the current scale-up signal was first seen.
	UpSince time.Time `json:"upSince,omitzero"`
	// ScaleDowns are pending scale-down recommendations per vertex id.
	ScaleDowns map[string]ScaleDown `json:"scaleDowns,omitempty"`
	// Efficiency is the learned scaling exponent per vertex id.
	Efficiency map[string]Efficiency `json:"efficiency,omitempty"`
	// Floors are, per vertex id, the parallelism a scale-up left and the
	// input rate it could not carry: no scale-down returns there while the
	// rate stays within the utilization band of it.
	Floors map[string]Floor `json:"floors,omitempty"`
	// Release marks the capacity of the last scale-up as temporary, to be
	// given back without waiting for a scale-down window: ReleaseBacklog
	// (made while a backlog was worked off) once the backlog has drained to
	// about 1 s on a rate that has held its level a rate window (a release
	// sized on a moving rate would size for a value the rate passes), ReleaseLevel (made for a rate level younger than a
	// scale-down window, so sized with the step counted as volatility) once
	// it has drained and the rate has held a level for a window.
	Release string `json:"release,omitempty"`
	// Downtime is the last observed restart downtime: from the decision to
	// the job running at its targets (what a scale-up waits for).
	Downtime time.Duration `json:"downtime,omitempty"`
	// Outage is the part of it the job did not run, from the last snapshot
	// that saw it running (to within a snapshot interval): what a
	// scale-down's restart costs.
	Outage time.Duration `json:"outage,omitempty"`
	// Metrics are users' own metrics by Metric.Name (+ "/" + Vertex).
	Metrics map[string]events.Metric `json:"metrics,omitempty"`
	// MetricsBefore are, by the same keys, the reports each of Metrics
	// replaced: a time lag's growth is read over the exporter's own
	// update period (timeLagGrowth).
	MetricsBefore map[string]events.Metric `json:"metricsBefore,omitempty"`
	// Restarts are the job's last observed rescale restarts, oldest first,
	// at most maxRestarts: what the next one is expected to cost.
	Restarts []RestartObs `json:"restarts,omitempty"`
	// Drain watches the last scale-up's restart until the backlog it left
	// is worked off (nil when none is watched); Drains are the last
	// maxDrains such drains, each the time it took over the time it was
	// priced to take: how far the job's drains come out slower than
	// priced (drainFactor).
	Drain  *DrainWatch `json:"drain,omitempty"`
	Drains []float64   `json:"drains,omitempty"`
	// Scaling is, per vertex id, the true rates measured at each
	// parallelism the vertex ran at, from which its efficiency is fitted.
	Scaling map[string]Scaling `json:"scaling,omitempty"`
	// Unfit is set when a decision timed out because its requirements did
	// not fit the slots the job got: every vertex is then taken to need its
	// own slots (dedicated), as undeclared slot-sharing groups would.
	Unfit bool `json:"unfit,omitempty"`
	// Withdraw is set when a session-mode job's layout was learned unfit
	// from a decision that timed out (slotsCame): that declaration is still
	// Flink's requirements until a decision declares others
	// (withdrawUnfit); cleared by the next decision.
	Withdraw bool `json:"withdraw,omitempty"`
	// Held are the slots the job was seen holding at the parallelisms it
	// ran at, while its slot-sharing groups are hidden (heldSlots), and
	// Groups the groupings that match them all (learnGroups): with Unfit
	// set, slots are counted as the most any of them needs instead of
	// every vertex apart (layoutIn).
	Held   []HeldSlots         `json:"held,omitempty"`
	Groups []map[string]string `json:"groups,omitempty"`
	// GroupsWrong is set when a decision counted by Groups timed out
	// although the slots it needed by that count came: the groups are not
	// learned again and every vertex is counted apart.
	GroupsWrong bool `json:"groupsWrong,omitempty"`
	// BusyNoise is the relative error of a subtask's measured busy time,
	// measured on the job's earlier deploys (busynoise.go).
	BusyNoise NoiseEstimate `json:"busyNoise,omitzero"`
	// Profile is the load's learned periodic shape (Config.Forecast).
	Profile *Profile `json:"profile,omitempty"`
	// Minutes is the offered rate per minute over the last hours, and the
	// sub-daily period learned from it (Series).
	Minutes *Series `json:"minutes,omitempty"`
	// Failovers are when the job's unplanned restarts were seen (a new run
	// no decision of ours asked for), oldest first, within failoverWindow:
	// the disturbance rate the job has shown.
	Failovers []time.Time `json:"failovers,omitempty"`
	// Checkpoints are the checkpoint interval and latest completed
	// checkpoint the job last reported while running: what a failover's
	// restart replays while the job is down and reports neither.
	Checkpoints Checkpoints `json:"checkpoints,omitzero"`
	// Ceilings are, per source vertex id that shows neither busy time nor
	// pending records, the most one of its subtasks was seen to read
	// (learnCeilings).
	Ceilings map[string]Ceiling `json:"ceilings,omitempty"`
	// Noise is epochNoise's sum over Window, kept as samples enter and
	// leave it (gateRecord) so a decision does not walk the window.
	Noise NoiseSum `json:"noise,omitzero"`
	// Pinned is when the parallelism the job ran at was declared as its
	// bounds before any decision of ours had declared them (pinBounds):
	// once per job.
	Pinned time.Time `json:"pinned,omitzero"`
}

// Checkpoints are a job's checkpoint interval and its latest completed
// checkpoint, zero when unknown.
type Checkpoints struct {
	Interval time.Duration `json:"interval,omitempty"`
	Last     time.Time     `json:"last,omitzero"`
}

// RestartObs is one observed restart: from the decision to the job running
// at its targets (Downtime), and the part of it the job did not run
// (Outage); the rest is TaskManager start-up and the checkpoint wait.
// Raised: the decision raised some vertex, so its wait held the start-up
// of the TaskManagers it asked for (a scale-down's holds none).
// Started: the decision asked for more TaskManagers than the snapshot it
// was made from had registered; Startup is then the part of the wait until
// a snapshot showed them registered (Rescale.Ready; the whole wait when
// none did before the job ran at its targets): the rest of the wait,
// Downtime − Outage − Startup, is actuate's wait for a checkpoint, which
// depends on when the restart falls in the job's checkpoint schedule, not
// on the job.
// Failover: the decision was folded into a failover's restart
// (foldIntoFailover), so the job was down for the failover's outage (a lost
// TaskManager's replacement, the whole state's restore, a restore that
// failed and ran again), not for what a rescale of the running job takes.
type RestartObs struct {
	Downtime time.Duration `json:"downtime"`
	Outage   time.Duration `json:"outage"`
	Raised   bool          `json:"raised,omitempty"`
	Started  bool          `json:"started,omitempty"`
	Startup  time.Duration `json:"startup,omitempty"`
	Failover bool          `json:"failover,omitempty"`
}

// DrainWatch is a scale-up's restart watched until the backlog it left is
// worked off (no vertex saturated): the run it began (Epoch), when the
// job stopped for it (Stop) and the time from the stop the decision
// priced that to take (Priced).
type DrainWatch struct {
	Epoch  time.Time     `json:"epoch"`
	Stop   time.Time     `json:"stop"`
	Priced time.Duration `json:"priced"`
}

// maxDrains bounds State.Drains.
const maxDrains = 3

// maxRestarts bounds State.Restarts.
const maxRestarts = 5

// Scaling is one vertex's measured per-subtask true rates by parallelism,
// at most maxPoints, and whether scaling it up was seen to be ineffective.
type Scaling struct {
	Points []CapPoint `json:"points,omitempty"`
	// Ineffective is the parallelism above which a scale-up was measured to
	// add (almost) no capacity; 0 when none was.
	Ineffective int `json:"ineffective,omitempty"`
	// Saturated are the per-subtask true rates read while the vertex was
	// saturated, at most one per parallelism (learnSaturation): its
	// capacity at P and below is at most what it carried there, whatever
	// the fitted exponent extrapolates (capacityAt).
	Saturated []Saturation `json:"saturated,omitempty"`
}

// Saturation is a per-subtask true rate read at parallelism P while the
// vertex was saturated (busy ≥ saturated), and when.
type Saturation struct {
	P    int       `json:"p"`
	Rate float64   `json:"rate"`
	At   time.Time `json:"at"`
}

// CapPoint is a per-subtask true rate (records/s at 100 % busy) measured at
// parallelism P.
type CapPoint struct {
	P    int     `json:"p"`
	Rate float64 `json:"rate"`
}

// maxPoints bounds Scaling.Points.
const maxPoints = 6

// Release kinds (State.Release).
const (
	ReleaseBacklog = "backlog"
	ReleaseLevel   = "level"
)

// Sample is the few numbers of one snapshot a policy needs, vertices in the
// snapshot's order.
type Sample struct {
	At time.Time `json:"t"`
	// Epoch is the run the sample belongs to (State.Epoch when taken).
	Epoch time.Time `json:"e"`
	// Offered is the job's offered source rate (records/s): Σ over sources
	// of records in plus growth of pending records.
	Offered float64        `json:"o"`
	V       []VertexSample `json:"v"`
}

// VertexSample is one vertex in a Sample. Fractions are of one second.
type VertexSample struct {
	P       int     `json:"p"`
	BusyMax float64 `json:"bm"` // -1 when unknown
	BusyAvg float64 `json:"ba"` // -1 when unknown
	BP      float64 `json:"bp"` // average back-pressured fraction
	In      float64 `json:"i"`
	Out     float64 `json:"x"`
	Pending float64 `json:"q"` // records; -1 when unknown
}

// Rescale is a decision a policy made, remembered until the job shows it and
// its effect has been measured.
type Rescale struct {
	DecisionID string         `json:"decisionId"`
	At         time.Time      `json:"at"`
	Targets    map[string]int `json:"targets"`
	// Applied is when a snapshot first showed the targets.
	Applied time.Time `json:"applied,omitzero"`
	// Before is each vertex's per-subtask true rate and parallelism when the
	// decision was made, for learning efficiency.
	Before map[string]Capacity `json:"before,omitempty"`
	// Learned is set once the after-rescale rates were compared.
	Learned bool `json:"learned,omitempty"`
	// From is each vertex's parallelism when the decision was made;
	// Offered the job's offered rate then and Need the slots it needed
	// (sized with no headroom), 0 when not known: whether a later
	// scale-down undoes it on the same load (undoOf).
	From    map[string]int `json:"from,omitempty"`
	Offered float64        `json:"offered,omitempty"`
	Need    int            `json:"need,omitempty"`
	// Stop is how long the decision's restart was priced to hold the job
	// back (undoStop of the restart it was sized with), 0 when not known:
	// an undo of it on the same load is priced at no less (undoOf).
	Stop time.Duration `json:"stop,omitempty"`
	// Back is the time from the restart's stop until its backlog is
	// worked off that a scale-up was priced with (pricedBack), 0 when not
	// priced: what its drain is compared with (State.Drains).
	Back time.Duration `json:"back,omitempty"`
	// Failover: made while the job was down after a failover
	// (foldIntoFailover): its restart is the failover's, and no second
	// decision is folded into it.
	Failover bool `json:"failover,omitempty"`
	// TaskManagers is the TaskManagers the decision asked for when more
	// than its snapshot had registered (0 otherwise), and Ready when a
	// snapshot first showed that many registered, taken halfway from the
	// snapshot before (zero until then): the TaskManagers' start-up
	// (RestartObs.Startup).
	TaskManagers int       `json:"taskManagers,omitempty"`
	Ready        time.Time `json:"ready,omitzero"`
	// Registered is the TaskManagers registered when the decision asked
	// for more (with TaskManagers; 0 otherwise): until a snapshot shows
	// more, none it asked for has registered (inFlightBound).
	Registered int `json:"registered,omitempty"`
	// Replacements counts the decisions of one wait with no slot
	// registered that asked actuate to replace the TaskManagers that had
	// not registered (replaceUnregistered), this one included.
	Replacements int `json:"replacements,omitempty"`
	// Outcome is what actuate reported of the decision when it will not
	// show (its result event: skipped, failed or partial; Observe), Why
	// its reason and Ended when actuate was done with it; empty until
	// such a result arrives. The in-flight wait then ends (gateInFlight),
	// and a skipped or failed decision, whose requirements were never
	// declared or were rolled back, says nothing of the slots its targets
	// need (learnAfterGates).
	Outcome string    `json:"outcome,omitempty"`
	Why     string    `json:"why,omitempty"`
	Ended   time.Time `json:"ended,omitzero"`
}

// Capacity is a per-subtask true processing rate measured at a parallelism.
type Capacity struct {
	P          int     `json:"p"`
	PerSubtask float64 `json:"perSubtask"`
}

// ScaleDown is a vertex's pending scale-down recommendations.
type ScaleDown struct {
	Since time.Time        `json:"since"`
	Recs  []Recommendation `json:"recs"`
}

// Recommendation is one parallelism recommended at one time.
type Recommendation struct {
	At time.Time `json:"t"`
	P  int       `json:"p"`
}

// Floor is a parallelism that could not carry a vertex's input rate (with
// its backlog), and that rate.
type Floor struct {
	P    int     `json:"p"`
	Rate float64 `json:"rate"`
}

// NoiseEstimate is a running mean of the busy-time noise σ read on each of
// the job's deploys (at most the last noiseDeploys weigh).
type NoiseEstimate struct {
	Sigma   float64 `json:"sigma"`
	Deploys int     `json:"deploys"`
}

// NoiseSum is epochNoise's sum (Sum over N terms, in units of
// 1/noiseScale) over the window whose oldest and newest samples were taken
// at First and Last, of the deploy Epoch (the three in Unix nanoseconds:
// integers cost the state's JSON a fraction of what times cost), read with
// Settle and the even vertices Even (bit i: vertex i's input is spread
// evenly). gateRecord keeps it as samples enter and leave the window, so a
// decision reads σ without walking the window; a sum kept for another
// window, epoch, settle or set of even vertices is not read (the window is
// walked), nor one whose Last is 0.
type NoiseSum struct {
	Epoch  int64         `json:"epoch"`
	First  int64         `json:"first"`
	Last   int64         `json:"last"`
	Settle time.Duration `json:"settle"`
	Even   uint64        `json:"even"`
	Sum    int64         `json:"sum"`
	N      int           `json:"n"`
}

// Efficiency is a vertex's learned scaling exponent a: capacity ∝ p^a.
type Efficiency struct {
	Exponent     float64 `json:"exponent"`
	Observations int     `json:"observations"`
}

// ObserveMetric merges a user's metric event into the job's state. Metrics
// decide does not use (events.CheckUserMetric), or older than the one held,
// are ignored; the caller reports why.
func ObserveMetric(s State, m events.Metric) State {
	if events.CheckUserMetric(m) != nil {
		return s
	}
	key := metricKey(m.Name, m.Vertex)
	if NewerMetricHeld(s, m) {
		return s
	}
	if old, ok := s.Metrics[key]; ok {
		before := make(map[string]events.Metric, len(s.MetricsBefore)+1)
		for k, v := range s.MetricsBefore {
			before[k] = v
		}
		before[key] = old
		s.MetricsBefore = before
	}
	metrics := make(map[string]events.Metric, len(s.Metrics)+1)
	for k, v := range s.Metrics {
		metrics[k] = v
	}
	metrics[key] = m
	s.Metrics = metrics
	if s.Version == 0 {
		s.Version = StateVersion
	}
	return s
}

// NewerMetricHeld reports whether s holds a metric of m's name and vertex
// observed at or after m (so ObserveMetric ignores m).
func NewerMetricHeld(s State, m events.Metric) bool {
	old, ok := s.Metrics[metricKey(m.Name, m.Vertex)]
	return ok && !m.ObservedAt.After(old.ObservedAt)
}

func metricKey(name, vertex string) string {
	if vertex == "" {
		return strings.ToLower(name)
	}
	return strings.ToLower(name) + "/" + vertex
}

// backlogKeys are the keys a user's backlog metric for source v is found
// at (userBacklog), the first n of keys: its ID, its name, and the job's
// ("") when it is the job's only source.
func backlogKeys(v *events.VertexSnapshot, sources int) (keys [3]string, n int) {
	keys, n = [3]string{v.ID, v.Name, ""}, 2
	if sources == 1 {
		n = 3
	}
	return keys, n
}

// userBacklog returns the backlog metric a user reported for one of the
// named vertex keys ("" the job), no further than maxAge from now.
func (s State) userBacklog(now time.Time, maxAge time.Duration, keys ...string) (events.Metric, bool) {
	m, _, ok := s.userBacklogKey(now, maxAge, keys...)
	return m, ok
}

// userBacklogKey is userBacklog with the key of s.Metrics it was found at.
func (s State) userBacklogKey(now time.Time, maxAge time.Duration, keys ...string) (events.Metric, string, bool) {
	if len(s.Metrics) == 0 {
		return events.Metric{}, "", false
	}
	for _, name := range []string{events.MetricLag, events.MetricPendingRecords} {
		for _, k := range keys {
			key := metricKey(name, k)
			m, ok := s.Metrics[key]
			if ok && !m.ObservedAt.Before(now.Add(-maxAge)) && !m.ObservedAt.After(now.Add(maxAge)) {
				return m, key, true
			}
		}
	}
	return events.Metric{}, "", false
}

// timeLagGrowth is the growth per second of the time lag (seconds of lag
// per second) a user reports for one of the named vertex keys (as
// userBacklog finds it), between the exporter's two latest reports, both
// observed in the current run from since on: a lag growing at g while the
// source reads in comes at in ÷ (1 − g). timed is false when no such
// backlog is reported in time units (seconds or ms); ok is false when the
// two latest reports are not both of the run (the outage's growth or the
// restart's ramp would read as load).
func (s State) timeLagGrowth(now, since time.Time, maxAge time.Duration, keys ...string) (growth float64, timed, ok bool) {
	m, key, found := s.userBacklogKey(now, maxAge, keys...)
	scale := events.LagSecondsPerUnit(m.Unit)
	if !found || scale <= 0 {
		return 0, false, false
	}
	prev, had := s.MetricsBefore[key]
	if !had || events.LagSecondsPerUnit(prev.Unit) != scale || prev.ObservedAt.Before(since) {
		return 0, true, false
	}
	dt := timeSub(m.ObservedAt, prev.ObservedAt).Seconds()
	if dt <= 0 {
		return 0, true, false
	}
	return (m.Value - prev.Value) * scale / dt, true, true
}

// settled returns the samples of the current epoch taken at least settle
// after it began and within span of now, oldest first.
func (s State) settled(now time.Time, settle, span time.Duration) []Sample {
	from := len(s.Window)
	for from > 0 {
		smp := &s.Window[from-1]
		if !sameTime(smp.Epoch, s.Epoch) || smp.At.Before(s.Epoch.Add(settle)) || smp.At.Before(now.Add(-span)) {
			break
		}
		from--
	}
	return s.Window[from:]
}

// withSample returns the window with smp appended and trimmed to window and
// max samples. The result shares old samples with w, and w's backing
// array when the slot after w in it is free (or already holds smp, as when
// the same state is decided again): no window is ever changed, a free slot
// is one no window holds yet (its At is zero). Otherwise the samples are
// copied into an array with room for about as many more, so a job's
// window is copied once per that many decisions, not at each.
func withSample(w []Sample, smp Sample, window time.Duration, maxSamples int) []Sample {
	keep := 0
	for keep < len(w) && (w[keep].At.Before(smp.At.Add(-window)) || len(w)-keep >= maxSamples) {
		keep++
	}
	w = w[keep:]
	if len(w) < cap(w) && !smp.At.IsZero() && claimSlot(w[:len(w)+1], smp) {
		return w[:len(w)+1]
	}
	out := make([]Sample, 0, 2*len(w)+2)
	out = append(out, w...)
	return append(out, smp)
}

// slots guards the free slots of windows' backing arrays: two decisions
// from one state may run at once, and only one may take the slot.
var windowSlots sync.Mutex

// claimSlot puts smp into w's last slot when no window holds it yet
// (zero At), and reports whether that slot now holds smp.
func claimSlot(w []Sample, smp Sample) bool {
	windowSlots.Lock()
	defer windowSlots.Unlock()
	last := &w[len(w)-1]
	if last.At.IsZero() {
		*last = smp
		return true
	}
	return sameSample(*last, smp)
}

// sameSample: a and b hold the same values: times by instant and
// location (as == compares them), numbers bit for bit (−0 is not 0).
func sameSample(a, b Sample) bool {
	if a.At != b.At || a.Epoch != b.Epoch || !sameBits(a.Offered, b.Offered) || len(a.V) != len(b.V) {
		return false
	}
	for i, x := range a.V {
		y := b.V[i]
		if x.P != y.P || !sameBits(x.BusyMax, y.BusyMax) || !sameBits(x.BusyAvg, y.BusyAvg) || !sameBits(x.BP, y.BP) ||
			!sameBits(x.In, y.In) || !sameBits(x.Out, y.Out) || !sameBits(x.Pending, y.Pending) {
			return false
		}
	}
	return true
}

func sameBits(a, b float64) bool { return math.Float64bits(a) == math.Float64bits(b) }
