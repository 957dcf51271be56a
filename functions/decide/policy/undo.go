package policy

import (
	"fmt"
	"math"
	"time"
)

// A scale-up sized to drain a backlog carries spare the job does not need
// once the backlog is gone, and the pricing releases it as soon as the
// hour's saving beats a restart: minutes after the scale-up, on the load
// it was made for. That release undoes the move on the same load, a
// restart that bought nothing but the drain, which is what "no
// oscillation" forbids (a move undone within undoWindow with no load
// change between). So a scale-down that lowers a vertex the last decision
// raised, within undoWindow of it, on a load that has not moved the job's
// need by a load change (at least one TaskManager's slots and 10 %) since
// the raise ran (loadMovedSince), is
// priced as one restart more: it waits for the end of the window when
// holding the spare that long costs fewer slot-seconds than that restart
// (slo.weight × the slots the job needs, plus the idle slots, × the
// outage and the replay: undoStop);
// else it is made, and its rationale says what the undo was priced at.
// The release is not given up: at the end of the window it is priced as
// any scale-down, and a load change before then is followed at once.
//
// The window counts from when a snapshot first showed the scale-up's
// targets (Rescale.Applied), not from the decision: the scorecard times a
// flap between the moves of the running parallelism, and a scale-up lands
// after its TaskManagers register and its restart, on Flink 2 after the
// next checkpoint too (up to an interval later). Counted from the
// decision, a release held to the window's end landed minutes inside it
// (ticket-onsale-spikes: a spike's 3→7 decided at 1h09m50 ran at 1h14m,
// released at 1h24m50, ran at 1h27m: 13 minutes, a flap).

// undoWindow is how soon a move undone on the same load is a flap.
const undoWindow = 15 * time.Minute

// undoChange is the least relative move of the job's need that counts as
// a load change (with at least one TaskManager's slots).
const undoChange = 0.1

// undo is what the last decision says about best lowering what it raised.
type undo struct {
	// undoes: best lowers a vertex the last decision raised, within
	// undoWindow, on the same load; since is the time since the raise
	// ran (Rescale.Applied).
	undoes bool
	since  time.Duration
	// hold is the slot-seconds holding the current size until the window
	// ends costs; price is what the undo is priced at (one restart).
	hold, price float64
	// sized, when positive, is the stop of the restart the scale-up was
	// sized with (Rescale.Stop), dearer than the restart now (now), at
	// which the undo is priced.
	sized, now time.Duration
}

// undoStop is how long the restart of an undo holds the job back, what
// the undo is priced at: its outage and the input it replays (rc.replay,
// in seconds of the rate now), the lag it adds either way. Priced at the
// outage alone, a release that undid a drain's scale-up a minute or two
// after it ran looked cheaper than holding the spare to the window's end
// by a few percent, and was made (clickstream-bursts: holding 6,640
// slot-s against an undo priced at 50 s of outage, 5,940 slot-s, where
// the release's restart also replays 32 s).
func undoStop(rc restartCost) time.Duration { return rc.outage + rc.replay }

// A scale-up can also be undone by a reshape: a change that lowers the
// vertices it raised and raises another within fewer slots than the job
// pays now, on the same load (real Flink, constant-noise: 2/2/2 → 6/6/2
// at 0:57, then 6/6/2 → 4/5/3 at 7:17 on the same 600 rec/s, the Sink
// raised inside the slots kept: 2 decided flaps, made without the undo's
// price because the change raises a vertex). It is priced as any undo,
// unless the job at its size now is short of the demand (correction).

// correction reports whether best, a change that raises some vertex, is
// made at a job short of the demand at its size now (keepH, keep's
// headroom, below 0): the raise then corrects a bottleneck the last
// scale-up left, and holding the job short to the window's end would
// cost lag the undo's price does not count, so it is not held as an undo.
func correction(best evaluation, keepH float64) bool { return best.raises() && keepH < 0 }

// undoOf reads whether best undoes the last decision (st.Rescale) on the
// same load within undoWindow of the decision's move (Rescale.Applied):
// need is the slots the job needs now (sized with no headroom), stop how
// long the restart holds the job back (undoStop). The undo is priced at
// no less than the restart the scale-up was sized with (Rescale.Stop): a
// scale-up sized to drain a backlog on a restart priced at 20 s, whose
// first observed restart then took 5 s, was undone minutes later on the
// same load because the cheaper restart priced the undo below holding
// its spare (real Flink: a MiniCluster restarts in 2–11 s, where the
// size was chosen on the configured 30 s or the TaskManagers' start-up).
// The undo then is a correction of the scale-up's price, not of the
// load, which is what the scorecard calls a flap: so the pair is
// weighed at the price the move was made on, and a scale-up is undone on
// the same load only when it would be at the restart it was sized with.
func undoOf(best evaluation, st State, j jobView, lim limits, need int, stop time.Duration, cfg Config, now time.Time) undo {
	rs := st.Rescale
	var u undo
	if rs == nil || rs.Applied.IsZero() || rs.Need <= 0 || rs.Offered <= 0 || j.offered <= 0 || best.keep() {
		return u
	}
	now0 := lim.paid(lim.need(currentsOf(j)))
	if best.raises() && best.paid >= now0 {
		// a scale-up; one that raises a vertex within fewer slots than
		// the job pays now (a reshape) may still lower what it raised
		return u
	}
	u.since = now.Sub(rs.Applied)
	if u.since >= undoWindow {
		return u
	}
	lowers := false
	for i, v := range j.vs {
		from, ok := rs.From[v.id]
		if ok && best.ps[i] < v.cur && from < rs.Targets[v.id] && v.cur == rs.Targets[v.id] {
			lowers = true
			break
		}
	}
	if !lowers {
		return u
	}
	if loadMovedSince(st.Minutes, rs, j.offered, need, lim.costStep()) {
		return u
	}
	u.undoes = true
	u.hold = float64(now0-best.paid) * (undoWindow - u.since).Seconds()
	if rs.Stop > stop {
		u.sized, u.now = rs.Stop, stop
		stop = rs.Stop
	}
	u.price = restartPrice(stop, cfg, need, lim.slots(currentsOf(j)))
	return u
}

// loadMovedSince reports whether the load moved by a load change (at
// least step slots, limits.costStep, and undoChange of need, the slots
// the job needs at offered, the rate now) since the last decision's move
// ran (rs.Applied): the scorecard calls an undo a flap when no load change
// came between the two moves, whatever the load was when the first was
// decided. A scale-up decided on a spike, or on a catch-up read after a
// restart, often runs once that rate is gone (after its TaskManagers, its
// restart, on Flink 2 the next checkpoint); read against the decision's
// rate (rs.Offered) its release looked like a load change, and was made
// minutes after the move on the load the move ran on
// (hourly-batch-dedup: a 4-min batch decided at 75k rec/s ran on 33k,
// released 7 min later on 33k). So every minute of s that began after
// the move, the one being averaged included, is read against the rate
// now; with no such minute yet, the decision's rate is, as before.
func loadMovedSince(s *Series, rs *Rescale, offered float64, need, step int) bool {
	same := math.Max(float64(step), undoChange*float64(max(need, 1)))
	moved := func(x float64) bool { return math.Abs(x/offered-1)*float64(max(need, 1)) >= same }
	from := rs.Applied.Unix()/60 + 1
	seen := false
	if s != nil {
		for k, x := range s.Rates {
			if s.Start+int64(k) < from || x < 0 {
				continue
			}
			if moved(x) {
				return true
			}
			seen = true
		}
		if s.Minute >= from && s.N > 0 {
			if moved(s.Mean) {
				return true
			}
			seen = true
		}
	}
	if seen {
		return false
	}
	return math.Abs(offered/rs.Offered-1)*float64(rs.Need) >= math.Max(float64(step), undoChange*float64(rs.Need))
}

// currentsOf is every vertex's current parallelism.
func currentsOf(j jobView) []int {
	ps := make([]int, len(j.vs))
	for i, v := range j.vs {
		ps[i] = v.cur
	}
	return ps
}

// awaitUndo says why a scale-down that undoes the last scale-up on the
// same load waits (u.hold ≤ u.price); empty when it does not, or when
// holding costs more than the undo (note then says so).
func awaitUndo(best evaluation, u undo) (wait, note string) {
	if !u.undoes {
		return "", ""
	}
	sized := ""
	if u.sized > 0 {
		sized = fmt.Sprintf(": the restart the scale-up was sized with, stopping the job %s (%s now)", u.sized.Round(time.Second), u.now.Round(time.Second))
	}
	if u.hold <= u.price {
		return fmt.Sprintf("a scale-down now would undo the scale-up that ran %s ago on the same load: held until %s after it (%.0f slot-s), less than the %.0f slot-s of the restart an undo is priced at%s (%s)",
			u.since.Round(time.Second), undoWindow, u.hold, u.price, sized, best.summary()), ""
	}
	return "", fmt.Sprintf("; it undoes the scale-up that ran %s ago on the same load, priced at a restart (%.0f slot-s%s): less than holding the spare until %s after it (%.0f slot-s)",
		u.since.Round(time.Second), u.price, sized, undoWindow, u.hold)
}

// A scale-down into a level the load rose from before is the same flap
// seen from the other side: on a load that swings (a sine's trough, a
// base between bursts) the lower size lasts until the load rises again,
// and the scale-up that follows undoes it. So before a scale-down is made
// the load's minute history (State.Minutes) is read at about the rate now
// (within undoChange of it): when in most of those minutes the load rose
// beyond the target's capacity (its headroom over the demand) within
// undoWindow while the current size would have carried it (a rise beyond
// that is a scale-up either way, and holding saves no restart) and the
// job's need moved by less than a load change (one TaskManager's slots
// and undoChange, as undoOf reads it: a burst or a spike is a load change
// the job follows up and down, not a flap), the scale-down is expected to
// be undone, and what it saves
// until then (the slots it frees × the mean time to that rise) is priced
// against the two restarts it brings, its own and the undo's. It waits
// while the saving is the smaller; a level the history has not shown, or
// one it left without rising, prices the scale-down as before.

// reboundMin is the least number of minutes at about the rate now the
// history must show before it is read: fewer are a few minutes before
// whatever came next (a random spike 13 minutes later read as "every
// time"), not a level the load has been seen to leave.
const reboundMin = 10

// rebound is what the load's history says of lowering the job to a
// target with headroom h over the rate now.
type rebound struct {
	// seen are the minutes at about the rate now whose next undoWindow
	// the series holds; rose those after which the load rose beyond the
	// target's capacity within undoWindow and not beyond the current
	// size's (keep's headroom) nor by a load change, after on average.
	seen, rose int
	after      time.Duration
	keep       float64
	// save is the slot-seconds the lower size saves until the rise;
	// price what the two restarts cost.
	save, price float64
}

// expected reports that the history says the scale-down is undone within
// undoWindow more often than not.
func (b rebound) expected() bool { return b.seen >= reboundMin && 2*b.rose > b.seen }

// reboundOf reads s's complete minutes for best (a scale-down with
// headroom best.h over the demand at the rate offered; the current size
// has keep): need, outage and slots price a restart as undoOf does.
func reboundOf(best evaluation, keep float64, s *Series, offered float64, j jobView, lim limits, need int, outage time.Duration, cfg Config) rebound {
	b := rebound{keep: keep}
	if offered <= 0 || best.keep() || best.raises() || best.h <= 0 || math.IsInf(best.h, 1) {
		return b
	}
	w := int(undoWindow / time.Minute)
	var x []float64
	if s != nil {
		x = s.Rates
	}
	var after int
	same := math.Max(float64(lim.costStep()), undoChange*float64(need))
	for i := 0; i+w < len(x); i++ {
		if x[i] <= 0 || math.Abs(x[i]/offered-1) > undoChange {
			continue
		}
		b.seen++
		first, top := 0, 0.0
		for k := 1; k <= w; k++ {
			if first == 0 && x[i+k] > x[i]*(1+best.h) {
				first = k
			}
			top = math.Max(top, x[i+k])
		}
		if first > 0 && top <= x[i]*(1+keep) && (top/x[i]-1)*float64(need) < same {
			b.rose++
			after += first
		}
	}
	if b.rose > 0 {
		b.after = time.Duration(after) * time.Minute / time.Duration(b.rose)
	}
	if !b.expected() {
		return b
	}
	now := lim.paid(lim.need(currentsOf(j)))
	b.save = float64(now-best.paid) * b.after.Seconds()
	b.price = 2 * restartPrice(outage, cfg, need, lim.slots(currentsOf(j)))
	return b
}

// restartPrice is what a restart of a job needing need slots and running
// on slots is priced at: its outage × (slo.weight × need + the idle slots).
func restartPrice(outage time.Duration, cfg Config, need, slots int) float64 {
	return outage.Seconds() * (cfg.SLO.Weight*float64(max(need, 1)) + float64(slots))
}

// awaitRebound says why a scale-down the load's history expects undone
// waits (b.save ≤ b.price); empty when it does not, or when the saving is
// the larger (note then says what the undo was priced at).
func awaitRebound(best evaluation, b rebound) (wait, note string) {
	if !b.expected() {
		return "", ""
	}
	seen := fmt.Sprintf("in %d of the %d minutes the load was at about this rate (±%.0f%%) it rose beyond the target's capacity (+%.0f%%) but not the current size's (+%.0f%%) nor by a load change within %s, after %s on average",
		b.rose, b.seen, 100*undoChange, 100*best.h, 100*math.Min(b.keep, 9.99), undoWindow, b.after.Round(time.Second))
	if b.save <= b.price {
		return fmt.Sprintf("a scale-down now would be undone by the load's rise: %s; the slots it frees until then save %.0f slot-s, less than its restart and the undo's (%.0f slot-s) (%s)",
			seen, b.save, b.price, best.summary()), ""
	}
	return "", fmt.Sprintf("; %s: the slots it frees until then save %.0f slot-s, more than its restart and the undo's (%.0f slot-s)", seen, b.save, b.price)
}

// An undo's target is priced, like every candidate, over the load's
// Gauss–Hermite levels, and the one sized with no headroom carries the
// load exactly at its centre: short only at the levels above it (0.23 of
// the weight), it costs a fifth of a corrective restart, which an hour of
// the slots it frees outweighs. But a job at no headroom cannot drain
// what the load's noise builds, and the raise that follows is a move on
// the same load too: it undoes the undo, a second flap (real Flink,
// keyed-aggregation: the drain's 15 window subtasks released to 8 at
// +0 %, busy 100 % once the meters settled, raised to 10 1m50s later;
// wordcount-flatmap at the sandbox's cheap restarts: count 40 → 20 at
// +0 %, raised to 24 at +5 % two minutes later on the same ±2 % load). So
// an undo is made to the cheapest lowering that carries the load at the
// centre and the inner levels (±1.36 σ) of its uncertainty, and still
// undoes the scale-up (undoOf); when none does, the job holds its size
// until the window ends, when the release is priced as any scale-down.

// steadyFixes is the most corrective restarts an undo's target may
// expect: only the outer Gauss–Hermite levels (±2.86 σ) short.
var steadyFixes = gaussHermite[3][1] + gaussHermite[4][1] + 1e-9

// steadiest is the cheapest of evs that lowers the job, expects no
// corrective restart beyond the outer load levels (steadyFixes) and, by
// undoes, still undoes the last scale-up; best itself when it is steady,
// ok false when none is.
func steadiest(best evaluation, evs []evaluation, undoes func(evaluation) bool) (evaluation, bool) {
	if best.fixes <= steadyFixes {
		return best, true
	}
	var out *evaluation
	for i := range evs {
		e := &evs[i]
		if e.keep() || e.raises() || e.dSlot >= 0 || e.fixes > steadyFixes || out != nil && e.cost >= out.cost {
			continue
		}
		if undoes(*e) {
			out = e
		}
	}
	if out == nil {
		return evaluation{}, false
	}
	return *out, true
}

// steadyNote says why the undo goes to steady, not to the cheapest
// lowering (cheapest), or holds (steady is the zero evaluation).
func steadyNote(cheapest, steady evaluation) string {
	short := fmt.Sprintf("%s, short of the load %.2f of the time at its ±%.0f%%: the raise that would follow undoes the undo on the same load (a second flap)",
		string(cheapest.label(nil)), cheapest.fixes, 100*cheapest.sigma)
	if steady.cost == 0 && steady.paid == 0 {
		return fmt.Sprintf("a scale-down now would undo the scale-up on the same load, and no lower size carries the load up to %.2f σ of its uncertainty: the cheapest, %s; held until the undo window ends", gaussHermite[1][0], short)
	}
	return fmt.Sprintf("; undone to %s, the cheapest lowering that carries the load up to %.2f σ of its uncertainty (±%.0f%%, short %.2f of the time), not to %s",
		string(steady.label(nil)), gaussHermite[1][0], 100*steady.sigma, steady.fixes, short)
}
