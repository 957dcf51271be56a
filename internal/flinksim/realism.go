package flinksim

import (
	"math"
	"math/rand/v2"
	"time"
)

// disturbances is the state of the runtime's disturbances (Runtime,
// VertexRuntime). Its random stream is separate from the load's, and every
// draw happens only when the scenario turns the feature on, so a scenario
// without them runs exactly as before.
type disturbances struct {
	rng          *rand.Rand
	gcFactor     float64 // share of the job's slot time not frozen by GC this step
	restoring    bool    // the current restart's state restore has been added
	restoreFails bool    // the restore in progress will fail
	lostAt       int     // next index into Faults.LostTaskManagerAt
	rescaleDue   bool    // 1.20+: a rescale waits for the next checkpoint
	pending      *pendingCheckpoint
	selFactor    []float64 // per vertex: this step's selectivity multiplier
	selDynamic   bool      // some vertex's selectivity varies over time
	dueSince     int64     // completed checkpoints when the rescale became due
}

// pendingCheckpoint is a triggered checkpoint not yet complete.
type pendingCheckpoint struct {
	triggered time.Duration
	doneAt    time.Duration
	fails     bool
	positions []float64
}

// checkpointBackpressureFactor stretches a checkpoint triggered while the
// job is backpressured when the scenario gives no checkpointAlignment:
// aligned barriers wait behind the buffered data.
const checkpointBackpressureFactor = 4

func (c *Cluster) initDisturbances() {
	d := &c.dist
	d.rng = rand.New(rand.NewPCG(uint64(c.sc.Seed), 0x64697374))
	d.gcFactor = 1
	d.selFactor = make([]float64, len(c.vertices))
	for i, v := range c.vertices {
		d.selFactor[i] = 1
		if v.spec.Window != nil || v.spec.SelectivityDrift != nil {
			d.selDynamic = true
		}
	}
}

// taskManagerStartup draws a new TaskManager's start-up; ok is false for
// one that never registers.
func (c *Cluster) taskManagerStartup(base time.Duration) (time.Duration, bool) {
	rt := &c.sc.Cluster.Runtime
	if base <= 0 {
		return base, true
	}
	d := base
	if rt.TaskManagerStartupMax > base {
		d += time.Duration(c.dist.rng.Float64() * float64(rt.TaskManagerStartupMax-base))
	}
	if rt.TaskManagerNeverRegisters > 0 && c.dist.rng.Float64() < rt.TaskManagerNeverRegisters {
		return d, false
	}
	return d, true
}

// restartDowntime is the downtime a restart starts with, jitter included.
func (c *Cluster) restartDowntime() time.Duration {
	base := c.sc.Cluster.Restart
	if j := c.sc.Cluster.RestartJitter; j > 0 {
		base = time.Duration(float64(base) * (1 + j*(2*c.dist.rng.Float64()-1)))
	}
	return base
}

// onRestart applies the faults of a restart that just began: a TaskManager
// lost during it, and whether its restore will fail.
func (c *Cluster) onRestart() {
	f := c.sc.Cluster.Faults
	c.dist.restoring, c.dist.restoreFails, c.dist.rescaleDue = false, false, false
	c.dist.pending = nil // a restart aborts the checkpoint in flight
	if f.LostDuringRestart > 0 && c.dist.rng.Float64() < f.LostDuringRestart {
		c.loseTaskManager()
	}
	if f.FailedRestore > 0 && c.dist.rng.Float64() < f.FailedRestore {
		c.dist.restoreFails = true
	}
}

// beforeDeploy runs when the slots allow deploying p after a restart. It
// returns false to stay in CREATED: the state restore still runs, or the
// restore failed and the job restarted again.
func (c *Cluster) beforeDeploy(p []int) bool {
	d := &c.dist
	rt := &c.sc.Cluster.Runtime
	if !c.sched.started {
		return true
	}
	if !d.restoring && rt.StateRestore > 0 {
		d.restoring = true
		moved := c.movedKeyGroups(p)
		if c.sched.failover {
			moved = 1
		}
		if extra := time.Duration(float64(rt.StateRestore) * moved); extra > 0 {
			c.sched.restartUntil = c.elapsed + extra
			return false
		}
	}
	if d.restoreFails {
		c.sched.downtime += c.elapsed - c.sched.restartedAt
		c.restart()
		c.sched.failover = true
		return false
	}
	return true
}

// movedKeyGroups is the fraction of the job's key groups (over keyed
// vertices) whose subtask changes from the current parallelism to p.
func (c *Cluster) movedKeyGroups(p []int) float64 {
	moved, total := 0, 0
	for i, v := range c.vertices {
		if !v.spec.Keyed {
			continue
		}
		u := v.spec.MaxParallelism
		total += u
		if p[i] == v.p {
			continue
		}
		for g := range u {
			if g*v.p/u != g*p[i]/u {
				moved++
			}
		}
	}
	if total == 0 {
		return 0
	}
	return float64(moved) / float64(total)
}

// afterDeploy sets what a fresh graph starts with: the first checkpoint's
// delay and each subtask's busy-time error.
func (c *Cluster) afterDeploy() {
	rt := &c.sc.Cluster.Runtime
	c.dist.restoring, c.dist.restoreFails, c.sched.failover = false, false, false
	if rt.CheckpointRandomStart {
		c.ckpt.next = c.elapsed + time.Duration(c.dist.rng.Float64()*float64(c.sc.Cluster.CheckpointInterval))
	}
	if rt.BusyNoise > 0 {
		for _, v := range c.vertices {
			for k := range v.subtasks {
				v.subtasks[k].busyError = rt.BusyNoise * c.dist.rng.NormFloat64()
			}
		}
	}
}

// disturb runs at the start of a step: faults due now, GC pauses, and the
// selectivities of this step.
func (c *Cluster) disturb(dt time.Duration) {
	rt := &c.sc.Cluster.Runtime
	f := rt.Faults
	for c.dist.lostAt < len(f.LostTaskManagerAt) && f.LostTaskManagerAt[c.dist.lostAt] <= c.elapsed {
		c.dist.lostAt++
		c.loseTaskManager()
	}
	if f.LostTaskManagerPerHour > 0 && c.dist.rng.Float64() < f.LostTaskManagerPerHour*dt.Hours() {
		c.loseTaskManager()
	}
	c.dist.gcFactor = 1
	if rt.GC != nil && c.sched.state == StateRunning {
		c.dist.gcFactor = c.gcFactor(dt)
	}
	if c.dist.selDynamic {
		c.updateSelectivities()
	}
}

// gcFactor draws this step's pauses on the TaskManagers holding the job's
// slots and returns the share of their slot time left running.
func (c *Cluster) gcFactor(dt time.Duration) float64 {
	g := c.sc.Cluster.GC
	holding := 0
	frozen := 0.0
	mean := g.PerMinute * dt.Minutes()
	c.tmSlots(func(_ *taskManager, free int) {
		if free == c.sc.Cluster.SlotsPerTaskManager {
			return
		}
		holding++
		n := poisson(c.dist.rng, mean)
		frozen += math.Min(float64(n)*g.Pause.Seconds(), dt.Seconds())
	})
	if holding == 0 {
		return 1
	}
	return 1 - frozen/(float64(holding)*dt.Seconds())
}

// poisson draws a Poisson count of the given mean (Knuth; means are small).
func poisson(r *rand.Rand, mean float64) int {
	limit, k, p := math.Exp(-mean), 0, 1.0
	for {
		p *= r.Float64()
		if p <= limit {
			return k
		}
		k++
	}
}

// loseTaskManager kills a registered TaskManager at random; Kubernetes
// starts a replacement, which registers after a start-up. Losing one that
// holds the job's slots fails the job over.
func (c *Cluster) loseTaskManager() {
	var reg []int
	for i, tm := range c.tms {
		if tm.registered {
			reg = append(reg, i)
		}
	}
	if len(reg) == 0 {
		return
	}
	i := reg[c.dist.rng.IntN(len(reg))]
	c.loseTasks(c.tms[i])
	c.tms = append(c.tms[:i], c.tms[i+1:]...)
	c.addTaskManager(c.sc.Cluster.TaskManagerStartup)
	if c.sched.state == StateRunning && (c.sched.lostTasks || c.registeredSlots() < c.slotsInUse()) {
		c.sched.failover = true
	}
	c.sched.reconsider = true
}

// updateSelectivities sets each vertex's selectivity multiplier for this
// step (window bursts, drift) and rebuilds the gains when one changed.
func (c *Cluster) updateSelectivities() {
	changed := false
	t := c.elapsed
	for i, v := range c.vertices {
		f := 1.0
		if w := v.spec.Window; w != nil {
			f = 0
			if t%w.Every < w.Fire {
				f = float64(w.Every) / float64(w.Fire)
			}
		}
		if d := v.spec.SelectivityDrift; d != nil {
			f *= 1 + d.Amplitude*math.Sin(2*math.Pi*t.Seconds()/d.Period.Seconds())
		}
		if f != c.dist.selFactor[i] {
			c.dist.selFactor[i] = f
			changed = true
		}
	}
	if changed {
		c.buildGains()
	}
}

// selectivity is vertex i's selectivity this step.
func (c *Cluster) selectivity(i int) float64 {
	return c.vertices[i].spec.Selectivity * c.dist.selFactor[i]
}

// checkpointTriggered starts a checkpoint at the current position of every
// source; it completes after its duration unless it fails or a restart
// comes first.
func (c *Cluster) checkpointTriggered() {
	rt := &c.sc.Cluster.Runtime
	d := rt.CheckpointDuration
	switch {
	case !c.backpressured():
	case rt.CheckpointAlignment > 0:
		d += rt.CheckpointAlignment
	default:
		d *= checkpointBackpressureFactor
	}
	pc := &pendingCheckpoint{triggered: c.elapsed, doneAt: c.elapsed + d, positions: make([]float64, len(c.vertices))}
	if rt.CheckpointFailure > 0 && c.dist.rng.Float64() < rt.CheckpointFailure {
		pc.fails = true
	}
	for _, s := range c.sources {
		pc.positions[s] = c.vertices[s].position
	}
	c.dist.pending = pc
}

// backpressured reports whether a source is throttled by a saturated vertex.
func (c *Cluster) backpressured() bool {
	for _, s := range c.sources {
		if c.vertices[s].throttled {
			return true
		}
	}
	return false
}

// timedCheckpoints reports whether checkpoints take time or can fail.
func (c *Cluster) timedCheckpoints() bool {
	rt := &c.sc.Cluster.Runtime
	return rt.CheckpointDuration > 0 || rt.CheckpointAlignment > 0 || rt.CheckpointFailure > 0
}

// measuredBusy turns a subtask's true busy fraction into what Flink
// measures: overhead and error added, sources' under-read taken off, GC
// pauses counted as busy.
func (c *Cluster) measuredBusy(v *vertex, st *subtask, busy, load float64) float64 {
	rt := &c.sc.Cluster.Runtime
	if load <= 0 {
		return busy
	}
	busy *= 1 + st.busyError
	busy += rt.BusyOverhead + (1 - c.dist.gcFactor)
	if u := v.spec.BusyUnderRead; u > 0 {
		busy *= 1 - u
	}
	return min(max(busy, 0), 1)
}

// rescaleAllowed reports whether the scheduler may rescale a running job
// now (not a failover): from 1.19 on not within ScalingIntervalMin of the
// job running, from 2.0 on only once a checkpoint completed after the
// change was seen (measured on the sandbox: 2.3.0 waits, 1.20.5 does not;
// docs/FIDELITY.md).
func (c *Cluster) rescaleAllowed() bool {
	switch c.sc.Cluster.FlinkVersion {
	case Flink119, Flink120:
		return c.elapsed-c.sched.runningSince >= ScalingIntervalMin
	case Flink20:
		if c.elapsed-c.sched.runningSince < ScalingIntervalMin {
			return false
		}
		if !c.dist.rescaleDue {
			c.dist.rescaleDue = true
			c.dist.dueSince = c.ckpt.completed
			return false
		}
		return c.ckpt.completed > c.dist.dueSince
	}
	return true
}

// slotSharingGroupID is the 32-hex id of v's slot-sharing group.
func (c *Cluster) slotSharingGroupID(v *vertex) string {
	name := v.spec.SlotSharingGroup
	if name == "" {
		name = "default"
	}
	if c.sc.Cluster.SlotSharing == SlotSharingDedicated {
		name = "vertex " + v.spec.Name
	}
	return hexID(c.sc.Seed, "slot-sharing-group", name)
}

// showsSlotSharingGroup reports whether the REST job details carry each
// vertex's slotSharingGroupId (Flink 1.20 and later).
func (c *Cluster) showsSlotSharingGroup() bool {
	v := c.sc.Cluster.FlinkVersion
	return v == Flink120 || v == Flink20
}
