package policy

import (
	"fmt"
	"time"
)

// A scale-up lands when its restart stops the job: after its
// TaskManagers start, and on Flink 2 after the next completed checkpoint,
// minutes after the decision. Decided on a rise that ends before then
// (an on-sale spike of 5 minutes, a 4-minute batch), it buys nothing for
// that rise: it runs on the load the rise came from, adds its restart's
// outage and replay to the backlog the rise left, and its release minutes
// later undoes it on the same load, a flap (ticket-onsale-spikes: a
// spike's 6→12 decided at 24m20 on 86.9k rec/s ran at 29m34 on 29.5k and
// was released 5 min later; hourly-batch-dedup: a batch's 6→11 decided at
// 42m50 on 79.7k ran at 48m25 on 34.2k and was released 7 min later).
//
// So before a scale-up is made the load's minute history (State.Minutes)
// is read for the rises to about the rate now: runs of minutes above a
// floor, burstBand under the rate now and no higher than what the current
// size carries (its capacity at keep's headroom; a scale-up made to drain
// a backlog on a load the size carries has the rate's floor alone). When
// the history shows at least burstMin such rises, and in most of those
// that lasted at least as long as this one has so far the load was back
// under the floor before a change decided now would run (the scale-up's
// restartCost.wait to the stop, and its outage), the scale-up waits.
// It is not given up: each interval reads the history again, and once the
// rise outlasts the ones seen to end, it is made. A rise the history has
// not shown (a step, the first spike), or one whose like outlasted the
// landing, scales up as before; so does a failover's restart (the job is
// down: the change adds no restart), and a blind job (a saturated source
// without pendingRecords: its rate is probed, and its minutes hold the
// catch-up reads after each restart, rises that are not the load's;
// payments-blind-retry-storms' p99 193 → 256 s when they were read).

// burstBand is how far under the rate now the load must fall for a rise
// to have ended: more than the noise a level shows (undoChange), less
// than a spike's or a batch's fall.
const burstBand = 2 * undoChange

// burstMin is the least number of past rises to about the rate now the
// history must show before it is read: fewer are not a shape seen to
// repeat.
const burstMin = 2

// burst is what the load's history says of a scale-up decided now.
type burst struct {
	// age is how long the load has been above floor (rec/s): complete
	// minutes above burstBand under the rate now (at most the current
	// size's capacity) in the minute history; at a sample's grain (short)
	// the open rise's time above its level and a burstBand. lands is when
	// a change decided now runs.
	age   time.Duration
	floor float64
	lands time.Duration
	// short: read from the rises at a sample's grain, each read up to
	// read (the rate window) after it fell back
	short bool
	read  time.Duration
	// rises are the past rises above floor; seen those that lasted more
	// than age, ended those of them back under it within age + lands.
	rises, seen, ended int
}

// expected reports that the rise is expected to end before the scale-up
// runs.
func (b burst) expected() bool { return b.rises >= burstMin && 2*b.ended > b.seen }

// burstOf reads s's complete minutes for a scale-up best decided at the
// rate offered on a job whose current size carries cap rec/s and whose
// change decided now runs after lands; zero when best raises nothing.
func burstOf(best evaluation, s *Series, offered, cap float64, lands time.Duration) burst {
	b := burst{floor: offered * (1 - burstBand), lands: lands}
	if cap > 0 && cap < b.floor {
		b.floor = cap
	}
	if !best.raises() || s == nil || !(b.floor > 0) || lands <= 0 {
		return b
	}
	floor := b.floor
	x := s.Rates
	n := len(x)
	// the rise now: the trailing complete minutes above floor
	k, age := n-1, 0
	for ; k >= 0 && (x[k] > floor || x[k] < 0); k-- {
		if x[k] > floor {
			age++
		}
	}
	b.age = time.Duration(age) * time.Minute
	within := age + int(lands/time.Minute)
	// the past rises: runs of minutes above floor begun after a sampled
	// minute under it and ended by one, before the rise now; a run begun
	// right after minutes without a sample (a restart) is the catch-up's
	// read, not the load's
	run, open := 0, false
	for i := 0; i <= k; i++ {
		switch {
		case x[i] < 0:
			if run == 0 {
				open = false
			}
			continue
		case x[i] > floor:
			if open {
				run++
			}
		default:
			if open && run > 0 {
				b.rises++
			}
			if open && run > age {
				b.seen++
				if run <= within {
					b.ended++
				}
			}
			run, open = 0, true
		}
	}
	return b
}

// risesOf reads s's rises at a sample's grain (Series.Rises) for a
// scale-up best decided at now, as burstOf reads the minutes: a rise
// shorter than a minute (tenant-metrics' 40-s flushes, at 2.8 times the
// level) is decided on at the rate read over its first seconds (31.6k rec/s
// 20 s in), far above the means of the minutes past flushes fell in (~20k,
// the one-minute meters spreading them), so the minutes show no rise to
// it, while a change decided on it runs after it ended (a Flink 2 job's,
// on its TaskManagers and the next checkpoint, ~90 s later) and is
// released minutes after: a flap each flush. Read only while a rise is
// open; the past rises read are those that rose at least about as far
// over their level as this one has so far (burstBand under its ratio).
// A sample's rate is read over the last rateWindow (Flink's one-minute
// meters, the pending records' growth), so a rise is read up to that long
// after the load fell back (a 40-s flush reads 80–110 s): one counts as
// ended when it was read back within age + lands + rateWindow.
// A rise the level rose to (a step) lasted: it counts as seen and not
// ended, however short it was read. A rise Cut by a restart (a scale-up
// decided on it) counts as ended: the load was back at its level by the
// first rate read after the restart, so the change ran after it but for
// what its restart and that read took.
func risesOf(best evaluation, s *Series, lands, rateWindow time.Duration, now time.Time) burst {
	b := burst{lands: lands, short: true, read: rateWindow}
	if !best.raises() || s == nil || s.Rise == nil || !(s.Rise.Base > 0) || lands <= 0 {
		return b
	}
	cur := s.Rise
	b.floor = cur.Base * (1 + burstBand)
	b.age = max(now.Sub(time.Unix(cur.At, 0)), 0)
	high := cur.Peak / cur.Base * (1 - burstBand)
	for i := 0; i < len(s.Rises); i++ {
		r := s.Rises[i]
		// a step read on as its level caught up is one rise: the level
		// rose to it, closing it, while the rate stayed above the level
		// risen so far, opening the next at once (iot-alerts-flink2-
		// flushes-steps, seed 205003: the step 8k → 14k read as two risen
		// rises, 7.7k → 13.6k and 9.8k → 14.0k, back to back, two votes
		// for "it lasted" against the two flushes seen to end, and a
		// flush at 51m20s was scaled up for, then released on its level)
		for r.Level && i+1 < len(s.Rises) && s.Rises[i+1].Level && s.Rises[i+1].At == r.At+r.Secs {
			i++
			r.Secs += s.Rises[i].Secs
			r.Peak = maxF(r.Peak, s.Rises[i].Peak)
		}
		if !(r.Base > 0) || r.Peak/r.Base < high {
			continue
		}
		b.rises++
		if r.Level {
			// it stayed: a change decided on it would have run on it
			b.seen++
			continue
		}
		if d := time.Duration(r.Secs) * time.Second; d > b.age {
			b.seen++
			if r.Cut || d <= b.age+lands+b.read {
				b.ended++
			}
		}
	}
	return b
}

// awaitBurst says why a scale-up on a rise expected to end before it lands
// waits; empty when it does not.
func awaitBurst(best evaluation, b burst) string {
	if !b.expected() {
		return ""
	}
	grain := "in %d of the %d rises to about this rate (above %.0f rec/s) the history shows lasting over %s, as this one has, the load was back under that within %s"
	if b.short {
		grain = "in %d of the %d rises as high as this one the last samples show (above %.0f rec/s, the level it rose from and a fifth) lasting over %s, as this one has, the rate read was back under that within %s, the rate window included"
	}
	return fmt.Sprintf("a scale-up now would run after the rise it is sized for: "+grain+", before a change decided now runs (~%s); traded: the rise's backlog drains on the current size, where the scale-up's restart would add its outage after the rise and its release an undo (%s)",
		b.ended, b.seen, b.floor, b.age.Round(time.Second), (b.age + b.lands + b.read).Round(time.Second), b.lands.Round(time.Second), best.summary())
}
