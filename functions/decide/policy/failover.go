package policy

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// foldIntoFailover sizes a job that is down after a failover (RESTARTING,
// or CREATED waiting for its slots) so that it comes back with the spare
// that drains the failover's backlog, in the failover's own restart:
// Flink's adaptive scheduler takes new resource requirements in any state
// and the job's next graph is built from them (AdaptiveScheduler.
// updateJobResourceRequirements replaces the job information and
// re-declares the slots; WaitingForResources waits for them), and actuate
// declares a down job's requirements before it asks for TaskManagers, so
// the scale-up costs no restart of its own. A failover that lost slots is
// one restart or two whatever the policy does: Flink waits for the
// replacement (lower bounds the slots left do not hold), or, once
// resource-stabilization-timeout has passed, runs the job on the slots
// left and restarts it when the TaskManagers register; the requirements
// declared now are what that restart brings the job back at. When the
// registered slots hold what the job ran at, Flink builds the failover's
// graph at once and a change would be a second restart: not folded
// (slotsHold). Waiting until the job runs again would take the meters'
// settling and a second restart (its outage and replay) before the drain
// begins: minutes of lag.
//
// Every candidate, keep included, is priced through the failover's restart
// (failoverRestart), from the last run's settled samples and the
// parallelism it ran at; only a scale-up whose spare drains the backlog
// within slo.recovery is made (one that does not buys spare for a target
// it misses anyway, and would ratchet the job up at every failover; a
// release waits until the job runs and shows its load), or, when the
// failover's replay alone outlasts slo.recovery, the scale-up that answers
// it (answersFailover). Not when a source's capacity is unknown
// (sourcesKnown), when the restart may be our own decision's (one under
// way: oursFor), the last run had not settled, the job has
// been down longer than slo.recovery (awaitingSlots answers a job that waits
// for ever), or in reactive and session mode (the former sizes by
// TaskManagers, the latter's TaskManagers are not the job's).
func foldIntoFailover(in Input, g gateInput, st State) (Output, bool) {
	s := g.snap
	last := lastSample(st)
	rs := st.Rescale
	switch {
	case s.JobState != "CREATED" && s.JobState != "RESTARTING":
		return Output{}, false
	case g.cfg.Mode != events.ModeAdaptive && g.cfg.Mode != events.ModeKEDA:
		return Output{}, false
	case last.At.IsZero() || last.At.Sub(last.Epoch) < g.cfg.Settle || len(last.V) != len(s.Vertices):
		return Output{}, false
	case rs != nil && rs.Applied.IsZero() && (rs.Failover || g.now.Sub(rs.At) < oursFor(g.cfg, s, st)):
		return Output{}, false
	case rs != nil && !rs.Applied.IsZero() && !last.Epoch.After(rs.Applied) && last.At.Sub(last.Epoch) < g.cfg.MinInterval:
		return Output{}, false
	}
	down := g.now.Sub(last.At)
	if down <= 0 || g.cfg.SLO.Recovery > 0 && down > g.cfg.SLO.Recovery {
		return Output{}, false
	}
	ran, ok := ranAs(s, st.Topology, last)
	if !ok || slotsHold(g.cfg, &ran, st) {
		return Output{}, false
	}
	fg := g
	fg.snap = &ran
	view := observeIn(fg.scr, st, fg.snap, fg.cfg)
	if !view.flowing() || !sourcesKnown(view) || awaitCatchUp(st.Window, view, fg.cfg.Settle, fg.cfg.RateWindow) != "" || awaitBlindCatchUp(st, view, fg.cfg) != "" {
		return Output{}, false
	}
	w := weigh(fg, st, view, failoverRestart(st, fg.snap, fg.cfg, g.now, last.At))
	late := !w.best.recovery.ok
	if !w.best.raises() || late && !answersFailover(w, fg.cfg) {
		return Output{}, false
	}
	d := w.decision(fg, in.SnapshotID)
	switch {
	case late && followsUp(w.rs, fg.cfg):
		d.Rationale += fmt.Sprintf("; the failover replays half the %s checkpoint interval on average, longer than %s (slo.recovery), so no size drains it in time and its answer is a scale-up: made now, not as a second restart that replays again",
			w.rs.interval, fg.cfg.SLO.Recovery)
	case late:
		d.Rationale += fmt.Sprintf("; this failover replays %s since the last checkpoint, longer than %s (slo.recovery), so no size drains it in time and its answer is a scale-up: made now, not as a second restart that replays again",
			w.rs.replay.Round(time.Second), fg.cfg.SLO.Recovery)
	}
	d.Rationale += fmt.Sprintf("; decided while the job is %s after a failover (down %s, %d of the %d slots it ran on registered): it comes back at this size in the failover's own restart "+
		"(or, if Flink already runs it on the slots left, in the restart Flink makes when the TaskManagers register), "+
		"so the drain starts when the job runs again and costs no second restart, traded against slots held from the start of the run and a longer outage if new TaskManagers start later than the replacement",
		s.JobState, down.Round(time.Second), s.SlotsTotal, slotsRan(g.cfg, &ran, st))
	next := afterDecision(w.st, d, g.now)
	next.Rescale.Failover = true
	// recorded as any scale-up is (its rate and the slots it needed), so
	// that its release on the same load within undoWindow is priced as
	// the undo it is (undoOf), at the release's own restart: the fold's
	// was the failover's, not one it added (Rescale.Stop unset). With none
	// recorded, a fold priced as held for the horizon was released as
	// soon as its drain was done, minutes after it ran on the load it was
	// made on, a decided flap each failover (siem-ddos-correlation, seed
	// 205002: 3/4 → 4/6 while CREATED at 2h24m30, back to 3/4 at
	// 2h27m20 on 8.7k rec/s; orderbook's failovers the same)
	next.Rescale.Offered, next.Rescale.Need = view.offered, needSlots(w.cands, w.lim)
	next.Failovers = appendFailover(next.Failovers, last.At)
	return Output{NewState: next, Decision: d}, true
}

// slotsHold reports whether the registered slots hold the parallelism the
// down job ran at (ran): then Flink's adaptive scheduler builds the
// failover's graph at once (WaitingForResources has its desired
// resources), at the requirements already declared, and a change declared
// now is a second restart once the job runs (after Flink's minimum
// interval between rescales), not part of the failover's: the policy
// decides once the job runs, from its meters, and prices that restart.
// When the slots do not hold it (a lost TaskManager), the job waits for
// the replacement, or runs on the slots left and restarts again when the
// replacement registers: the requirements declared now shape that restart.
func slotsHold(cfg Config, ran *events.Snapshot, st State) bool {
	need := slotsRan(cfg, ran, st)
	layout := layoutIn(cfg, ran, st)
	return need > 0 && ran.SlotsTotal-layout.Standby*layout.PerTaskManager >= need
}

// slotsRan is the slots the parallelism of ran needs under the policy's
// slot layout (0 when it cannot be computed).
func slotsRan(cfg Config, ran *events.Snapshot, st State) int {
	p := make(map[string]int, len(ran.Vertices))
	for _, v := range ran.Vertices {
		p[v.ID] = v.Parallelism
	}
	need, err := layoutIn(cfg, ran, st).Needed(p)
	if err != nil {
		return 0
	}
	return need
}

// answersFailover reports whether a change that cannot drain the
// failover's backlog within slo.recovery is still folded into its restart:
// when half a checkpoint interval (the failover's replay) alone outlasts
// slo.recovery (followsUp), no size meets it, and the policy's answer to
// such a failover is a scale-up that drains it anyway (disturbance); made
// while the job is down it costs no restart of its own, nor the replay
// from a checkpoint minutes old that a second restart adds. Only a change
// that adds spare where the job is short (its headroom above keep's).
// Measured (10 fresh seeds 32001–32010): daily-checkpoints-failovers p99
// lag 701/2,128 → 577/1,424 s (mean/p95), lag back 1,287/1,734 →
// 1,253/1,497 s, at 2.90 → 2.97× oracle15; large-state-hourly-sessions
// 2.95 → 2.99× for no less lag (its folds add slots to a job already
// draining at +150 %). With a 1-minute interval (faults) no failover
// replays that long on average, and the drain is folded only when it
// meets the recovery target (it ratcheted the job up at every failover
// otherwise), or when this failover's own replay outlasts slo.recovery
// (checkpoints that failed, or the first one of a run not yet due: Flink
// restarts the schedule at a random delay with every run).
func answersFailover(w weighed, cfg Config) bool {
	long := followsUp(w.rs, cfg) || cfg.SLO.Recovery > 0 && w.rs.replay >= cfg.SLO.Recovery
	return long && w.best.h > w.evs[0].h
}

// oursFor is how long after a decision of ours a restart may still be its
// own: the decision's timeout and actuate's interval. A job down reports no
// checkpoints, so the interval is the one it last reported running
// (State.Checkpoints): on Flink 2 a rescale lands on the next completed
// checkpoint, up to an interval later (rescaleTimeout), and a restart then
// is the decision's, not a failover to fold a drain into.
func oursFor(cfg Config, s *events.Snapshot, st State) time.Duration {
	ck := *s
	if ck.CheckpointIntervalMs <= 0 {
		ck.CheckpointIntervalMs = st.Checkpoints.Interval.Milliseconds()
	}
	return rescaleTimeout(cfg, &ck) + cfg.MinInterval
}

// sourcesKnown reports whether every source's capacity is measured: the
// drain runs no faster than the sources read, and a source that shows no
// busy time could be the bottleneck unseen (sizing the vertices behind it
// would buy nothing). A blind source's learned ceiling does not count: it
// is what the source was seen to read, and sizing such a job probes
// (a drain sized on it was released within minutes, moves undone with no
// load change, on legacy-jms-day).
func sourcesKnown(j jobView) bool {
	for _, v := range j.vs {
		if v.source && (v.rate <= 0 || v.ceiling > 0) {
			return false
		}
	}
	return true
}

// ranAs is the down snapshot s in the vertex order of the window's samples
// (topology, State.Topology's fingerprint), with the parallelism the job ran
// at in its last sample: while the job is CREATED, Flink shows the
// submission-time parallelism of an empty graph (RESTARTING: the cancelled
// one), and may list its vertices in another order than the running job
// did (real Flink 1.20 after a lost TaskManager: source and sink swapped,
// so a fold read by index sized the wrong vertices). false when s's
// vertices and edges are not the topology's.
func ranAs(s *events.Snapshot, topology string, last Sample) (events.Snapshot, bool) {
	ran := *s
	if len(last.V) != len(s.Vertices) {
		return ran, false
	}
	ran.Vertices = make([]events.VertexSnapshot, 0, len(s.Vertices))
	for part := range strings.SplitSeq(topology, ";") {
		if part == "" {
			continue
		}
		id, _, _ := strings.Cut(part, "<")
		i := slices.IndexFunc(s.Vertices, func(v events.VertexSnapshot) bool { return v.ID == id })
		if i < 0 || len(ran.Vertices) == len(last.V) {
			return ran, false
		}
		v := s.Vertices[i]
		v.Parallelism = last.V[len(ran.Vertices)].P
		ran.Vertices = append(ran.Vertices, v)
	}
	return ran, sameTopology(topology, &ran)
}

// failoverRestart prices the restart of a job that went down at stop and
// is still down at now: its outage, from stop, is what the job's restarts
// take, at least the time it has been down plus a restart's whole
// downtime (a lost TaskManager's replacement starts, then the job
// restarts) and a minute at least; its replay is the input read from the
// last checkpoint's trigger to stop (State.Checkpoints, as the job last
// reported them running: all of it, not the time since a checkpoint an
// interval would have brought; half an interval when no checkpoint is
// known; Replay without an interval). New TaskManagers start now, beside the
// replacement: a candidate that raises a vertex is priced the same outage.
// Nothing runs before the stop (wait 0), and every candidate comes back
// through it (down).
func failoverRestart(st State, snap *events.Snapshot, cfg Config, now, stop time.Time) restartCost {
	rc := restartCost{restartStats: expectedRestart(st, cfg), down: true}
	gone := now.Sub(stop)
	rc.outage = max(rc.outage, gone+max(rc.downtime, time.Minute))
	rc.downtime = rc.outage
	ck := st.Checkpoints
	if snap.CheckpointIntervalMs > 0 {
		ck.Interval = time.Duration(snap.CheckpointIntervalMs) * time.Millisecond
	}
	if snap.LastCheckpointAt != nil && snap.LastCheckpointAt.After(ck.Last) {
		ck.Last = *snap.LastCheckpointAt
	}
	if snap.LastCheckpointAt != nil && snap.LastCheckpointAt.Equal(ck.Last) {
		rc.took = time.Duration(max(snap.LastCheckpointDurationMs, 0)) * time.Millisecond
	}
	rc.interval = ck.Interval
	switch {
	case ck.Interval <= 0:
		rc.replay, rc.source = cfg.Replay, replayFromConfig
	case ck.Last.IsZero() || ck.Last.After(stop):
		rc.replay, rc.source = ck.Interval/2, replayFromInterval
	default:
		// the stop is past: no checkpoint completed after the last one
		// the job reported running, however long ago (a checkpoint that
		// failed, or the schedule Flink restarts at a random delay with
		// every run), so the failover restores it and replays all since
		rc.replay, rc.source, rc.stop = stop.Sub(ck.Last)+rc.took, replayFromCheckpoint, stop
		// the checkpoint holds the sources' positions at its trigger: a
		// job that lagged then and drained since goes back to that lag
		then, ok1 := sampleLag(st.Window, snap, ck.Last.Add(-rc.took))
		at, ok2 := sampleLag(st.Window, snap, stop)
		if ok1 && ok2 && then > at {
			rc.behind = time.Duration((then - at) * float64(time.Second)).Round(time.Second)
			rc.replay += rc.behind
		}
	}
	return rc
}

// sampleLag is the job's lag (s: the sources' pending records over the
// offered rate) in the window's latest sample at or before t; false when
// the window starts after t, or that sample does not show every source's
// pending records or an offered rate. snap gives the vertices in the
// samples' order.
func sampleLag(w []Sample, snap *events.Snapshot, t time.Time) (float64, bool) {
	i := len(w) - 1
	for i >= 0 && w[i].At.After(t) {
		i--
	}
	if i < 0 || w[i].Offered <= 0 || len(w[i].V) != len(snap.Vertices) {
		return 0, false
	}
	pending := 0.0
	for k, v := range snap.Vertices {
		if !v.IsSource && len(v.Inputs) > 0 {
			continue
		}
		if w[i].V[k].Pending < 0 {
			return 0, false
		}
		pending += w[i].V[k].Pending
	}
	return pending / w[i].Offered, true
}
