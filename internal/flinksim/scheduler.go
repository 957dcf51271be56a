package flinksim

import (
	"slices"
	"time"
)

// Job states the emulated adaptive scheduler reports (Flink's JobStatus).
const (
	StateCreated    = "CREATED"
	StateRunning    = "RUNNING"
	StateRestarting = "RESTARTING"
)

// jobStatuses are all 11 JobStatus keys of /jobs/:jobid timestamps.
var jobStatuses = []string{
	"INITIALIZING", "CREATED", "RUNNING", "FAILING", "FAILED", "CANCELLING",
	"CANCELED", "FINISHED", "RESTARTING", "SUSPENDED", "RECONCILING",
}

// cancelDuration is how long RESTARTING lasts within a restart's downtime
// (reference §7.4: about 1 s from Restarting to WaitingForResources).
const cancelDuration = time.Second

// scheduler is the adaptive scheduler's state (reference §7.1, §7.2):
//
//	state       entered when                          left when
//	RUNNING     graph deployed                        requirements or slots give another
//	                                                  parallelism (rescale), or a TM that
//	                                                  runs tasks is lost (failover)
//	RESTARTING  rescale or failover                   cancelDuration passed
//	CREATED     tasks cancelled (WaitingForResources) the restart downtime passed and the
//	                                                  parallelism is fixed (waitForResources)
//
// In CREATED the scheduler fixes the parallelism the job will run at as
// Flink's WaitingForResources does: at once when the registered slots meet
// every vertex's upper bound (the desired resources), otherwise once they
// meet every lower bound and have done so for the resource-stabilization
// timeout. Requirements or slots that change after that are a rescale of
// the running job (maybeRescale): a failed-over job runs on the slots left
// and restarts again when the replacement TaskManager registers, as real
// Flink 1.20.5 did on the sandbox (docs/FIDELITY.md).
//
// Nothing is processed outside RUNNING; sources keep accumulating backlog.
type scheduler struct {
	state        string
	since        time.Duration // entered state
	restartedAt  time.Duration // the current downtime began
	restartUntil time.Duration // end of the current downtime
	runningSince time.Duration // the current graph went RUNNING
	nextView     time.Duration // task age of the next 5 s metric update
	timestamps   map[string]int64
	requirements []Bounds
	attempt      int // subtask attempt number of the current graph
	restarts     int // numRestarts: rescales and failovers
	downtime     time.Duration
	slotsUsed    int           // slots the current graph occupies while RUNNING
	reconsider   bool          // requirements or slots changed since the last check
	failover     bool          // the restart in progress is a failure, not a rescale
	lostTasks    bool          // a TaskManager running subtasks went (loseTasks)
	started      bool          // the job has run at least once
	decided      []int         // parallelism fixed in CREATED (nil: still waiting)
	stableAt     time.Duration // end of the resource stabilization (when stabilizing)
	stabilizing  bool          // the slots met every lower bound in this CREATED
}

// submit starts the job: requirements from the job graph (reactive mode
// asks for every vertex's max parallelism) and the first deployment.
func (c *Cluster) submit() {
	s := &c.sched
	s.timestamps = make(map[string]int64, len(jobStatuses))
	for _, st := range jobStatuses {
		s.timestamps[st] = 0
	}
	start := c.nowMs()
	s.timestamps["INITIALIZING"] = start
	s.requirements = make([]Bounds, len(c.vertices))
	for i, v := range c.vertices {
		s.requirements[i] = Bounds{Lower: 1, Upper: v.spec.Parallelism}
		if c.reactive() {
			s.requirements[i].Upper = v.spec.MaxParallelism
		}
		v.p = v.spec.Parallelism
	}
	c.enter(StateCreated)
	s.reconsider = true
	s.decided, s.stabilizing = nil, false
	c.schedule()
}

func (c *Cluster) reactive() bool { return c.sc.Cluster.Scaling == ScalingReactive }

func (c *Cluster) enter(state string) {
	c.sched.state = state
	c.sched.since = c.elapsed
	c.sched.timestamps[state] = c.nowMs()
}

// schedule runs the state machine until it rests for this instant.
func (c *Cluster) schedule() {
	for range 4 {
		if !c.transition() {
			return
		}
	}
}

func (c *Cluster) transition() bool {
	s := &c.sched
	switch s.state {
	case StateRestarting:
		if c.elapsed-s.since < min(cancelDuration, c.sc.Cluster.Restart) {
			return false
		}
		c.enter(StateCreated)
		return true
	case StateCreated:
		if !c.waitForResources() || c.elapsed < s.restartUntil {
			return false
		}
		return c.deploy()
	case StateRunning:
		if !s.reconsider {
			return false
		}
		s.reconsider = false
		return c.maybeRescale()
	}
	return false
}

// waitForResources reports whether the parallelism of the graph to deploy is
// fixed, fixing it when the registered slots allow: at once if they give
// every vertex its upper bound, else once they have met every lower bound
// for ResourceStabilization (Flink's WaitingForResources; its deadline
// starts when the slots first suffice and is not reset).
func (c *Cluster) waitForResources() bool {
	s := &c.sched
	dedicated := c.sc.Cluster.SlotSharing == SlotSharingDedicated
	if s.decided != nil && slotsNeeded(c.sc.Job.Vertices, s.decided, dedicated) > c.registeredSlots() {
		s.decided = nil // a TaskManager went before the deploy: wait again
	}
	if s.decided != nil {
		return true
	}
	p := make([]int, len(c.vertices))
	if !determineParallelism(c.group, c.groups, s.requirements, c.registeredSlots(), p) {
		return false
	}
	desired := true
	for i := range p {
		desired = desired && p[i] == s.requirements[i].Upper
	}
	if !desired {
		if !s.stabilizing {
			s.stabilizing, s.stableAt = true, c.elapsed+c.sc.Cluster.ResourceStabilization
		}
		if c.elapsed < s.stableAt {
			return false
		}
	}
	s.decided = p
	return true
}

// deploy leaves CREATED with the parallelism waitForResources fixed.
func (c *Cluster) deploy() bool {
	p := c.sched.decided
	if !c.beforeDeploy(p) {
		return false
	}
	s := &c.sched
	if s.started {
		s.downtime += c.elapsed - s.restartedAt
		c.ckpt.restore(c.nowMs())
	}
	s.started = true
	for i, v := range c.vertices {
		v.deploy(p[i])
		for k := range v.subtasks {
			v.subtasks[k].resetView()
		}
	}
	s.slotsUsed = slotsNeeded(c.sc.Job.Vertices, p, c.sc.Cluster.SlotSharing == SlotSharingDedicated)
	c.place(s.slotsUsed)
	s.runningSince, s.nextView = c.elapsed, viewUpdateInterval
	// Requirements declared or slots registered after the parallelism was
	// fixed rescale the running job.
	s.reconsider = true
	c.ckpt.next = c.elapsed + c.sc.Cluster.CheckpointInterval
	c.afterDeploy()
	c.enter(StateRunning)
	return true
}

// maybeRescale restarts a running job when a TaskManager holding its slots
// is gone (failover) or when requirements and slots give another
// parallelism that shouldRescale accepts.
func (c *Cluster) maybeRescale() bool {
	slots := c.registeredSlots()
	if c.sched.lostTasks || slots < c.slotsInUse() {
		c.sched.failover = true
		c.restart()
		return true
	}
	p := make([]int, len(c.vertices))
	if !determineParallelism(c.group, c.groups, c.sched.requirements, slots, p) {
		return false
	}
	if c.shouldRescale(p) {
		if !c.rescaleAllowed() {
			c.sched.reconsider = true // check again next step
			return false
		}
		c.restart()
		return true
	}
	c.dist.rescaleDue = false
	return false
}

// shouldRescale reports whether the parallelism p the slots and
// requirements give now is worth a restart: on 1.x any vertex going down,
// or one going up by at least MinParallelismIncrease
// (jobmanager.adaptive-scheduler.min-parallelism-increase, default 1, so
// any change); 2.x removed the option, so any change.
func (c *Cluster) shouldRescale(p []int) bool {
	step := c.sc.Cluster.MinParallelismIncrease
	if c.sc.Cluster.FlinkVersion == Flink20 {
		step = 1
	}
	for i, v := range c.vertices {
		if p[i] < v.p || p[i]-v.p >= max(step, 1) {
			return true
		}
	}
	return false
}

// restart cancels the running graph: sources rewind to the last completed
// checkpoint (reference §10) and the downtime starts.
func (c *Cluster) restart() {
	s := &c.sched
	s.restarts++
	s.attempt++
	s.lostTasks = false
	s.restartedAt = c.elapsed
	s.restartUntil = c.elapsed + c.restartDowntime()
	s.decided, s.stabilizing = nil, false
	for _, idx := range c.sources {
		v := c.vertices[idx]
		replay := v.position - c.ckpt.position(idx)
		v.replayed += replay
		v.backlog += replay
		v.position -= replay
	}
	for _, v := range c.vertices {
		v.in, v.out, v.saturated, v.throttled = 0, 0, false, false
	}
	c.enter(StateRestarting)
	c.onRestart()
}

// slotsInUse is what the running graph occupies (0 when not running).
func (c *Cluster) slotsInUse() int {
	if c.sched.state != StateRunning {
		return 0
	}
	return c.sched.slotsUsed
}

// Requirements returns the declared resource requirements by vertex id.
func (c *Cluster) Requirements() map[string]Bounds {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make(map[string]Bounds, len(c.vertices))
	for i, v := range c.vertices {
		out[v.id] = c.sched.requirements[i]
	}
	return out
}

// PutRequirements replaces the resource requirements, validated as Flink's
// JobResourceRequirements (reference §5.10): -1 expands to 1 (lower) and max
// parallelism (upper), every vertex must be present and no other. It
// returns an error wrapping ErrInvalidRequirements (HTTP 400) or
// ErrReactiveMode (HTTP 500). The job rescales at once if the registered
// slots allow a different parallelism, otherwise when TaskManagers arrive.
func (c *Cluster) PutRequirements(req map[string]Bounds) error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.putRequirements(req)
}

func (c *Cluster) putRequirements(req map[string]Bounds) error {
	next, err := c.validateRequirements(req)
	if err != nil {
		return err
	}
	if c.reactive() {
		return ErrReactiveMode
	}
	if !slices.Equal(next, c.sched.requirements) {
		c.sched.requirements = next
		c.sched.reconsider = true
		c.schedule()
	}
	return nil
}
