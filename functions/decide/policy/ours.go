package policy

import (
	"fmt"
	"slices"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// Name of our policy in decisions.
const Name = "flinkscaler"

// Ours is flinkscaler's own policy (Decide).
type Ours struct{}

var _ Policy = Ours{}

// Name implements Policy.
func (Ours) Name() string { return Name }

// Decide implements Policy.
func (Ours) Decide(in Input) Output { return Decide(in) }

// reactiveStandby is cfg without standby TaskManagers in reactive mode
// (slots.standby 0): Flink's reactive scheduler runs the job on every
// registered slot, a standby TaskManager's included, so none stays
// standby. Kept, it was capacity the policy neither priced nor saw as
// its decision's: actuate started ceil(p ÷ slots) + 1 TaskManagers, the
// job ran at the slots of all of them, above the target, so no decision
// ever showed (each held in flight for RescaleTimeout, its restart never
// learned) and every size carried a TaskManager it was not sized with
// (ledger-enrich-reactive-standby, 2-slot TaskManagers and one standby:
// a decision for 10 ran at 12). A lost TaskManager restarts a reactive
// job on the slots left either way. What it trades: the TaskManager the
// standby kept is not paid for; the job's headroom is what the policy
// sizes, a lost TaskManager's slots included.
func reactiveStandby(cfg Config) Config {
	if cfg.Mode == events.ModeReactive {
		cfg.Slots.Standby = 0
	}
	return cfg
}

// oursGates accept a snapshot into the job's history; each may hold. They
// are sharedGates, then settle; ours validates leniently (gateInput).
var oursGates = append(sharedGates[:len(sharedGates):len(sharedGates)], gateSettle)

// MeterSettle is the least time after a (re)start before Decide uses a
// sample, whatever Config.Settle says: Flink's rate meters (MeterView)
// divide the records of the last 60 s by 60 from a task's start, so every
// rate ramps from 0 over the first minute of a run, and the JobManager
// answers a metric request from its previous fetch (every 10 s by
// default), so a sample shows figures up to 10 s older still. Rates read
// sooner are too low by up to all of them: the job would look idle and be
// scaled down (docs/FIDELITY.md). Busy time and pending records are right
// sooner, but a decision needs the rates beside them.
const MeterSettle = 70 * time.Second

// Decide runs our policy on in. After the gates (order, validate, topology,
// epoch, record, in-flight, paused, cooldown, settle ≥ MeterSettle) come typed steps,
// each a function of the values it is given (a job that is not running holds,
// unless it waits for slots that do not come, awaitingSlots, or is down after
// a failover whose drain its restart can carry, foldIntoFailover):
//
//	learn     State, view            → State (restarts, efficiency points, slot fit, load profile)
//	observe   State, Snapshot        → view: per vertex rates, busy, true rate, source lag,
//	                                   offered rate (the freshest samples' at a step up: risenOffered)
//	load      State, view            → load: offered rate, its uncertainty, window peak (the new
//	                                   level's after a step down: dropOf), forecast
//	restart   State, Snapshot        → restart: outage, wait, replay now and after the next checkpoint
//	scaling   State, view            → per vertex efficiency with its uncertainty, ineffective caps
//	propose   view, load, scaling    → candidates: keep and one target per headroom level,
//	                                   each shaped by clamp → align → step cap → reactive → keep free
//	                                   subtasks → TaskManager cap
//	evaluate  candidates, restart    → slot-seconds, expected seconds above the SLO, lag, restarts
//	choose    evaluations            → the cheapest (slot-seconds + slo.weight × slots × s over the SLO)
//	undo      choice, State          → a scale-down undoing the last scale-up on the same load within
//	                                   15 min is priced as a restart more: held while that is dearer
//	delay     choice, State          → a scale-up waits ScaleUpDelay; a restart may wait for a checkpoint
//	emit      choice                 → decision with the traded numbers, State; keep with idle
//	                                   TaskManagers beyond the slots' need: a TaskManager-only
//	                                   release (releaseIdle), no restart
func Decide(in Input) Output {
	in.Config = reactiveStandby(in.Config)
	cfg := in.Config
	cfg.Settle = max(cfg.Settle, MeterSettle)
	g := newGateInput(&in, cfg, true)
	g.scr = takeScratch()
	defer g.scr.release()
	st, h := accept(g, in.State, oursGates)
	st = learnAfterGates(in.State, st, g)
	if h != nil && h.kind == HoldNotRunning {
		if d := awaitingSlots(g, st, in.State.Unfit, in.SnapshotID); d != nil {
			return Output{NewState: afterDecision(st, d, g.now), Decision: d}
		}
		d, n, gaveUp := replaceUnregistered(g, st, in.SnapshotID)
		if d != nil {
			ns := afterDecision(st, d, g.now)
			ns.Rescale.Replacements = n
			return Output{NewState: ns, Decision: d}
		}
		if out, ok := foldIntoFailover(in, g, st); ok {
			return out
		}
		if gaveUp != "" {
			h.msg = gaveUp
		}
	}
	failover := h != nil && (h.kind == HoldSettling || h.kind == HoldCooldown) && failoverRun(st, g.snap)
	release := h != nil && !failover && (h.kind == HoldSettling || h.kind == HoldCooldown) && releaseRun(st, g.snap)
	if (failover || release) && h.kind == HoldCooldown && (st.Rescale == nil || g.now.Sub(st.Rescale.At) >= g.cfg.MinInterval) {
		// the cool-down binds only from the run's start: that restart was
		// Flink's own (a failover), not one of ours, or the one of our
		// decision that lowered a vertex, which a growing backlog shows
		// was met by a rise (releaseRun); wait as settle does
		_, h = gateSettle(g, st)
	}
	if settle := in.Config.Settle; h != nil && h.kind == HoldSettling && settle < MeterSettle && g.now.Sub(st.Epoch) >= settle && (firstRun(st) || failover || release && backlogStillGrows(st)) && backlogGrows(st, g.cfg.SLO.MaxLag) {
		// the job's first run, or a failover's run at the parallelism it
		// ran at before, short from its start, its meters still ramping:
		// a scale-up may be decided on its rates read de-ramped
		// (derampedState)
		if read, note, ok := derampedState(st, g.now, settle, g.cfg.RateWindow); ok {
			early := g
			early.cfg.Settle = settle
			out := settled(in, early, read, nil, h)
			out.NewState.Window, out.NewState.Noise = st.Window, st.Noise
			if d := out.Decision; d != nil {
				run := "the run"
				switch {
				case failover:
					run = "the run a failover restarted at the parallelism it ran at before (the restart Flink's, not a change of ours)"
				case release:
					run = "the run our decision that lowered a vertex began, its backlog growing (a rise met the release: answered before the cool-down from the run's start and the settle)"
				}
				d.Rationale += fmt.Sprintf("; decided %s into %s on %s, not after the %s meters take to settle: the restart comes a checkpoint sooner, traded against rates read before their meters settled",
					g.now.Sub(st.Epoch).Round(time.Second), run, note, MeterSettle)
			}
			return out
		}
	}
	return settled(in, g, st, h, nil)
}

// settled is Decide after the gates' hold h (nil: accepted). With early
// set (a hold the run's age gave, the rates read de-ramped), only a
// scale-up is made; anything else holds as early says.
func settled(in Input, g gateInput, st State, h, early *hold) Output {
	if h != nil {
		return Output{NewState: st, HoldKind: h.kind, Hold: h.msg}
	}
	view := observeIn(g.scr, st, g.snap, g.cfg)
	if !view.flowing() {
		return Output{NewState: st, HoldKind: HoldIdle, Hold: "no records flowing into the sources; nothing to size"}
	}
	if msg := awaitPending(st, view, g.now); msg != "" {
		return Output{NewState: st, HoldKind: HoldSettling, Hold: msg}
	}
	if msg := awaitCatchUp(st.Window, view, g.cfg.Settle, g.cfg.RateWindow); msg != "" {
		return Output{NewState: st, HoldKind: HoldSettling, Hold: msg}
	}
	if msg := awaitBlindCatchUp(st, view, g.cfg); msg != "" {
		return Output{NewState: st, HoldKind: HoldSettling, Hold: msg}
	}
	w := weigh(g, st, view, restartFor(st, g.snap, g.cfg, g.now))
	st, best, evs, ld := w.st, w.best, w.evs, w.ld
	if early != nil && !best.raises() {
		return Output{NewState: st, HoldKind: early.kind, Hold: early.msg}
	}
	if best.keep() {
		st.UpSince = time.Time{}
		if d := withdrawUnfit(g, st, w, in.SnapshotID); d != nil {
			st.Withdraw = false
			return Output{NewState: st, Decision: d}
		}
		if d, next := releaseIdle(g, st, w, in.SnapshotID); d != nil {
			return Output{NewState: next, Decision: d}
		}
		if d, next := pinBounds(g, st, w, in.SnapshotID); d != nil {
			return Output{NewState: next, Decision: d}
		}
		return Output{NewState: st, HoldKind: HoldNoChange, Hold: holdSentence(evs, ld, w.lim)}
	}
	if msg := awaitFall(best, view, ld); msg != "" {
		return Output{NewState: st, HoldKind: HoldSettling, Hold: msg}
	}
	if msg := awaitRise(best, ld); msg != "" {
		return Output{NewState: st, HoldKind: HoldSettling, Hold: msg}
	}
	if msg := awaitMeters(best, st.Window, view, g.cfg.Settle); msg != "" {
		return Output{NewState: st, HoldKind: HoldSettling, Hold: msg}
	}
	need := needSlots(w.cands, w.lim)
	rc := w.rs.forChange(best.rises, best.starts)
	u := undoOf(best, st, view, w.lim, need, undoStop(rc), g.cfg, g.now)
	if correction(best, w.evs[0].h) {
		u = undo{}
	}
	steady := ""
	if u.undoes {
		undoes := func(e evaluation) bool {
			return undoOf(e, st, view, w.lim, need, undoStop(w.rs.forChange(e.rises, e.starts)), g.cfg, g.now).undoes
		}
		s, ok := steadiest(best, evs, undoes)
		if !ok {
			return Output{NewState: st, HoldKind: HoldStabilize, Hold: steadyNote(best, evaluation{})}
		}
		if s.cost != best.cost || !slices.Equal(s.ps, best.ps) {
			steady = steadyNote(best, s)
			best, w.best = s, s
			rc = w.rs.forChange(best.rises, best.starts)
			u = undoOf(best, st, view, w.lim, need, undoStop(rc), g.cfg, g.now)
		}
	}
	wait, undone := awaitUndo(best, u)
	undone = steady + undone
	if wait != "" {
		return Output{NewState: st, HoldKind: HoldStabilize, Hold: wait}
	}
	wait, rebounds := awaitRebound(best, reboundOf(best, w.evs[0].h, st.Minutes, view.offered, view, w.lim, need, rc.outage, g.cfg))
	if wait != "" {
		return Output{NewState: st, HoldKind: HoldRestart, Hold: wait}
	}
	if best.raises() && !rc.down && !view.blind {
		cap, lands := view.offered*w.ld.forecast*(1+w.evs[0].h), rc.wait+rc.outage
		b := burstOf(best, st.Minutes, view.offered, cap, lands)
		if !b.expected() && view.lag <= g.cfg.SLO.MaxLag.Seconds()/2 {
			// a job already behind by half its SLO (a failover's backlog)
			// needs the capacity whatever the rise does
			b = risesOf(best, st.Minutes, lands, g.cfg.RateWindow, g.now)
		}
		if msg := awaitBurst(best, b); msg != "" {
			st.UpSince = upSince(best, st, g.now)
			return Output{NewState: st, HoldKind: HoldRestart, Hold: msg}
		}
	}
	if msg := awaitLanding(best, rc, pollInterval(st)); msg != "" {
		st.UpSince = upSince(best, st, g.now)
		return Output{NewState: st, HoldKind: HoldCheckpoint, Hold: msg}
	}
	landed := landedNote(best, rc, st.UpSince, g.now)
	if h, next := delay(best, st, g.cfg, g.now); h != nil {
		return Output{NewState: next, HoldKind: h.kind, Hold: h.msg}
	}
	d := w.decision(g, in.SnapshotID)
	d.Rationale += undone + rebounds + landed
	st = afterDecision(st, d, g.now)
	st.Rescale.Offered, st.Rescale.Need, st.Rescale.Stop = view.offered, need, undoStop(rc)
	st.Rescale.Back = pricedBack(best, rc.outage, g.cfg.SLO.MaxLag.Seconds())
	return Output{NewState: st, Decision: d}
}

// weighed is a job's candidates priced and the cheapest chosen, with what
// they were priced from.
type weighed struct {
	st   State
	view jobView
	ld   load
	rs   restartCost
	sc   []scaling
	lim  limits
	// dem is the view's demand at ld's forecast.
	dem   []float64
	cands []candidate
	evs   []evaluation
	best  evaluation
}

// weigh learns scaling from view, measures the load, and prices every
// candidate with the restart rs (restartFor, or a failover's own:
// failoverRestart).
func weigh(g gateInput, st State, view jobView, rs restartCost) weighed {
	st = learnScaling(st, view, g.cfg)
	st = learnSaturation(st, view, g.snap.JobState == "RUNNING", g.now, g.cfg.RateWindow)
	for i := range view.vs {
		view.vs[i].saturated = st.Scaling[view.vs[i].id].Saturated
	}
	ld := measureLoad(st, view, g.cfg, g.now)
	ld.slower = drainFactor(st.Drains)
	rs = rs.replayedAt(st.Minutes, view.offered, g.now)
	if followsUp(rs, g.cfg) {
		ld.followUp = disturbanceReplay(rs, g.cfg)
		ld.folds = foldsFailover(g.cfg, view)
	}
	s := g.scr.weighing()
	if s == nil {
		s = new(scratch)
	}
	sc := scalingFor(s, st, view, g.cfg)
	lim := limitsFor(s, view, g.cfg, st, g.snap)
	if lim.reactive {
		up := registrationRestart(st, g.snap, g.cfg, g.now).replayedAt(st.Minutes, view.offered, g.now)
		rs.up, rs.start = &up, nil
	}
	caps := newCapMemosIn(s, view, sc)
	if rs.source != replayOnCheckpoint || rs.triggered {
		// a rescale that waits for the next periodic checkpoint lands up
		// to an interval after it is decided: a reaction time ahead is in
		// the rise anyway (hourly-batch-dedup: dearer, the same lag); one
		// on the checkpoint actuate triggers lands as soon as elsewhere
		ld = ld.aheadOf(view, g.cfg)
	}
	dem := view.demandIn(zeroed(&s.dem, len(view.vs), 0), ld.forecast)
	cands := propose(s, view, ld, dem, sc, lim, caps, rs, g.cfg)
	evs := evaluateAll(s, cands, view, ld, dem, rs, lim, sc, caps, g.cfg)
	return weighed{st: st, view: view, ld: ld, rs: rs, sc: sc, lim: lim, dem: dem, cands: cands, evs: evs, best: choose(evs)}
}

// decision is w's choice as a decision.
func (w weighed) decision(g gateInput, snapshotID string) *events.Decision {
	return decision(g, snapshotID, w.view, w.best, w.evs, w.ld, w.rs.forChange(w.best.rises, w.best.starts), w.sc, w.lim, w.dem)
}

// delay holds a chosen change: a scale-up until it has been chosen for
// ScaleUpDelay, and a restart the evaluation timed after the next
// checkpoint until that checkpoint. A scale-up held for a pinned moment
// (a reactive one, timed so its TaskManagers register just after a
// checkpoint) is still chosen while held: that time counts towards
// ScaleUpDelay, or the moment, one snapshot wide, would always find the
// delay just begun. Other timed holds start the delay afresh: actuate
// waits for a checkpoint due soon itself, so the delay loses nothing there.
func delay(best evaluation, st State, cfg Config, now time.Time) (*hold, State) {
	if best.after > 0 {
		st.UpSince = time.Time{}
		if best.pinned {
			st.UpSince = upSince(best, st, now)
		}
		return holdf(HoldCheckpoint, fmt.Sprintf("restart timed after the checkpoint due in %s: %s",
			best.after.Round(time.Second), best.summary())), st
	}
	if !best.raises() {
		st.UpSince = time.Time{}
		return nil, st
	}
	st.UpSince = upSince(best, st, now)
	if wait := cfg.ScaleUpDelay - now.Sub(st.UpSince); wait > 0 {
		return holdf(HoldStabilize, fmt.Sprintf("scale-up chosen; made if still chosen in %s: %s",
			wait.Round(time.Second), best.summary())), st
	}
	return nil, st
}

// upSince is when the scale-up best has been chosen since: State.UpSince,
// or now; zero when best raises nothing.
func upSince(best evaluation, st State, now time.Time) time.Time {
	switch {
	case !best.raises():
		return time.Time{}
	case st.UpSince.IsZero():
		return now
	}
	return st.UpSince
}

// pendingGrace is how long after a (re)start a source that reported
// pendingRecords before may take to report it again.
const pendingGrace = 3 * time.Minute

// awaitPending says why to wait when a source reports no pendingRecords
// although it did earlier in the window, within pendingGrace of the run's
// start: connectors register the metric only once records flow (Kafka,
// FLINK-31299), and sizing without it would probe a backlog that is
// merely not shown yet. Empty when there is nothing to wait for.
func awaitPending(st State, j jobView, now time.Time) string {
	if now.Sub(st.Epoch) >= pendingGrace {
		return ""
	}
	for i, v := range j.vs {
		if !v.source || v.est.pending >= 0 {
			continue
		}
		for _, s := range st.Window {
			if i < len(s.V) && s.V[i].Pending >= 0 {
				return fmt.Sprintf("%s has not reported pendingRecords since the restart %s ago (it did before); waiting up to %s for it",
					v.name, now.Sub(st.Epoch).Round(time.Second), pendingGrace)
			}
		}
	}
	return ""
}
