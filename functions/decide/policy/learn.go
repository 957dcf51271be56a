package policy

import (
	"math"
	"slices"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/slots"
)

// learnAfterGates adds what the gates just observed to the state the gates
// returned (st; prev is the state before them): a restart seen through
// (State.Restarts), a decision that timed out although its slots came or
// a job holding more slots than its layout needs or waiting for slots its
// declared parallelism fits by the policy's count (State.Unfit), the sample for the load profile, a blind source's
// ceiling; a topology change drops the scaling history and the ceilings.
func learnAfterGates(prev, st State, g gateInput) State {
	if prev.Topology != "" && st.Topology != prev.Topology {
		st.Scaling, st.Unfit, st.Ceilings = nil, false, nil
		st.Held, st.Groups, st.GroupsWrong = nil, nil, false
	}
	if rs := prev.Rescale; rs != nil && rs.Applied.IsZero() {
		st.Rescale = taskManagersReady(prev, st, g)
		switch {
		case st.Rescale != nil && !st.Rescale.Applied.IsZero():
			if run := g.snap.RunningSince; run != nil && run.After(rs.At) && st.Downtime > 0 {
				st.Restarts = appendRestart(st.Restarts, observedRestart(st, rs.raised()))
				st.Drain = watchDrain(st.Rescale, st.Epoch, *run, st.Outage)
			}
		case !declared(rs):
			// skipped or failed: its requirements were never declared
			// (or were rolled back), so its targets not showing says
			// nothing of the slots they need
		case st.Rescale == nil && !st.Unfit && slotsCame(g.snap, rs.Targets, g.cfg, layoutFor(g.cfg, g.snap, false)):
			st.Unfit = true
			st.Withdraw = g.cfg.Mode == events.ModeSession
			if st.Groups != nil && !countsMore(layoutIn(g.cfg, g.snap, st), layoutFor(g.cfg, g.snap, false), rs.Targets) {
				st.Groups, st.GroupsWrong = nil, true
			}
		case st.Rescale == nil && st.Unfit && st.Groups != nil && slotsCame(g.snap, rs.Targets, g.cfg, layoutIn(g.cfg, g.snap, st)):
			st.Groups, st.GroupsWrong = nil, true
			st.Withdraw = g.cfg.Mode == events.ModeSession
		}
	}
	if p, n, ok := heldSlots(g, st); ok && !st.GroupsWrong && groupsHidden(g.cfg, g.snap) {
		if held, changed := withHeld(st.Held, p, n); changed {
			st.Held = held
			st.Groups = learnGroups(g.snap.Vertices, held)
		}
	}
	if !st.Unfit && holdsMoreSlots(g, st) {
		st.Unfit = true
	}
	if w, ok := waitingForSlots(g, st); ok && w.hidden && !st.Unfit {
		st.Unfit = true
	}
	if !prev.Epoch.IsZero() && st.Epoch.After(prev.Epoch) {
		if !ours(prev.Rescale, st.Epoch) {
			st.Failovers = appendFailover(st.Failovers, st.Epoch)
		}
		st.BusyNoise = learnNoise(prev, func(i int) int { return snapUnits(g.snap, i) }, g.cfg.Settle)
	}
	st.Drain, st.Drains = learnDrain(st, g)
	st.Ceilings = learnCeilings(st, g.snap, g.cfg)
	if s := g.snap; s.JobState == "RUNNING" && s.CheckpointIntervalMs > 0 {
		st.Checkpoints.Interval = time.Duration(s.CheckpointIntervalMs) * time.Millisecond
		if s.LastCheckpointAt != nil {
			st.Checkpoints.Last = *s.LastCheckpointAt
		}
	}
	n := len(st.Window)
	if g.cfg.Forecast > 0 && n > 0 && st.Window[n-1].At.Equal(g.now) && st.Window[n-1].At.Sub(st.Epoch) >= g.cfg.Settle {
		st.Profile = st.Profile.withSample(g.cfg.Forecast, g.now, st.Window[n-1].Offered)
		// the minute history, which a move undone on the same load and a
		// rebound read (undo.go), takes no catch-up read as load
		if pendingSpanned(st.Window, g.cfg.RateWindow) {
			st.Minutes = st.Minutes.withMinute(g.now, st.Window[n-1].Offered)
		}
	}
	return st
}

// taskManagersReady is st.Rescale with Ready set when the snapshot is
// the first since the decision (in flight in prev) to show the
// TaskManagers it asked for registered: halfway between it and the
// snapshot before, never before the decision. Unchanged otherwise.
func taskManagersReady(prev, st State, g gateInput) *Rescale {
	rs := st.Rescale
	if rs == nil || prev.Rescale == nil || rs.DecisionID != prev.Rescale.DecisionID || rs.TaskManagers == 0 ||
		!rs.Ready.IsZero() || g.snap.TaskManagers < rs.TaskManagers || !prev.LastObservedAt.Before(g.now) {
		return rs
	}
	c := *rs
	c.Ready = g.now.Add(-g.now.Sub(maxTime(prev.LastObservedAt, rs.At)) / 2)
	return &c
}

// observedRestart is the restart st's decision (just applied) took:
// State.Downtime and Outage, and when it asked for TaskManagers the part
// of its wait until they registered (RestartObs.Startup, at most the
// wait; the whole wait when no snapshot showed them before).
func observedRestart(st State, raised bool) RestartObs {
	o := RestartObs{Downtime: st.Downtime, Outage: st.Outage, Raised: raised, Failover: st.Rescale.Failover}
	if rs := st.Rescale; rs.Failover && rs.TaskManagers > 0 && !rs.Ready.IsZero() {
		// a fold's job was down while the TaskManagers it asked for (and
		// the lost one's replacement) started: what came after they
		// registered is the restart; the start-up before it is the
		// failover's, which a change of ours made while the job runs does
		// not wait out down (it starts them first)
		after := max(st.Downtime-max(rs.Ready.Sub(rs.At), 0), 0)
		o.Downtime, o.Outage = min(o.Downtime, after), min(o.Outage, after)
		return o
	}
	if rs := st.Rescale; rs.TaskManagers > 0 {
		wait := max(st.Downtime-st.Outage, 0)
		o.Started, o.Startup = true, wait
		if !rs.Ready.IsZero() {
			o.Startup = min(max(rs.Ready.Sub(rs.At), 0), wait)
		}
	}
	return o
}

// slotsCame reports whether the job has the slots the layout says targets
// need yet does not run at them: the requirements need more than the
// layout knows of (undeclared slot-sharing groups). Only a vertex that was
// to go up and did not can show that: a decision that only lowered
// vertices fits any layout, so when it does not apply (skipped, too old, a
// dry run) it says nothing about the slots. Nor does one of a job whose
// every vertex reports its group (Flink 1.20 and later, as holdsMoreSlots):
// its layout is the one Flink uses, so the decision missed for another
// reason, most often Flink 2's rescale waiting for a checkpoint that
// failed or came after actuate's wait (hourly-batch-dedup: the first
// checkpoint failed, the scale-up was rolled back, and every later
// decision asked for every vertex's own slots, 5.2× the oracle's cost).
// Adaptive, KEDA and session modes: in reactive mode Flink runs every
// vertex at the slots it has, so a target not reached there is a
// TaskManager that did not register or was lost, never a group (ride-
// surge-reactive-failovers: read as hidden groups, every vertex counted
// its own slots, four times the job's, and at 12 TaskManagers no size
// above 6 fit: the job ran at 6 through two peaks, 7,000 s behind). A
// session cluster's slots hold other jobs too, so there the slots the job
// could have are its free slots plus the job's own (sessionFits), not the
// cluster's: a target other jobs' slots kept from fitting says nothing of
// groups. Without this a Flink 1.18/1.19 session job with groups nobody
// declared asked for the same unfitting kind of size after every time-out
// (logs-dedupe-session-spikes: 3.5 failed actuations a run, the job run
// at fewer subtasks than before each one).
func slotsCame(snap *events.Snapshot, targets map[string]int, cfg Config, layout slots.Layout) bool {
	if cfg.Mode != events.ModeAdaptive && cfg.Mode != events.ModeKEDA && cfg.Mode != events.ModeSession {
		return false
	}
	if !slices.ContainsFunc(snap.Vertices, func(v events.VertexSnapshot) bool { return targets[v.ID] > v.Parallelism }) {
		return false
	}
	if !slices.ContainsFunc(snap.Vertices, func(v events.VertexSnapshot) bool { return v.SlotSharingGroup == "" }) {
		return false
	}
	need, err := layout.Needed(targets)
	if err != nil || cfg.Slots.Sharing == events.SlotSharingDedicated {
		return false
	}
	if cfg.Mode == events.ModeSession {
		return sessionFits(snap, layout, need)
	}
	return snap.SlotsTotal >= need
}

// sessionFits reports whether need slots (by layout's count) fit what a
// session-mode job can take: the cluster's free slots plus those its
// running parallelism needs by that count, at most the slots in use
// (sessionSlots' bound, read on the snapshot after the wait).
func sessionFits(snap *events.Snapshot, layout slots.Layout, need int) bool {
	if snap.SlotsTotal <= 0 {
		return false
	}
	cur := make(map[string]int, len(snap.Vertices))
	for _, v := range snap.Vertices {
		cur[v.ID] = v.Parallelism
	}
	own, err := layout.Needed(cur)
	return err == nil && snap.SlotsFree+min(own, max(snap.SlotsTotal-snap.SlotsFree, 0)) >= need
}

// ours reports whether a run that began at epoch is the restart of our
// decision rs: one not yet seen applied, or one that began before, or
// within failoverSlack of, the snapshot that first showed the decision's
// targets running (Rescale.Applied; only a RUNNING snapshot shows them).
// A run that begins later is a failover's however soon after the decision
// it comes: measured from the decision (5 min until session 11), a fault a
// minute or two after our rescale was applied was taken as its restart,
// and on real Flink at compare's fast timing (failovers minutes apart)
// none of faults' failovers was learned.
func ours(rs *Rescale, epoch time.Time) bool {
	return rs != nil && (rs.Applied.IsZero() || epoch.Sub(rs.Applied) < failoverSlack)
}

// failoverSlack is how long after the snapshot that showed our decision
// applied a new run is still taken to be its restart: three of
// metrics-ingest's 10 s polls, for a RUNNING timestamp from a clock ahead
// of ours.
const failoverSlack = 30 * time.Second

// Failover history bounds.
const (
	// failoverWindow is how far back unplanned restarts are counted.
	failoverWindow = 2 * time.Hour
	maxFailovers   = 32
)

func appendFailover(fs []time.Time, at time.Time) []time.Time {
	out := make([]time.Time, 0, len(fs)+1)
	for _, f := range fs {
		if at.Sub(f) < failoverWindow {
			out = append(out, f)
		}
	}
	out = append(out, at)
	if len(out) > maxFailovers {
		out = out[len(out)-maxFailovers:]
	}
	return out
}

// disturbanceRate is the job's unplanned restarts per hour over the last
// failoverWindow (what it has shown), at least the configured budget.
func disturbanceRate(st State, cfg Config, now time.Time) float64 {
	n := 0
	for _, f := range st.Failovers {
		if now.Sub(f) < failoverWindow {
			n++
		}
	}
	return math.Max(cfg.Disturbances, float64(n)/failoverWindow.Hours())
}

func appendRestart(rs []RestartObs, o RestartObs) []RestartObs {
	out := append(slices.Clone(rs), o)
	if len(out) > maxRestarts {
		out = out[len(out)-maxRestarts:]
	}
	return out
}

// raised reports whether the decision raised some vertex above the
// parallelism it ran at when decided.
func (rs *Rescale) raised() bool {
	for id, p := range rs.Targets {
		if f, ok := rs.From[id]; ok && p > f {
			return true
		}
	}
	return false
}

// declared reports whether rs's requirements may have been declared:
// actuate reported no result that says otherwise (skipped or failed;
// Observe).
func declared(rs *Rescale) bool {
	return rs.Outcome != events.OutcomeSkipped && rs.Outcome != events.OutcomeFailed
}

// afterDecision is the state once d is published.
func afterDecision(st State, d *events.Decision, now time.Time) State {
	targets := make(map[string]int, len(d.Vertices))
	from := make(map[string]int, len(d.Vertices))
	for _, v := range d.Vertices {
		targets[v.ID] = v.Target
		from[v.ID] = v.Current
	}
	st.Rescale = &Rescale{DecisionID: d.DecisionID, At: now, Targets: targets, From: from}
	if d.TaskManagers.Target > d.TaskManagers.Current {
		st.Rescale.TaskManagers, st.Rescale.Registered = d.TaskManagers.Target, d.TaskManagers.Current
	}
	st.UpSince = time.Time{}
	st.ScaleDowns = nil
	st.Release = ""
	st.Withdraw = false
	return st
}
