package policy

import (
	"slices"
	"strings"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// hiddenGroupsAfter is how long the job must have held its slots before
// they are compared with its layout: Flink keeps slots a scale-down freed
// until their idle timeout (slot.idle.timeout, 50 s by default).
const hiddenGroupsAfter = 2 * time.Minute

// slotsHeldSince is when the job took the slots its current run holds: the
// run's start (run), unless a failover began it (State.Failovers). A
// failover restarts the job on the slots the run before it held, with no
// scale-down of ours between that could leave idle ones, so the time runs
// from the start of the run before it (and on back through failovers in a
// row, as far as the window shows: clearing-failover-storm's failover 1m50s
// into the first run left the job 1m20s on a run whose slots showed its
// hidden groups before its scale-up asked for too few).
func slotsHeldSince(st State, run time.Time) time.Time {
	held, epoch := run, st.Epoch
	failover := func(e time.Time) bool { return slices.ContainsFunc(st.Failovers, e.Equal) }
	for k := len(st.Window) - 1; k >= 0 && failover(epoch); k-- {
		if e := st.Window[k].Epoch; e.Before(epoch) {
			held, epoch = e, e
		}
	}
	if run.Before(held) {
		return run
	}
	return held
}

// holdsMoreSlots reports whether the running job holds more slots than its
// slot layout says its parallelism needs: slot-sharing groups that the
// REST API does not report (Flink 1.18/1.19) and the policy was not told
// of. The policy then takes every vertex as needing its own slots
// (State.Unfit) before its first scale-up asks for too few TaskManagers and
// times out, which is how it learned it before (checkpoints-and-groups: one
// timed-out actuation per run), and counts them by the groups the slots it
// held show (learnGroups) where they tell. Adaptive, KEDA and session
// modes (heldSlots): a session cluster's slots hold other jobs too, so
// there a reading of more slots than every vertex apart needs is none
// (session 20; before, session mode never read them, and a 1.18/1.19
// session job's first scale-up counted one group and timed out once a
// run); reactive mode takes every slot. What it trades is the over-ask of
// that layout (every vertex its own slots, where groups would share some;
// less where the readings tell the groups) and, in session mode, a few
// slots of other jobs read as the job's groups.
//
// The slots are compared once the job has held them hiddenGroupsAfter
// (slots a scale-down freed stay held up to Flink's idle timeout), or at
// once on a run the policy watched from its start with nothing before it
// (watchedFromItsStart: a job just submitted holds no slot a scale-down
// left): fraud-inference-big-taskmanagers' first decision, 50 s into the
// run, counted 15 slots where its hidden group needed 27, and timed out
// in actuate's parallelism wait (3 min) every run.
//
// Two reads are not evidence. A job whose every vertex reports its group
// (Flink 1.20 and later) has none hidden. And while a rescale of ours is in
// flight, one snapshot can hold two runs: the cluster overview read after a
// restart that takes under a second (the new run's slots) and the job read
// before it (the old run's parallelism and start), which measured 6 slots
// held against the 2 the old run's layout needed on a real Flink 1.20 whose
// job had one group.
func holdsMoreSlots(g gateInput, st State) bool {
	cur, used, ok := heldSlots(g, st)
	if !ok {
		return false
	}
	most := 0
	for _, p := range cur {
		most = max(most, p)
	}
	if used <= most { // no layout needs fewer than the largest vertex
		return false
	}
	need, err := layoutFor(g.cfg, g.snap, false).Needed(cur)
	return err == nil && used > need
}

// unfitNote ends the rationale of a decision sized with every vertex in its
// own slots because the slots showed groups the policy was not told of.
const unfitNote = "; slots counted per vertex (the job holds, or a decision needed, more slots than its known slot-sharing groups: declare them in slots.groups to ask for fewer)"

// firstSampleWithin is how soon after a run's start the policy's first
// sample of the job must come for watchedFromItsStart: two snapshot
// intervals.
const firstSampleWithin = 20 * time.Second

// watchedFromItsStart reports whether the policy has seen the job's
// current run from its start and nothing before it: no decision of ours
// (State.Rescale, State.IdleRelease), no failover, and the window's
// oldest sample of this run taken within firstSampleWithin of its start.
// Such a run is the job's first as the policy knows it (a job just
// submitted), so no scale-down freed slots it still holds idle, and the
// slots it holds are its layout's from its first read.
func watchedFromItsStart(st State) bool {
	if st.Rescale != nil || st.IdleRelease != nil || len(st.Failovers) > 0 || len(st.Window) == 0 {
		return false
	}
	first := st.Window[0]
	return first.Epoch.Equal(st.Epoch) && first.At.Sub(st.Epoch) <= firstSampleWithin
}

// withdrawUnfit declares again, every vertex kept, the parallelism a
// session-mode job runs at once its layout was learned unfit from a
// decision that timed out with the slots it could take there (slotsCame;
// State.Withdraw, until a decision declares other requirements) and
// keeping is what the policy chooses.
// The declaration that timed out is still Flink's requirements: the job
// runs below it, and at its next restart (a failover, a lost TaskManager)
// the adaptive scheduler waits for lower bounds the session cluster's
// slots never meet, the job down for good (logs-dedupe-session-spikes
// seed 142007: down from 30m31s to the end of the run, lag 10,000 s). Put
// back to what runs, the requirements restart nothing. Nil otherwise
// (outside session mode a time-out's slot wait declares what the
// registered slots allow).
func withdrawUnfit(g gateInput, st State, w weighed, snapshotID string) *events.Decision {
	s := g.snap
	if g.cfg.Mode != events.ModeSession || !st.Withdraw || s.JobState != "RUNNING" {
		return nil
	}
	d := w.decision(g, snapshotID)
	d.Rationale = "the decision that timed out is withdrawn: its requirements do not fit the slots the session cluster has for the job " +
		"(slot-sharing groups nobody declared; " + strings.TrimPrefix(unfitNote, "; ") + "), so the parallelism the job runs at is " +
		"declared again, every vertex kept: 0 restarts (Flink runs the job at it already) and 0 slots more, traded for nothing but a requirements update, " +
		"where left declared a restart (a failover, a lost TaskManager) would wait for slots the cluster does not have; " + holdSentence(w.evs, w.ld, w.lim)
	return d
}
