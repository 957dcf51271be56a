package policy

import (
	"fmt"
	"maps"
	"math"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// Ceiling is the most one subtask of a source that shows no pending records
// was seen to read: what it read while working off the backlog a restart
// left, when nothing downstream held it back. Such a source at its ceiling
// looks exactly like one reading all that is offered when it reports no
// busy time (a legacy SourceFunction: Flink reports its busy time as NaN,
// its idle time as 0) or under-reads it (a FLIP-27 reader bound by its
// fetcher thread: the task idles while the fetcher works, so busy time
// says 50 % at the ceiling); only this rate tells them apart. A source
// whose busy time is right shows its ceiling as busy ≥ saturated before
// it reads there, so its learned ceiling never counts.
type Ceiling struct {
	PerSubtask float64 `json:"perSubtask"`
	// P is the parallelism it was read at, Run the run it was read in
	// (State.Epoch then).
	P   int       `json:"p"`
	Run time.Time `json:"run"`
}

// Ceiling learning constants.
const (
	// catchUpGain is how much more than before the restart a source must
	// read after it for the difference to be a backlog worked off rather
	// than the load's noise.
	catchUpGain = 0.1
	// ceilingSlack: a subtask read more than this above its learned
	// ceiling shows the ceiling was not one; it is forgotten.
	ceilingSlack = 0.05
	// heldBack is the back-pressured fraction from which a source's read
	// is its output's limit, not its own.
	heldBack = 0.1
	// flatRead: two reads a rate window apart within this of each other
	// are one rate held.
	flatRead = 0.03
)

// learnCeilings updates State.Ceilings from the window's latest settled
// sample. After a restart, a blind source (no pending records; busy time
// missing or under-read) that works off the outage's backlog at its limit shows it so:
// the run's first settled samples a rate window apart (their meters'
// windows do not overlap) read the same (within flatRead) and at least
// catchUpGain more than it read before the restart (readBefore: the
// latest earlier settled sample that read less), nothing downstream
// saturated and its output not holding it back; and then either the read
// falls back at least half way to what it read before, within the time
// the backlog (the before-rate × the time since) takes to drain at the
// extra rate plus two meter windows, or it holds for a third window. A
// load that rises reads higher window after window, and one that rose
// during the outage does not fall back when the backlog would have
// drained; a catch-up that was not at the source's limit ends within a
// window and reads less in the next. That rate per subtask is kept, the
// latest run's replacing older ones. A settled sample read above a
// ceiling (by ceilingSlack) forgets it. A source whose pendingRecords
// registers late shows no pending records in the run's first settled
// sample: it learns the same way, and on one flat window when its
// pendingRecords then shows the backlog still left, unthrottled; only
// within the run's first Settle + maxCatchUpHold + two meter windows, so
// a job whose sources all show pending records pays for the look only
// early in a run.
func learnCeilings(st State, snap *events.Snapshot, cfg Config) map[string]Ceiling {
	w := st.Window
	n := len(w)
	if n == 0 {
		return st.Ceilings
	}
	last := w[n-1]
	if last.At.Sub(last.Epoch) < cfg.Settle || len(last.V) != len(snap.Vertices) {
		return st.Ceilings
	}
	blindNow := anyBlindSource(snap, last)
	if !blindNow && last.At.Sub(last.Epoch) > cfg.Settle+maxCatchUpHold+2*cfg.RateWindow {
		// a source whose pendingRecords registered late shows its
		// catch-up within the run's first minutes: not looked for later
		return st.Ceilings
	}
	first := firstSettled(w, last, cfg.Settle)
	if !blindNow && (first == nil || !anyBlindSource(snap, *first)) {
		return st.Ceilings
	}
	// wins: this run's first settled sample and the first a rate window
	// after each (their meters' windows do not overlap), up to three.
	wins := []*Sample{first}
	for k := range w {
		s := &w[k]
		if len(wins) == 3 || len(s.V) != len(last.V) || !s.At.After(first.At) || !sameTime(s.Epoch, last.Epoch) {
			continue
		}
		if s.At.Sub(wins[len(wins)-1].At) >= cfg.RateWindow {
			wins = append(wins, s)
		}
	}
	out, cloned := st.Ceilings, false
	set := func(id string, c Ceiling, ok bool) {
		if !cloned {
			out, cloned = maps.Clone(st.Ceilings), true
			if out == nil {
				out = map[string]Ceiling{}
			}
		}
		if ok {
			out[id] = c
		} else {
			delete(out, id)
		}
	}
	for i := range snap.Vertices {
		v, x := &snap.Vertices[i], last.V[i]
		if !blindSourceAt(v, x) && !blindSourceAt(v, first.V[i]) {
			// a source whose pendingRecords registers late (FLINK-31299)
			// hides the outage's backlog from the run's first settled
			// sample as a blind one does: its catch-up shows its ceiling
			// the same way
			continue
		}
		c, known := out[v.ID]
		if known && x.In/float64(x.P) > c.PerSubtask*(1+ceilingSlack) {
			set(v.ID, c, false)
			known = false
		}
		// shown: its pendingRecords, registered late, shows the backlog it
		// is still working off, unthrottled: it reads at its limit now
		shown := x.Pending >= x.In*laggingLag && x.BP < heldBack && !saturatedSample(last)
		if (len(wins) < 2 && !shown) || (known && c.Run.Equal(last.Epoch)) {
			continue
		}
		before := readBefore(w, last.Epoch, i, wins[0].V[i].In/(1+catchUpGain), cfg.Settle)
		if before == nil {
			continue
		}
		b := before.V[i].In
		// flat is how many of the windows, from the first, read the same
		// elevated rate; h is their mean.
		flat, h := 0, 0.0
		for k, s := range wins {
			y := s.V[i].In
			if !catchingUp(s.V[i], before.V[i], *s) || (k > 0 && math.Abs(y-h) > flatRead*h) {
				break
			}
			flat, h = k+1, (h*float64(k)+y)/float64(k+1)
		}
		if flat < 2 && !(shown && flat == 1) {
			continue
		}
		// held for a third window, or read the same with the backlog
		// shown; else it must fall back once the backlog would be gone
		held := flat == 3 || (shown && math.Abs(x.In-h) <= flatRead*h)
		if !held && (flat < 2 || !fellBack(last, *wins[1], x.In, b, h, before.At, cfg)) {
			continue
		}
		set(v.ID, Ceiling{PerSubtask: h / float64(wins[0].V[i].P), P: wins[0].V[i].P, Run: last.Epoch}, true)
	}
	return out
}

// fellBack: a source that read h catching up from b (read at before)
// reads x, at least half way back to b, a rate window after the second
// window (at) and within the time the backlog takes to drain at the
// extra rate plus two meter windows of the run's start.
func fellBack(last, at Sample, x, b, h float64, before time.Time, cfg Config) bool {
	drain := time.Duration(b * last.Epoch.Sub(before).Seconds() / (h - b) * float64(time.Second))
	return last.At.Sub(at.At) >= cfg.RateWindow && x <= b+(h-b)/2 &&
		last.At.Sub(last.Epoch) <= cfg.Settle+drain+2*cfg.RateWindow
}

// firstSettled is the first settled sample of last's run in w with as
// many vertices as last (nil when none).
func firstSettled(w []Sample, last Sample, settle time.Duration) *Sample {
	var first *Sample
	for k := len(w) - 1; k >= 0 && sameTime(w[k].Epoch, last.Epoch); k-- {
		if len(w[k].V) == len(last.V) && timeSub(w[k].At, w[k].Epoch) >= settle {
			first = &w[k]
		}
	}
	return first
}

// anyBlindSource reports whether some vertex of snap is a blind source in
// last (blindSourceAt): only those learn or forget a ceiling.
func anyBlindSource(snap *events.Snapshot, last Sample) bool {
	for i := range snap.Vertices {
		if blindSourceAt(&snap.Vertices[i], last.V[i]) {
			return true
		}
	}
	return false
}

// blindSourceAt: v is a source whose sample x shows no pending records, at
// a known parallelism.
func blindSourceAt(v *events.VertexSnapshot, x VertexSample) bool {
	return (v.IsSource || len(v.Inputs) == 0) && blindSource(x) && x.P > 0
}

// readBefore is the latest settled sample before the run that began at
// epoch in which source i read less than below: what it read before the
// outage (or the outages: a run that ended while still catching up
// carries its backlog into the next). Nil when the window has none.
func readBefore(w []Sample, epoch time.Time, i int, below float64, settle time.Duration) *Sample {
	for k := len(w) - 1; k >= 0; k-- {
		s := &w[k]
		if !s.Epoch.Before(epoch) || i >= len(s.V) || timeSub(s.At, s.Epoch) < settle {
			continue
		}
		if s.V[i].In < below {
			return s
		}
	}
	return nil
}

// catchingUp: a blind source's sample x of s reads at least catchUpGain
// more than it read (b) before the restart, while nothing downstream is
// saturated and its output does not hold it back.
func catchingUp(x, b VertexSample, s Sample) bool {
	return b.In > 0 && x.In >= b.In*(1+catchUpGain) && x.BP < heldBack && !saturatedSample(s)
}

// blindSource: a source's sample shows no pending records (a user's
// backlog metric counts as pending records: sampleVertices).
func blindSource(x VertexSample) bool { return x.Pending < 0 }

// saturatedSample: some vertex of s is busy (its busiest subtask) or
// back-pressured for saturated of the time.
func saturatedSample(s Sample) bool {
	for _, x := range s.V {
		if x.BusyMax >= saturated || x.BP >= saturated {
			return true
		}
	}
	return false
}

// atCeiling: a blind source reads at least saturated × its learned ceiling
// per subtask in x.
func atCeiling(x VertexSample, ceiling float64) bool {
	return ceiling > 0 && x.P > 0 && x.In/float64(x.P) >= saturated*ceiling
}

// maxCatchUpHold bounds how long awaitBlindCatchUp holds a run.
const maxCatchUpHold = 5 * time.Minute

// awaitBlindCatchUp says why to wait when, early in a run, a blind source
// that is not saturated (not at a learned ceiling) reads at least
// catchUpGain more than it read before the restart: it is working off the
// backlog the outage left, which it cannot show, so what it reads is not
// the load (sized on it, the job is scaled up for a backlog about to be
// gone). It waits until that backlog would have drained at the rate read
// (the rate before × the time since ÷ the extra rate; at most
// maxCatchUpHold) plus the meters' window. Empty when there is nothing to
// wait for, or the job is saturated (the blind path sizes that catch-up).
func awaitBlindCatchUp(st State, j jobView, cfg Config) string {
	if j.blind || len(st.Window) == 0 {
		return ""
	}
	w := st.Window
	last := w[len(w)-1]
	age := last.At.Sub(last.Epoch)
	for i, v := range j.vs {
		if !v.source || v.est.pending >= 0 || v.est.in <= 0 || i >= len(last.V) {
			continue
		}
		before := readBefore(w, last.Epoch, i, v.est.in/(1+catchUpGain), cfg.Settle)
		if before == nil {
			continue
		}
		b := before.V[i].In
		drain := time.Duration(b * last.Epoch.Sub(before.At).Seconds() / (v.est.in - b) * float64(time.Second))
		if wait := cfg.Settle + min(drain, maxCatchUpHold) + cfg.RateWindow - age; wait > 0 {
			return fmt.Sprintf("%s reads %s rec/s, %.0f%% above the %s it read before the restart %s ago and shows no backlog: "+
				"working off the outage's (~%s at that rate), not a load; waiting %s for its rate to show the load",
				v.name, string(text{}.si(v.est.in)), 100*(v.est.in/b-1), string(text{}.si(b)), last.At.Sub(before.At).Round(time.Second),
				drain.Round(time.Second), wait.Round(time.Second))
		}
	}
	return ""
}
