package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/slots"
)

// stuckAfter is how long a job may wait for slots (CREATED: Flink's
// adaptive scheduler waiting for resources) before the TaskManagers it
// waits for are taken as never coming. A TaskManager pod starts in well
// under two minutes (actuate's slot wait gives up after two); one that has
// not registered after three stays away (a pod stuck Pending or crashing,
// a node that never comes).
const stuckAfter = 3 * time.Minute

// awaitingSlots answers a job that waits for slots that do not come: it has
// been CREATED, holding no slot, for stuckAfter (or twice its restarts'
// mean outage, when longer) since it last ran, and no decision of ours is
// still under way (within RescaleTimeout, and MinInterval more for actuate
// to finish it). With every vertex's lower bound at its target, Flink's
// adaptive scheduler waits for a missing TaskManager for ever: after a lost
// TaskManager whose replacement never registers, or a restart during which
// one was lost. The decision declares what the registered slots allow for
// the parallelism last declared (our pending decision's targets, else the
// parallelism the job ran at in its last sample: a CREATED job shows the
// parallelism it was submitted with, not the one it was last declared and
// ran at; the largest lowered first, as actuate does
// when its slot wait runs out) and drops the TaskManagers that have not
// registered; once the job runs, the policy sizes it again from what it
// then shows. Nil when the job is not stuck so; adaptive and KEDA modes
// only (reactive mode runs at whatever slots there are, and session-mode
// TaskManagers are not the job's).
//
// A first wait on groups the policy was not told of (wasUnfit false: the
// slots were not counted per vertex before) is the job's last declaration
// asking for too few TaskManagers, not one that does not register: the
// decision asks at once for the TaskManagers that declaration needs with
// its slots counted per vertex (askPerVertex), rather than running the job
// at what is registered and sizing it again once it runs, a restart more.
func awaitingSlots(g gateInput, st State, wasUnfit bool, snapshotID string) *events.Decision {
	w, ok := waitingForSlots(g, st)
	if !ok {
		return nil
	}
	s, want, down := w.snap, w.want, w.down
	layout := layoutIn(g.cfg, s, st)
	need, err := layout.Needed(want)
	avail := s.SlotsTotal - layout.Standby*layout.PerTaskManager
	if err != nil || avail <= 0 {
		return nil
	}
	if w.hidden && st.Unfit && !wasUnfit && need > avail {
		if d := askPerVertex(g, w, layout, snapshotID); d != nil {
			return d
		}
	}
	fit, err := layout.Fit(want, avail)
	if err != nil {
		return nil
	}
	// The declared parallelism fits the slots the job waits on by a count
	// that cannot be short (every vertex apart, or the groups Flink 1.20+
	// reports): declared again at the same bounds it would wait the same
	// way, so every lower bound goes to 1 and Flink runs the job at what
	// its slots allow up to the fit. (Short of that count, the groups are
	// taken as unknown first: learnAfterGates sets State.Unfit.)
	open := need <= avail
	d := newDecision(g, snapshotID)
	d.Slots = events.Slots{PerTaskManager: layout.PerTaskManager, Sharing: g.cfg.Slots.Sharing, Standby: layout.Standby}
	d.TaskManagers = events.Count{Current: s.TaskManagers, Target: s.TaskManagers}
	if layout.Dedicated {
		d.Slots.Sharing = events.SlotSharingDedicated
	}
	if len(layout.Groups) > 0 {
		d.Slots.Groups = layout.Most(fit).Groups
	}
	var moves []string
	changed := false
	for _, v := range s.Vertices {
		changed = changed || fit[v.ID] != v.Parallelism
		reason := "unchanged: fits the registered slots"
		if fit[v.ID] < want[v.ID] {
			reason = fmt.Sprintf("lowered from %d to what the registered slots allow", want[v.ID])
			moves = append(moves, fmt.Sprintf("%s %d→%d", orDash(v.Name), want[v.ID], fit[v.ID]))
		}
		vd := events.VertexDecision{ID: v.ID, Name: orDash(v.Name), Current: v.Parallelism, Target: fit[v.ID], Reason: reason}
		if open {
			vd.Lower, vd.Upper = 1, fit[v.ID]
		}
		d.Vertices = append(d.Vertices, vd)
	}
	if !changed {
		return nil
	}
	if len(moves) == 0 {
		moves = append(moves, "the parallelism last declared fits them")
	}
	d.Rationale = fmt.Sprintf("the job has waited %s for slots since it last ran: %d registered on %d TaskManagers where its requirements need %d "+
		"(a TaskManager that does not register); running now at what the registered slots allow (%s): 0 restarts of its own (the job is down "+
		"and starts at this size) and %d slots of capacity less, traded for the lag the wait adds (lag ~%.0f s added so far, one second per second); "+
		"TaskManagers that have not registered are dropped, and the job is sized again once it runs",
		down.Round(time.Second), s.SlotsTotal, s.TaskManagers, need, strings.Join(moves, ", "), max(need-avail, 0), down.Seconds())
	if st.Unfit && w.hidden {
		d.Rationale += hiddenGroupsNote
	}
	if open {
		d.Rationale += "; it fits them by a count that cannot be short (" + openCount(layout) + ") and the job still waits: every lower bound " +
			"is declared 1, so Flink runs the job at what its slots allow instead of waiting again at the same bounds"
	}
	return d
}

// openCount names the slot count a declaration that still waits fitted.
func openCount(l slots.Layout) string {
	if l.Dedicated {
		return "every vertex in its own slots"
	}
	return "the slot-sharing groups Flink reports"
}

// hiddenGroupsNote ends the rationale of a job's first decision after it
// waited for slots its declared parallelism fits by the policy's count.
const hiddenGroupsNote = "; the parallelism last declared fits the registered slots by the policy's count of its slot-sharing groups and the job " +
	"still waits: it has groups the policy was not told of (Flink before 1.20 does not report them), so its slots are counted per " +
	"vertex, or by the groups the slots it held show, from now on (declare them in slots.groups to ask for fewer)"

// slotWait is a job that waits for slots that do not come (awaitingSlots):
// the snapshot as it last ran (snap), the parallelism last declared
// (want), how long it has been down, and whether want fits the registered
// slots by the policy's count of its slot-sharing groups (not counting
// every vertex apart) where the job still waits: groups it does not know
// of (hidden).
type slotWait struct {
	snap   *events.Snapshot
	want   map[string]int
	down   time.Duration
	hidden bool
}

// waitingForSlots reads the job's wait for slots; ok is false when it is
// not waiting so (awaitingSlots says when it is).
func waitingForSlots(g gateInput, st State) (w slotWait, ok bool) {
	s := g.snap
	last := lastSample(st)
	rs := st.Rescale
	pending := rs != nil && rs.Applied.IsZero()
	switch {
	case s.JobState != "CREATED" || last.At.IsZero() || s.SlotsTotal < 0 || s.SlotsFree < s.SlotsTotal:
		return w, false
	case g.cfg.Mode != events.ModeAdaptive && g.cfg.Mode != events.ModeKEDA:
		return w, false
	case pending && g.now.Sub(rs.At) < rescaleTimeout(g.cfg, s)+g.cfg.MinInterval:
		return w, false
	}
	w.down = g.now.Sub(last.At)
	if w.down < stuckAfter {
		return w, false
	}
	if ran, ok := ranAs(s, st.Topology, last); ok {
		s = &ran
	}
	w.snap = s
	w.want = make(map[string]int, len(s.Vertices))
	for _, v := range s.Vertices {
		w.want[v.ID] = v.Parallelism
		if pending && rs.Targets[v.ID] > v.Parallelism {
			w.want[v.ID] = rs.Targets[v.ID]
		}
	}
	if g.cfg.Slots.Sharing != events.SlotSharingDedicated && slices.ContainsFunc(s.Vertices, func(v events.VertexSnapshot) bool { return v.SlotSharingGroup == "" }) {
		shared := layoutFor(g.cfg, s, false)
		need, err := shared.Needed(w.want)
		w.hidden = err == nil && need <= s.SlotsTotal-shared.Standby*shared.PerTaskManager && !ranUnhidden(last, s, w.want)
	}
	if w.down < 2*expectedRestart(st, g.cfg).outage && !slotsShort(g, st, w.want) {
		return w, false
	}
	return w, true
}

// slotsShort reports whether the registered slots are fewer than want
// needs by the policy's count: the job waits for a TaskManager, not for a
// restore. A restart still under way (a whole state's restore, a restore
// that failed and ran again) keeps the job CREATED with every slot free
// for up to twice its restarts' mean outage (faults: 3–4 min), so a wait
// on enough slots is given that long; a wait on too few is one for a
// TaskManager that has not registered after stuckAfter, where a pod
// starts in under two, and every minute more adds a minute of lag (faults
// seed 124007: 7 of 8 slots after a restart during which one was lost,
// down 5 min where 3 tell).
func slotsShort(g gateInput, st State, want map[string]int) bool {
	layout := layoutIn(g.cfg, g.snap, st)
	need, err := layout.Needed(want)
	return err == nil && need > g.snap.SlotsTotal-layout.Standby*layout.PerTaskManager
}

// ranUnhidden reports whether the job's last run (last) was at the
// parallelism it now waits for (want; the snapshot s as it ran) and lasted
// hiddenGroupsAfter: holdsMoreSlots compared the slots it held with the
// policy's count over that time and found no groups hidden (State.Unfit
// stays false), so a wait at that parallelism on as many slots is not one
// for groups the policy was not told of. It is a restart still under way:
// a state restore, a restore that failed and restarted the job again, a
// lost TaskManager's replacement (faults: a failover and a failed restore
// keep the job down 3–4 min with every registered slot free; read as
// hidden groups, every later decision counted each vertex's own slots, 15
// where the job needs 13 and the oracle 6, to the end of the run).
func ranUnhidden(last Sample, s *events.Snapshot, want map[string]int) bool {
	if last.At.Sub(last.Epoch) < hiddenGroupsAfter {
		return false
	}
	for _, v := range s.Vertices {
		if want[v.ID] != v.Parallelism {
			return false
		}
	}
	return true
}

// askPerVertex answers a job's first wait on slot-sharing groups the policy
// was not told of (awaitingSlots): the parallelism last declared, with the
// TaskManagers it needs counted per vertex (layout), at most
// MaxTaskManagers (the declaration fitted to their slots). Nil when that
// asks for no TaskManager more than are registered. Lower bounds stay at
// the targets: the job starts once the TaskManagers register, in the
// restart it waits for; if they do not, actuate's slot wait declares what
// the registered slots allow. What it trades is the wait for TaskManagers
// to start and the slots the per-vertex count asks beyond the groups'
// real need, against running now at what is registered and a restart more
// once the job is sized again (clearing-failover-storm: 6 registered slots,
// 11 by Flink's groups, 13 counted per vertex).
func askPerVertex(g gateInput, w slotWait, layout slots.Layout, snapshotID string) *events.Decision {
	s, want := w.snap, w.want
	tms, err := layout.TaskManagers(want)
	if err != nil {
		return nil
	}
	if limit := g.cfg.MaxTaskManagers; limit > 0 && tms > limit {
		if want, err = layout.Fit(want, (limit-layout.Standby)*layout.PerTaskManager); err != nil {
			return nil
		}
		tms = limit
	}
	need, err := layout.Needed(want)
	if err != nil || tms <= s.TaskManagers {
		return nil
	}
	d := newDecision(g, snapshotID)
	d.Slots = events.Slots{PerTaskManager: layout.PerTaskManager, Sharing: events.SlotSharingDedicated, Standby: layout.Standby}
	count := "per vertex"
	if !layout.Dedicated {
		d.Slots.Sharing, d.Slots.Groups = g.cfg.Slots.Sharing, layout.Most(want).Groups
		count = "by the slot-sharing groups the slots it held show"
	}
	d.TaskManagers = events.Count{Current: s.TaskManagers, Target: tms}
	var moves []string
	for _, v := range s.Vertices {
		reason := "unchanged: the parallelism last declared"
		if want[v.ID] != v.Parallelism {
			reason = "the parallelism last declared, asked again with the TaskManagers its slots need counted " + count
			moves = append(moves, fmt.Sprintf("%s %d→%d", orDash(v.Name), v.Parallelism, want[v.ID]))
		}
		d.Vertices = append(d.Vertices, events.VertexDecision{ID: v.ID, Name: orDash(v.Name), Current: v.Parallelism, Target: want[v.ID], Reason: reason})
	}
	if len(moves) == 0 {
		moves = append(moves, "at the parallelism it shows")
	}
	d.Rationale = fmt.Sprintf("the job has waited %s for slots since it last ran: %d registered on %d TaskManagers, which the parallelism last declared fits "+
		"by the policy's count of its slot-sharing groups, and it still waits: it has groups the policy was not told of (Flink before 1.20 does not "+
		"report them), so its slots are counted %s from now on (declare them in slots.groups to ask for fewer) and it is asked again with the "+
		"%d TaskManagers that count needs (%d slots, %d TaskManagers more; %s): 0 restarts of its own (the job is down and starts at this size once they "+
		"register), one restart fewer than running now at what the registered slots allow and sizing it again once it runs, traded for the TaskManagers' "+
		"start-up added to the wait (lag ~%.0f s added so far, one second per second) and the slots that count asks beyond the groups' own need; "+
		"if they do not register, actuate's slot wait declares what the registered slots allow",
		w.down.Round(time.Second), s.SlotsTotal, s.TaskManagers, count, tms, need, tms-s.TaskManagers, strings.Join(moves, ", "), w.down.Seconds())
	return d
}

// maxReplacements bounds the replacements one wait with no slot registered
// asks for (replaceUnregistered): after that many (the first once the job
// has waited stuckAfter, each next one twice as long after the one before
// as that one waited: 3, 6 and 12 min), a TaskManager that does not
// register is not a pod that failed to start once but a platform fault (a
// node pool out of capacity, an image that cannot be pulled, a JobManager
// the pods cannot reach) that a new pod does not fix, and the policy holds
// saying so.
const maxReplacements = 3

// replaceUnregistered answers a job that waits with no slot registered at
// all (awaitingSlots has nothing to run it on): CREATED for stuckAfter
// since it last ran, 0 slots, its TaskManagers asked for and none
// registered (a lost TaskManager whose replacement pod never registers).
// The decision declares the parallelism last declared at the TaskManagers
// it needs: the count actuate already runs, so actuate replaces the
// TaskManagers that have not registered (its --replace-unregistered: the
// pods deleted for their ReplicaSet to start new ones) and waits for their
// slots. n is how many such decisions this wait has made, this one
// included (Rescale.Replacements); at most maxReplacements, the k-th
// replacement's next one stuckAfter×2^k after it. d is nil when the job does not wait
// so or the next replacement is not due; hold then says why the policy
// gave up, "" when it did not.
func replaceUnregistered(g gateInput, st State, snapshotID string) (d *events.Decision, n int, hold string) {
	s := g.snap
	if s.SlotsTotal != 0 {
		return nil, 0, ""
	}
	w, ok := waitingForSlots(g, st)
	if !ok {
		return nil, 0, ""
	}
	prev := 0
	if rs := st.Rescale; rs != nil && rs.Replacements > 0 && rs.At.After(lastSample(st).At) {
		prev = rs.Replacements
		if prev >= maxReplacements {
			return nil, prev, fmt.Sprintf("the job has waited %s with no slot registered; %d replacements of its TaskManagers were asked for and none "+
				"registered: given up (a fault a new pod does not fix: node capacity, an image pull, the JobManager's address); it starts once "+
				"TaskManagers register", w.down.Round(time.Second), prev)
		}
		if g.now.Sub(rs.At) < stuckAfter<<prev {
			return nil, prev, ""
		}
	}
	layout := layoutIn(g.cfg, w.snap, st)
	tms, err := layout.TaskManagers(w.want)
	if err != nil {
		return nil, prev, ""
	}
	if limit := g.cfg.MaxTaskManagers; limit > 0 && tms > limit {
		if w.want, err = layout.Fit(w.want, (limit-layout.Standby)*layout.PerTaskManager); err != nil {
			return nil, prev, ""
		}
		tms = limit
	}
	d = newDecision(g, snapshotID)
	d.Slots = events.Slots{PerTaskManager: layout.PerTaskManager, Sharing: g.cfg.Slots.Sharing, Standby: layout.Standby}
	if layout.Dedicated {
		d.Slots.Sharing = events.SlotSharingDedicated
	}
	if len(layout.Groups) > 0 {
		d.Slots.Groups = layout.Most(w.want).Groups
	}
	d.TaskManagers = events.Count{Current: s.TaskManagers, Target: tms}
	for _, v := range s.Vertices {
		reason := "unchanged: the parallelism last declared"
		if w.want[v.ID] != v.Parallelism {
			reason = "the parallelism the job last ran at, declared again"
		}
		d.Vertices = append(d.Vertices, events.VertexDecision{ID: v.ID, Name: orDash(v.Name), Current: v.Parallelism, Target: w.want[v.ID], Reason: reason})
	}
	n = prev + 1
	d.Rationale = fmt.Sprintf("the job has waited %s for slots since it last ran with none registered (%d TaskManagers registered): the TaskManagers it "+
		"waits for do not register, so it is asked again at the parallelism last declared on %d TaskManagers, and actuate replaces those that "+
		"have not registered (replacement %d of at most %d): 0 restarts of its own (the job is down and starts once the new TaskManagers "+
		"register), traded for a pod deleted and started again (lag ~%.0f s added so far, one second per second)",
		w.down.Round(time.Second), s.TaskManagers, tms, n, maxReplacements, w.down.Seconds())
	return d, n, ""
}
