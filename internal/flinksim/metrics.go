package flinksim

import (
	"math"
	"time"
)

// Flink's metric timing (reference flink-rest.md §3, §6.2): TaskManagers
// update rates and time gauges every 5 s over a 60 s window; the JobManager
// fetches them at most every 10 s.
const (
	viewUpdateInterval = 5 * time.Second
	viewWindowTicks    = 12 // 60 s / 5 s
	fetchInterval      = 10 * time.Second
)

// counters are a subtask's cumulative figures since its task started.
type counters struct {
	in, out, busy, idle, bp float64
}

// subtask is one parallel instance of a vertex.
type subtask struct {
	recordsIn, recordsOut float64 // cumulative since the task started
	busyMs, idleMs, bpMs  float64 // cumulative since the task started
	busy, idle, bp        float64 // fractions of this step, sum 1
	busyError             float64 // relative error of the measured busy time

	ring  [viewWindowTicks + 1]counters // snapshots at 5 s ticks
	ticks int                           // snapshots taken
	view  subtaskView                   // what the TaskManager reports now
}

// subtaskView is a subtask's metrics as its TaskManager reports them: rates
// and time gauges averaged over the last 60 s (or since the task started,
// when that is shorter), refreshed every 5 s.
type subtaskView struct {
	valid                         bool // a 5 s update has happened
	inPerSecond, outPerSecond     float64
	busyMs                        float64 // NaN until valid
	idleMs, bpMs                  float64 // whole milliseconds, like Flink's longs
	recordsIn, recordsOut         float64 // counters at the last update
	accBusyMs, accIdleMs, accBpMs float64
	backPressured                 bool
	pending                       float64 // sources: pending records of its partitions
	hasPending                    bool    // registered on the first record read
}

// tickMetrics takes the 5 s snapshots that are due.
func (c *Cluster) tickMetrics() {
	age := c.elapsed - c.sched.runningSince
	for c.sched.nextView <= age {
		c.sched.nextView += viewUpdateInterval
		for _, v := range c.vertices {
			for i := range v.subtasks {
				v.subtasks[i].update(v, i, age, c.sc.Cluster.RealMetricTiming)
			}
		}
	}
}

func (st *subtask) update(v *vertex, i int, age time.Duration, meterRamp bool) {
	now := counters{st.recordsIn, st.recordsOut, st.busyMs, st.idleMs, st.bpMs}
	st.ticks++
	st.ring[st.ticks%len(st.ring)] = now
	span := min(st.ticks, viewWindowTicks)
	old := st.ring[(st.ticks-span)%len(st.ring)] // ring[0] is the zero start
	secs := float64(span) * viewUpdateInterval.Seconds()
	idle := math.Round((now.idle - old.idle) / secs)
	bp := math.Round((now.bp - old.bp) / secs)
	rateSecs := secs
	if meterRamp {
		// Flink's MeterView: (count now − count 60 s ago) / 60, the
		// counts before the task started being zero.
		rateSecs = float64(viewWindowTicks) * viewUpdateInterval.Seconds()
	}
	st.view = subtaskView{
		valid:         true,
		inPerSecond:   (now.in - old.in) / rateSecs,
		outPerSecond:  (now.out - old.out) / rateSecs,
		idleMs:        idle,
		bpMs:          bp,
		busyMs:        1000 - min(idle+bp, 1000),
		recordsIn:     math.Floor(now.in),
		recordsOut:    math.Floor(now.out),
		accBusyMs:     math.Floor(now.busy),
		accIdleMs:     math.Floor(now.idle),
		accBpMs:       math.Floor(now.bp),
		backPressured: st.bp > 0,
	}
	if v.spec.legacySource() {
		// A legacy SourceFunction task disables busy time, and its records
		// are emitted by a thread of its own while the task's mailbox waits
		// untimed (SourceStreamTask suspends the default action without an
		// idle timer): idle reads 0 whether the source is at its ceiling or
		// not. Only the blocking buffer requests of that thread (hard
		// back-pressure) are timed.
		st.view.busyMs = math.NaN()
		st.view.idleMs, st.view.accIdleMs = 0, 0
	}
	if v.spec.IsSource() && now.in >= 1 && v.shares[i] > 0 &&
		v.spec.PendingRecords != PendingRecordsAbsent && age >= v.spec.PendingRecordsAfter {
		st.view.hasPending = true
		st.view.pending = math.Floor(v.backlog * v.shares[i])
	}
}

// resetView clears a fresh subtask's view: Flink's time gauge is NaN before
// it can be computed.
func (st *subtask) resetView() {
	st.view = subtaskView{busyMs: math.NaN()}
}
