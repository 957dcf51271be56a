package policy

import (
	"math"
	"slices"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// restartStats is what the job's restarts took, from its own history.
type restartStats struct {
	// downtime is from a decision to the job running at its targets;
	// outage is the part the job did not run. Both are means over
	// State.Restarts, RestartDowntime before any was observed.
	downtime, outage time.Duration
	// startup is the mean TaskManager start-up of the restarts averaged
	// (RestartObs.Startup; kind startedRestart only): the wait before
	// actuate's wait for a checkpoint.
	startup  time.Duration
	observed int
	// kind is the restarts averaged (anyRestart, raisedRestart,
	// otherRestart): whose waits a restart's replay is averaged over
	// (scheduleReplay).
	kind int
}

// expectedRestart is the mean of the job's observed restarts.
func expectedRestart(st State, cfg Config) restartStats {
	return restartsOf(st.Restarts, cfg, anyRestart)
}

// Which observed restarts restartsOf averages.
const (
	anyRestart     = iota
	raisedRestart  // RestartObs.Raised: a scale-up's, its wait the start-up of the TaskManagers it asked for
	otherRestart   // the rest (a scale-down's, or one that fit the slots held)
	startedRestart // RestartObs.Started: its decision asked for more TaskManagers than were registered
	ownRestart     // all but a decision folded into a failover's restart (RestartObs.Failover)
)

// restartsOf is the mean of the observed restarts of kind, RestartDowntime
// when none was observed (observed 0).
func restartsOf(obs []RestartObs, cfg Config, kind int) restartStats {
	rs := restartStats{downtime: cfg.RestartDowntime, outage: cfg.RestartDowntime}
	var d, o, s time.Duration
	n := 0
	for _, r := range obs {
		if !ofKind(r, kind) {
			continue
		}
		d += r.Downtime
		o += r.Outage
		s += r.Startup
		n++
	}
	if n == 0 {
		return rs
	}
	rs.downtime, rs.outage, rs.observed, rs.kind = d/time.Duration(n), min(o, d)/time.Duration(n), n, kind
	if kind == startedRestart {
		rs.startup = s / time.Duration(n)
	}
	return rs
}

// splitRestarts is the expected restart of a change that raises no vertex
// and of one that raises some (up), each the mean of the job's observed
// restarts of its kind, or of all of them while none of its kind was
// observed (none of them a decision folded into a failover's restart,
// RestartObs.Failover, unless those are all that were seen: restartFor):
// a scale-up's wait holds the start-up of the TaskManagers it asks for,
// which a scale-down's does not, so the mean of both priced a
// scale-up's wait short (clickstream-bursts: 25 s priced, 66 s taken, the
// replay and the lag at the stop growing with it) and a scale-down's long.
//
// start is the restart of a change that asks for more TaskManagers than
// are registered, from the job's restarts that did (restartFor uses it
// once two were seen: one start-up is one draw of a spread of tens of
// seconds; clickstream-bursts seed 91007 priced 1m10s from one, sized for
// it and decided into a burst): their start-up (RestartObs.Startup) is the wait before
// actuate's checkpoint wait, which restartWith prices from the checkpoint
// schedule now. Priced from the scale-ups' whole waits, a change that
// started TaskManagers was priced short when the job's earlier scale-ups
// fit the slots held (clickstream-bursts seed 81001: a first scale-up
// waited 2 s, the next asked for a TaskManager and waited 49 s), and the
// waits held besides the checkpoint wait of the restart observed, at its
// own place in the schedule.
func splitRestarts(st State, cfg Config) (base, up, start restartStats) {
	all := restartsOf(st.Restarts, cfg, ownRestart)
	if all.observed == 0 {
		// only folds seen: the failover's outage is all there is to
		// price from
		all = restartsOf(st.Restarts, cfg, anyRestart)
	}
	base, up = all, all
	if rs := restartsOf(st.Restarts, cfg, otherRestart); rs.observed > 0 {
		base = rs
	}
	if rs := restartsOf(st.Restarts, cfg, raisedRestart); rs.observed > 0 {
		up = rs
	}
	return base, up, restartsOf(st.Restarts, cfg, startedRestart)
}

// checkpointWait is how long before a due checkpoint actuate holds a
// restart for it (its --checkpoint-wait default).
const checkpointWait = 30 * time.Second

// restartCost is what a restart decided now costs the job's lag.
type restartCost struct {
	restartStats
	// wait is the time from the decision to the stop, while the job still
	// runs at its current size (TaskManagers starting, the checkpoint).
	wait time.Duration
	// replay is the input read since the checkpoint the restart restores.
	replay time.Duration
	// later, when positive, is how long until the next checkpoint: a
	// restart decided then replays (almost) nothing.
	later time.Duration
	// source says where replay came from (replayFrom*).
	source int
	// interval is the checkpoint interval, 0 when unknown.
	interval time.Duration
	// took is how long the job's last checkpoint took from its trigger to
	// its last acknowledgement (0 when unknown): a restart restoring a
	// checkpoint replays from its trigger, so a waited one replays this
	// long (the one due is taken to take as long as the last).
	took time.Duration
	// laterReplay is the replay of a decision timed for later (source
	// replayAtRegistration).
	laterReplay time.Duration
	// up, when set, prices the restart of a candidate that raises some
	// vertex instead (reactive mode: registrationRestart; a failover's
	// restart that waits for new TaskManagers: failoverRestart); start,
	// when set, that of one that asks for more TaskManagers than are
	// registered (splitRestarts, limits.starts).
	up, start *restartCost
	// release is the job's Flink release when its rescale waits for a
	// checkpoint (source replayOnCheckpoint).
	release string
	// down: the job is down (a failover), so every candidate, keep
	// included, comes back through this restart; none adds one of its own.
	down bool
	// behind is how much further behind their input the sources were at
	// the restored checkpoint's trigger than at the stop (a failover's
	// restart, when the window shows both): the restore puts them back
	// there, so replay includes it.
	behind time.Duration
	// stop is when the job stops, where the replayed input ends (zero:
	// replay is not a span of the job's input, Replay). span, once
	// replayedAt has converted replay into seconds of the rate now, is
	// the time the replayed input was offered over (0 before).
	stop time.Time
	span time.Duration
	// ridden, when positive, is the outage a failover the job rides is
	// priced at (disturbance) instead of outage: the mean of every
	// observed restart's, once one was a decision folded into a
	// failover's restart (restartFor).
	ridden time.Duration
	// waited of waits: after how many of the observed waits the
	// restart would wait for the checkpoint due then (scheduleReplay;
	// 0 when after all or none).
	waited, waits int
	// slack, when the change lands on a completed checkpoint (source
	// replayOnCheckpoint), is how long that checkpoint is due after what
	// the restart needs first (its TaskManagers' start-up, its own
	// preparation) would be over: a change decided up to slack later
	// lands on the same checkpoint (awaitLanding).
	slack time.Duration
	// triggered: the change lands on the checkpoint actuate triggers
	// right after it (slack is that checkpoint's duration), sooner than
	// on the periodic one; one decided later triggers its own, later.
	triggered bool
}

// checkpointTrigger is how long after a change's preparation actuate
// asks for the checkpoint that lands it on Flink 2 (its
// --trigger-checkpoint, on by default): the put, its read back and the
// trigger, a request each.
const checkpointTrigger = 2 * time.Second

// Where a restart's replay comes from.
const (
	replayFromConfig     = iota // no checkpoint interval: Replay
	replayFromInterval          // no checkpoint seen: half the interval
	replayWaited                // the checkpoint due at the stop is waited for
	replayFromCheckpoint        // the time from the last checkpoint to the stop
	replayAtRegistration        // reactive scale-up: the time from the last checkpoint to the new slots' registration
	replayOnCheckpoint          // Flink 2: the rescale waits for the next completed checkpoint
)

// describe appends the restart's price in words.
func (rc restartCost) describe(b text) text {
	b = b.s("restart ").dur(rc.downtime).s(" (outage ").dur(rc.outage).s(", ")
	at := rc.replay // in seconds of the rate now (replayedAt)
	if rc.span > 0 {
		rc.replay = rc.span + rc.behind
	}
	switch rc.source {
	case replayFromConfig:
		b = b.s("replay ").dur(rc.replay).s(" (no checkpoint interval reported)")
	case replayFromInterval:
		b = b.s("replay ").dur(rc.replay).s(" (half the ").dur(rc.interval).s(" checkpoint interval)")
	case replayWaited:
		if rc.replay <= 0 {
			b = b.s("no replay (the restart waits for the checkpoint due then)")
			break
		}
		b = b.s("replay ").dur(rc.replay).s(" (the restart waits for the checkpoint due then, and restores the input from its trigger: the last took ").dur(rc.took).s(")")
	case replayOnCheckpoint:
		if rc.replay > 0 {
			b = b.s("replay ").dur(rc.replay).s(" (the last checkpoint's trigger to its completion)")
			b = b.s(": Flink ").s(rc.release).s(" rescales on the next completed checkpoint")
		} else {
			b = b.s("no replay: Flink ").s(rc.release).s(" rescales on the next completed checkpoint")
		}
		if rc.triggered {
			b = b.s(", which actuate triggers")
		}
		b = b.s(", so the change lands in ~").dur(rc.wait)
	case replayAtRegistration:
		b = b.s("replay ").dur(rc.replay).s(" since the last checkpoint when the new TaskManagers register")
	default:
		b = b.s("replay ").dur(rc.replay).s(" since the last checkpoint")
		if rc.waited > 0 {
			b = b.s(" (its due checkpoint waited for after ").i(rc.waited).s(" of the ").i(rc.waits).s(" observed waits)")
		}
		if rc.behind > 0 {
			b = b.s(", its sources ").dur(rc.behind).s(" further behind their input then than at the stop")
		}
	}
	if r := (at - rc.behind).Seconds() / rc.span.Seconds(); rc.span > 0 && math.Abs(r-1) >= 0.05 {
		b = b.s(": ").dur(at).s(" at the rate now, its input offered at ").f(r, 2).s("× it")
	}
	switch {
	case rc.kind == startedRestart:
		b = b.s("; its TaskManagers start in ~").dur(rc.startup).s(", from the ").i(rc.observed).s(" observed that started some")
	case rc.observed > 0:
		b = b.s("; from ").i(rc.observed).s(" observed")
	}
	return b.s(")")
}

// restartFor prices a restart decided now. Replay is the time from the
// last completed checkpoint to the stop, when the job reports both it and
// its interval; a checkpoint due within checkpointWait of the stop is
// waited for (actuate does), and a later one is offered as a timed
// alternative. A restored checkpoint holds the sources' positions at its
// trigger, so every restart that restores one replays the time it took
// besides (snap.LastCheckpointDurationMs: a checkpoint of a back-pressured
// job with aligned barriers takes several times its usual length, and a
// scale-up waits for one exactly then). Without the last checkpoint, half
// an interval; without an interval, Replay.
//
// A change that raises some vertex is priced from the job's scale-ups'
// restarts (restartCost.up, splitRestarts) when they differ from the
// others'.
//
// A decision folded into a failover's restart (RestartObs.Failover) was
// down for the failover's outage: a lost TaskManager's replacement, the
// whole state's restore, a restore that failed and ran again (faults: 2–3.6
// min, where a rescale of the running job is out ~1.5 min while its new
// TaskManagers start). The job's own changes are priced without it; the
// failovers the job rides (disturbance) from every observed restart, it
// included, as a failover's restart is priced (failoverRestart). While the
// folds are all that was seen they price the job's changes too (the
// configured restart, 30 s, bought faults +150 % headroom against its
// failovers at a steady load). Priced from the mean of both, faults'
// release after its load fell was priced at ~2.5 min of outage where the
// job's own scale-up had been out ~1.5 min, and never made.
func restartFor(st State, snap *events.Snapshot, cfg Config, now time.Time) restartCost {
	base, up, start := splitRestarts(st, cfg)
	rc := restartWith(base, st, snap, cfg, now, false)
	u := restartWith(up, st, snap, cfg, now, true)
	if slices.ContainsFunc(st.Restarts, func(r RestartObs) bool { return r.Failover }) {
		ridden := expectedRestart(st, cfg).outage
		rc.ridden, u.ridden = ridden, ridden
	}
	cmp := u
	cmp.kind = rc.kind
	if cmp != rc {
		rc.up = &u
	}
	if start.observed >= 2 {
		s := restartWith(start, st, snap, cfg, now, true)
		s.ridden = rc.ridden
		rc.start = &s
	}
	return rc
}

// restartWith is restartFor for a restart whose downtime and outage are rs,
// of a change that raises some vertex or not (raises: scheduleReplay).
func restartWith(rs restartStats, st State, snap *events.Snapshot, cfg Config, now time.Time, raises bool) restartCost {
	rc := restartCost{restartStats: rs}
	rc.wait = rc.downtime - rc.outage
	if rs.kind == startedRestart {
		// the TaskManagers' start-up; the checkpoint wait after it is
		// priced below, from the schedule
		rc.wait = rs.startup
	}
	interval := time.Duration(snap.CheckpointIntervalMs) * time.Millisecond
	rc.interval = max(interval, 0)
	switch {
	case interval <= 0:
		rc.replay, rc.source = cfg.Replay, replayFromConfig
		return rc
	case snap.LastCheckpointAt == nil:
		if first, ok := firstCheckpoint(rc, st, interval, now); ok && !rescalesOnCheckpoint(snap) {
			first.stop = now.Add(first.wait)
			return first
		}
		rc.replay, rc.source, rc.stop = interval/2, replayFromInterval, now.Add(rc.wait)
		return rc
	}
	last := *snap.LastCheckpointAt
	if last.After(now) {
		last = now
	}
	rc.took = time.Duration(max(snap.LastCheckpointDurationMs, 0)) * time.Millisecond
	if rescalesOnCheckpoint(snap) {
		// the change lands on the first checkpoint completed once the job
		// could restart; the waits observed hold on average half an
		// interval of checkpoint wait besides what the restart needs
		prep := rc.wait
		if rc.observed > 0 && rc.kind != startedRestart {
			prep = max(prep-interval/2, 0)
		}
		rc.slack = interval - now.Add(prep).Sub(last)%interval
		if t := rc.took + checkpointTrigger; t < rc.slack {
			// actuate triggers a checkpoint once the change is declared
			rc.slack, rc.triggered = t, true
		}
		rc.wait = prep + rc.slack
		rc.replay, rc.source, rc.release = rc.took, replayOnCheckpoint, snap.FlinkVersion
		rc.stop = now.Add(rc.wait)
		return rc
	}
	stop := now.Add(rc.wait)
	rc.stop = stop
	if last.Before(st.Epoch) && !st.Epoch.After(now) {
		return runsFirstCheckpoint(rc, st, interval, last, now, cfg.SLO.Recovery)
	}
	if now.Sub(last) > interval+rc.took+checkpointWait {
		// a last checkpoint older than an interval (and the wait for one,
		// and what it took): one the run's schedule would have brought
		// has not completed (it failed), and until the next one does a
		// restart restores the last one, so it replays all since, and no
		// checkpoint is taken to be due; the schedule goes on (Flink
		// triggers the next one an interval after the one that failed),
		// so a restart timed after the next is offered when the run's
		// start is known to be before the last checkpoint
		rc.replay, rc.source = stop.Sub(last)+rc.took, replayFromCheckpoint
		if next := interval - now.Sub(last)%interval; !st.Epoch.IsZero() && next > checkpointWait {
			rc.later = next
		}
		return rc
	}
	rc = scheduleReplay(rc, st.Restarts, last, now, interval, raises)
	if next := interval - now.Sub(last)%interval; rc.source != replayWaited && next > checkpointWait {
		rc.later = next
	}
	return rc
}

// scheduleReplay prices a restart within the run's checkpoint schedule
// (one completed every interval from last): a checkpoint due within
// checkpointWait of the stop is waited for (actuate does) and replays
// what it takes; otherwise the restart replays the time since the last
// one completed, and what it took. When the stop comes is not known to
// the second: a scale-up's waits for its TaskManagers vary by tens of
// seconds, and a stop earlier than actuate's wait before the checkpoint
// does not wait for it and replays almost an interval (ads-join-groups'
// scale-ups priced "replay 12s (the restart waits for the checkpoint due
// then…)" restarted 200–300 s behind). So with two observed scale-ups of
// its kind or more, replay and wait are the means over the stops their
// waits (downtime − outage) would bring; otherwise the stop the mean wait
// brings. The checkpoint is waited for after some of those waits and not
// others: "replay 1m10s since the last checkpoint (its due checkpoint
// waited for after 2 of the 4 observed waits)". Only for a change that
// raises a vertex (raises), over the job's scale-ups' waits: a scale-down's
// restart waits a whole interval for the next checkpoint (actuate's
// patient wait), so its observed waits hold that wait and say nothing of
// when it stops, and it is priced from the mean wait's stop as before
// (averaged over them too, sensor-failovers-nopending's drains came later:
// seed 24008's p99 lag 676 s).
func scheduleReplay(rc restartCost, obs []RestartObs, last, now time.Time, interval time.Duration, raises bool) restartCost {
	var replay, wait time.Duration
	n, waited := 0, 0
	each := func(w time.Duration) {
		since := now.Add(w).Sub(last) % interval
		n++
		if due := interval - since; due <= checkpointWait {
			waited++
			replay += rc.took
			wait += w + due
			return
		}
		replay += since + rc.took
		wait += w
	}
	k := 0
	for _, r := range obs {
		if r.Raised && ofKind(r, rc.kind) {
			k++
		}
	}
	switch {
	case rc.kind == startedRestart && rc.observed >= 2:
		// the stops the observed start-ups bring, each with the
		// checkpoint wait the schedule gives it
		for _, r := range obs {
			if ofKind(r, rc.kind) {
				each(r.Startup)
			}
		}
	case raises && k >= 2 && rc.observed > 0 && rc.kind != startedRestart:
		for _, r := range obs {
			if r.Raised && ofKind(r, rc.kind) {
				each(r.Downtime - min(r.Outage, r.Downtime))
			}
		}
	default:
		each(rc.wait)
	}
	rc.replay, rc.wait = replay/time.Duration(n), wait/time.Duration(n)
	rc.stop = now.Add(rc.wait)
	switch {
	case waited == n:
		rc.source = replayWaited
	default:
		rc.source = replayFromCheckpoint
		if waited > 0 {
			rc.waited, rc.waits = waited, n
		}
	}
	return rc
}

// ofKind reports whether restartsOf averages r for kind.
// Every kind but anyRestart leaves out a decision folded into a
// failover's restart (RestartObs.Failover): it was down for the
// failover's outage, not a rescale's.
func ofKind(r RestartObs, kind int) bool {
	if kind == anyRestart {
		return true
	}
	if r.Failover {
		return false
	}
	return kind == ownRestart || kind == raisedRestart && r.Raised || kind == otherRestart && !r.Raised ||
		kind == startedRestart && r.Started
}

// runsFirstCheckpoint prices a restart decided before the current run's
// first checkpoint, the last completed one the previous run's (State.Epoch
// after it). Flink's checkpoint coordinator starts a run's schedule when the
// run begins (at a random delay within an interval), not an interval after
// the last checkpoint: that checkpoint's schedule says nothing of when the
// next is due (read by it, a restart 5 minutes after a checkpoint taken a
// minute before the run began was priced as replaying nothing), and until
// the run's first completes a restart restores the last one and replays all
// since. The first is due at the latest an interval after the run began:
// waited for when due within checkpointWait of the stop (as actuate's wait
// reads it, firstCheckpoint), otherwise offered as a restart timed after
// it. With an interval longer than slo.recovery (recovery) it is not
// counted on (notCountedOn).
func runsFirstCheckpoint(rc restartCost, st State, interval time.Duration, last, now time.Time, recovery time.Duration) restartCost {
	if recovery > 0 && interval > recovery {
		return notCountedOn(rc, st, interval, last, now)
	}
	if first, ok := firstCheckpoint(rc, st, interval, now); ok {
		first.replay, first.stop = rc.took, now.Add(first.wait)
		return first
	}
	rc.replay, rc.source = rc.stop.Sub(last)+rc.took, replayFromCheckpoint
	if next := st.Epoch.Add(interval).Sub(now); next > checkpointWait {
		rc.later = next
	}
	return rc
}

// notCountedOn prices a restart decided before the run's first checkpoint
// when the interval is longer than slo.recovery: it is not priced as
// waiting for that checkpoint, which is not seen yet and may fail, and then
// the restart replays all since the previous run's last, more than an
// interval, which no drain brings back within slo.recovery
// (large-state-hourly-sessions, 12-minute checkpoints: a release priced as
// waiting for the run's first checkpoint, due within actuate's wait,
// restarted when that checkpoint failed and replayed the 21 minutes since
// the previous run's last, 1,732 s behind). It replays all since the last,
// and the restart timed after the first's latest completion (an interval
// after the run began, and what the last took) is offered, or after the
// next on the run's schedule once that has passed unseen. With shorter
// intervals a failed first checkpoint replays little more than a
// recovery's worth, and the restart counts on the checkpoint actuate
// waits for (measured: with 2-minute checkpoints, not counting on it put
// scale-ups early in a run later, hotkey-bursts-legacy's lag back
// 469 → 723 s).
func notCountedOn(rc restartCost, st State, interval time.Duration, last, now time.Time) restartCost {
	rc.replay, rc.source = rc.stop.Sub(last)+rc.took, replayFromCheckpoint
	next := st.Epoch.Add(interval + rc.took).Sub(now)
	if next <= 0 {
		next = interval - (-next)%interval
	}
	rc.later = next
	return rc
}

// firstCheckpoint prices a restart decided before the job's first
// checkpoint. Flink's checkpoint coordinator starts its schedule when the
// job runs, so the first checkpoint is due at most an interval after the
// run began (sooner with its random initial delay); actuate waits for it
// when due within checkpointWait of the stop (plan.CheckpointWait reads
// it the same way), and the restart then replays nothing. ok is false
// when it is due later: the replay is then priced as without a
// checkpoint (half an interval).
func firstCheckpoint(rc restartCost, st State, interval time.Duration, now time.Time) (restartCost, bool) {
	if st.Epoch.IsZero() || st.Epoch.After(now) {
		return rc, false
	}
	d := st.Epoch.Add(interval).Sub(now.Add(rc.wait))
	if d < 0 || d > checkpointWait {
		return rc, false
	}
	rc.wait += d
	rc.replay, rc.source = 0, replayWaited
	return rc, true
}

// rescalesOnCheckpoint reports whether the job's adaptive scheduler
// rescales it only on its next completed checkpoint
// (events.RescalesOnCheckpoint: Flink 2.0 and later with checkpointing on).
// A change then lands up to a checkpoint interval after it is declared
// (two when that checkpoint fails), and replays (almost) nothing.
func rescalesOnCheckpoint(snap *events.Snapshot) bool {
	return events.RescalesOnCheckpoint(snap.FlinkVersion, time.Duration(snap.CheckpointIntervalMs)*time.Millisecond)
}

// rescaleTimeout is how long a decision may take to show in the job:
// RescaleTimeout, plus the wait for the checkpoint that lands it when the
// job rescales only on a completed checkpoint (events.CheckpointGate, the
// same wait actuate allows: two intervals, as the next checkpoint may
// fail). Without it a 6-minute interval timed the wait out before the
// change landed, and the slots it had got were read as hidden slot-sharing
// groups.
func rescaleTimeout(cfg Config, snap *events.Snapshot) time.Duration {
	return cfg.RescaleTimeout + events.CheckpointGate(snap.FlinkVersion, time.Duration(snap.CheckpointIntervalMs)*time.Millisecond)
}

// replayedAt is rc with its replay in seconds of the offered rate now
// (cur), the unit the lag is priced in (the lag path drains seconds of
// today's input): a restart restores the records offered from the
// checkpoint's trigger to the stop, and a release after a peak replays the
// peak's records at a third of its rate (surges-failovers-late-pending: a
// release priced as replaying 8 s came back ~1,000 s behind at 29k rec/s
// for minutes of 60–95k input). The records are the minutes' offered rates
// (State.Minutes, settled samples only); a minute without one, and the
// time after now, at cur. Unchanged without a minute history, a span of
// input (replay from Config.Replay) or a rate now. The lag the sources had
// at the checkpoint (behind) is in seconds already.
func (rc restartCost) replayedAt(m *Series, cur float64, now time.Time) restartCost {
	if rc.up != nil {
		// rc.up is rc's own (restartFor made it for this decision)
		*rc.up = rc.up.replayedAt(m, cur, now)
	}
	if rc.start != nil {
		*rc.start = rc.start.replayedAt(m, cur, now)
	}
	span := rc.replay - rc.behind
	if m == nil || cur <= 0 || rc.stop.IsZero() || span <= 0 {
		return rc
	}
	recs := offeredOver(m, rc.stop.Add(-span), rc.stop, now, cur)
	rc.span = span
	rc.replay = time.Duration(recs/cur*float64(time.Second)) + rc.behind
	return rc
}

// offeredOver is the records offered from a to b: each minute of m at its
// rate (the minute being averaged at its mean so far), at cur a minute m
// holds none for and the time after now.
func offeredOver(m *Series, a, b, now time.Time, cur float64) float64 {
	recs := 0.0
	if b.After(now) {
		recs += cur * b.Sub(maxTime(a, now)).Seconds()
		b = now
	}
	first := time.Unix(m.Start*60, 0)
	if a.Before(first) && b.After(a) {
		end := minTime(first, b)
		recs += cur * end.Sub(a).Seconds()
		a = end
	}
	for a.Before(b) {
		k := a.Unix() / 60
		end := minTime(time.Unix((k+1)*60, 0), b)
		r := cur
		switch i := k - m.Start; {
		case k == m.Minute && m.N > 0:
			r = m.Mean
		case i >= 0 && i < int64(len(m.Rates)) && m.Rates[i] >= 0:
			r = m.Rates[i]
		}
		recs += r * end.Sub(a).Seconds()
		a = end
	}
	return recs
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

func minTime(a, b time.Time) time.Time {
	if a.Before(b) {
		return a
	}
	return b
}
