package flinksim

import "time"

// GroundTruth is the model's instantaneous state, exact and unaveraged, for
// the benchmark and tests (the REST API shows Flink's averaged, delayed view).
type GroundTruth struct {
	Time    time.Time
	Elapsed time.Duration
	State   string // StateRunning, StateRestarting or StateCreated
	// OfferedRate is the records/s offered to the sources this step (noise
	// included), split evenly among them.
	OfferedRate float64
	// TaskManagers are requested (registered + starting); Registered offer
	// slots.
	TaskManagers, RegisteredTaskManagers int
	// IdleTaskManagers are the registered TaskManagers that run no subtask
	// of the job: those Flink's resource manager releases once they have
	// idled for resourcemanager.taskmanager-timeout.
	IdleTaskManagers       int
	SlotsTotal, SlotsInUse int
	// Backlog is the pending records summed over the sources.
	Backlog float64
	// LagSeconds is Backlog / OfferedRate (0 without backlog, +Inf with a
	// backlog and no offered load).
	LagSeconds float64
	Restarts   int
	// Downtime is the total time not RUNNING after the first start, the
	// downtime under way included: a job that waits for slots that never
	// come is down for all of its wait, not only once it runs again.
	Downtime time.Duration
	// Offered, Replayed and Consumed are totals over the sources since the
	// start, in records: Offered + Replayed = Consumed + Backlog.
	Offered, Replayed, Consumed float64
	Vertices                    []VertexTruth // Job.Vertices order
}

// VertexTruth is one vertex in a GroundTruth.
type VertexTruth struct {
	ID, Name string
	// Parallelism is that of the current execution graph: the graph running,
	// or being cancelled during RESTARTING, or the last one while CREATED.
	Parallelism int
	Requirement Bounds
	// Capacity is the input records/s the vertex sustains at Parallelism.
	Capacity            float64
	RecordsInPerSecond  float64
	RecordsOutPerSecond float64
	Saturated           bool // processing at capacity
	BackPressured       bool // throttled by a saturated vertex downstream
	// MaxBusyMsPerSecond is the busiest subtask's busy time this step, as
	// its TaskManager measures it (overhead, error, GC and under-reading
	// included); MaxProcessingMsPerSecond the busiest subtask's time
	// processing records, without them.
	MaxBusyMsPerSecond       float64
	MaxProcessingMsPerSecond float64
	Backlog                  float64 // sources: pending records
}

// GroundTruth returns the model's state now.
func (c *Cluster) GroundTruth() GroundTruth {
	var gt GroundTruth
	c.ReadGroundTruth(&gt)
	return gt
}

// ReadGroundTruth fills gt, reusing gt.Vertices' storage, so a caller that
// samples every step does not allocate.
func (c *Cluster) ReadGroundTruth(gt *GroundTruth) {
	c.mu.Lock()
	defer c.mu.Unlock()
	registered, idle := 0, 0
	for _, tm := range c.tms {
		if tm.registered {
			registered++
			if tm.tasks == 0 {
				idle++
			}
		}
	}
	*gt = GroundTruth{
		Time: c.now(), Elapsed: c.elapsed, State: c.sched.state, OfferedRate: c.offered,
		TaskManagers: len(c.tms), RegisteredTaskManagers: registered, IdleTaskManagers: idle,
		SlotsTotal: c.registeredSlots(), SlotsInUse: c.slotsInUse(),
		Restarts: c.sched.restarts, Downtime: c.downtime(),
		Vertices: gt.Vertices[:0],
	}
	for i, v := range c.vertices {
		gt.Vertices = append(gt.Vertices, c.vertexTruth(i, v))
		if v.spec.IsSource() {
			gt.Backlog += v.backlog
			gt.Offered += v.offeredTotal
			gt.Replayed += v.replayed
			gt.Consumed += v.position + v.replayed
		}
	}
	gt.LagSeconds = lagSeconds(gt.Backlog, gt.OfferedRate)
}

// downtime is the time not RUNNING after the first start: the downtimes
// that ended and the one under way.
func (c *Cluster) downtime() time.Duration {
	s := &c.sched
	if !s.started || s.state == StateRunning {
		return s.downtime
	}
	return s.downtime + c.elapsed - s.restartedAt
}

func (c *Cluster) vertexTruth(i int, v *vertex) VertexTruth {
	vt := VertexTruth{
		ID: v.id, Name: v.spec.Name, Parallelism: v.p,
		Requirement: c.sched.requirements[i], Capacity: vertexCapacity(v.spec, v.p),
		RecordsInPerSecond: v.in, RecordsOutPerSecond: v.out,
		Saturated: v.saturated, BackPressured: v.throttled && !v.saturated,
	}
	for k := range v.subtasks {
		vt.MaxBusyMsPerSecond = max(vt.MaxBusyMsPerSecond, v.subtasks[k].busy*1000)
		if v.perSubtask > 0 && k < len(v.shares) {
			vt.MaxProcessingMsPerSecond = max(vt.MaxProcessingMsPerSecond, min(1, v.in*v.shares[k]/v.perSubtask)*1000)
		}
	}
	if v.spec.IsSource() {
		vt.Backlog = v.backlog
	}
	return vt
}

// OptimalParallelism returns the fewest subtasks per vertex (Job.Vertices
// order) that sustain the current offered rate; see
// Scenario.OptimalParallelism.
func (c *Cluster) OptimalParallelism() []int {
	c.mu.Lock()
	rate := c.offered
	c.mu.Unlock()
	return c.sc.OptimalParallelism(rate)
}
