package flinksim

import (
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// taskManager is one emulated TaskManager. It offers its slots once
// registered, taskManagerStartup after it was requested.
type taskManager struct {
	id         string
	seq        int
	readyAt    time.Duration
	registered bool
	tasks      int // slots the running graph occupies here (place)
}

func (c *Cluster) addTaskManager(startup time.Duration) {
	startup, registers := c.taskManagerStartup(startup)
	if !registers {
		startup = time.Duration(math.MaxInt64) - c.elapsed // never
	}
	c.tmSeq++
	c.tms = append(c.tms, &taskManager{
		id:         fmt.Sprintf("flink-taskmanager-1-%d", c.tmSeq),
		seq:        c.tmSeq,
		readyAt:    c.elapsed + startup,
		registered: startup <= 0,
	})
	if startup <= 0 {
		c.sched.reconsider = true
	}
}

// registerTaskManagers registers the TaskManagers whose start-up is over.
func (c *Cluster) registerTaskManagers() {
	for _, tm := range c.tms {
		if !tm.registered && tm.readyAt <= c.elapsed {
			tm.registered = true
			c.sched.reconsider = true
		}
	}
}

func (c *Cluster) registeredSlots() int {
	n := 0
	for _, tm := range c.tms {
		if tm.registered {
			n++
		}
	}
	return n * c.sc.Cluster.SlotsPerTaskManager
}

// SetTaskManagers sets the number of TaskManager replicas, capped to
// [0, maxTaskManagers], and returns the count applied. New TaskManagers
// register after taskManagerStartup; removed ones go at once, not-yet-
// registered ones first, then idle ones, then those running subtasks
// (newest first within each). Removing a TaskManager that runs a subtask
// fails the job over to the remaining slots, as Flink does: with the
// subtasks spread (Runtime.Placement), even when the slots left would hold
// the job.
func (c *Cluster) SetTaskManagers(n int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n = min(max(n, 0), c.sc.Cluster.MaxTaskManagers)
	for len(c.tms) < n {
		c.addTaskManager(c.sc.Cluster.TaskManagerStartup)
	}
	if len(c.tms) > n {
		// Keep TaskManagers running subtasks first, then registered idle
		// ones, then pending ones, oldest first; drop from the end.
		rank := func(tm *taskManager) int {
			switch {
			case tm.tasks > 0:
				return 0
			case tm.registered:
				return 1
			}
			return 2
		}
		sort.SliceStable(c.tms, func(a, b int) bool {
			ra, rb := rank(c.tms[a]), rank(c.tms[b])
			if ra != rb {
				return ra < rb
			}
			return c.tms[a].seq < c.tms[b].seq
		})
		for _, tm := range c.tms[n:] {
			c.loseTasks(tm)
		}
		c.tms = c.tms[:n]
		c.sched.reconsider = true
	}
	c.schedule()
	return n
}

// loseTasks notes that tm goes: if it runs subtasks of the running graph,
// the job fails over.
func (c *Cluster) loseTasks(tm *taskManager) {
	if tm.tasks > 0 && c.sched.state == StateRunning {
		c.sched.lostTasks = true
	}
}

// place puts the running graph's used slots on the registered TaskManagers
// (Runtime.Placement): packed fills the oldest first; spread takes one slot
// per TaskManager in turn, over every TaskManager.
func (c *Cluster) place(used int) {
	per := c.sc.Cluster.SlotsPerTaskManager
	var reg []*taskManager
	for _, tm := range c.tms {
		tm.tasks = 0
		if tm.registered {
			reg = append(reg, tm)
		}
	}
	if c.sc.Cluster.Placement == PlacementPacked {
		for _, tm := range reg {
			tm.tasks = min(used, per)
			used -= tm.tasks
		}
		return
	}
	for used > 0 && len(reg) > 0 {
		placed := false
		for _, tm := range reg {
			if used > 0 && tm.tasks < per {
				tm.tasks++
				used--
				placed = true
			}
		}
		if !placed {
			return
		}
	}
}

// TaskManagers returns the requested TaskManager count (registered and
// starting).
func (c *Cluster) TaskManagers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.tms)
}

// tmSlots reports, per registered TaskManager in registration order, its
// free slots: those the running graph does not occupy (place).
func (c *Cluster) tmSlots(visit func(tm *taskManager, free int)) {
	per := c.sc.Cluster.SlotsPerTaskManager
	running := c.slotsInUse() > 0
	for _, tm := range c.tms {
		if !tm.registered {
			continue
		}
		free := per
		if running {
			free -= tm.tasks
		}
		visit(tm, free)
	}
}

// validateRequirements checks req as Flink's JobResourceRequirements and
// the Dispatcher do, collecting every violation (reference §5.10).
func (c *Cluster) validateRequirements(req map[string]Bounds) ([]Bounds, error) {
	if len(req) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrInvalidRequirements, "Request body does not specify resource requirements.")
	}
	var msgs []string
	known := make(map[string]bool, len(c.vertices))
	next := make([]Bounds, len(c.vertices))
	for i, v := range c.vertices {
		known[v.id] = true
		b, ok := req[v.id]
		if !ok {
			msgs = append(msgs, fmt.Sprintf("The request is incomplete, missing job vertex [%s] resource requirements.", v.id))
			continue
		}
		if b.Lower == -1 {
			b.Lower = 1
		}
		if b.Upper == -1 {
			b.Upper = v.spec.MaxParallelism
		}
		msgs = append(msgs, boundsProblems(v, b)...)
		next[i] = b
	}
	ids := make([]string, 0, len(req))
	for id := range req {
		if !known[id] {
			ids = append(ids, id)
		}
	}
	sort.Strings(ids)
	for _, id := range ids {
		msgs = append(msgs, fmt.Sprintf("Job vertex [%s] was not found in the JobGraph.", id))
	}
	if len(msgs) > 0 {
		return nil, fmt.Errorf("%w: %s", ErrInvalidRequirements, strings.Join(msgs, "\n"))
	}
	return next, nil
}

func boundsProblems(v *vertex, b Bounds) []string {
	var msgs []string
	if b.Lower < 1 || b.Upper < 1 {
		msgs = append(msgs, fmt.Sprintf("Both, the requested lower bound [%d] and upper bound [%d] for job vertex [%s] must be greater than zero.", b.Lower, b.Upper, v.id))
		return msgs
	}
	if b.Lower > b.Upper {
		msgs = append(msgs, fmt.Sprintf("The requested lower bound [%d] for job vertex [%s] is higher than the upper bound [%d].", b.Lower, v.id, b.Upper))
	}
	if b.Upper > v.spec.MaxParallelism {
		msgs = append(msgs, fmt.Sprintf("The newly requested parallelism %d for the job vertex %s exceeds its maximum parallelism %d.", b.Upper, v.id, v.spec.MaxParallelism))
	}
	return msgs
}

// RequirementsMessage returns the Flink message of a PutRequirements error
// (the text after the sentinel), for the REST layer.
func RequirementsMessage(err error) string {
	if errors.Is(err, ErrReactiveMode) {
		return "Cannot change the parallelism of a job running in reactive mode."
	}
	return strings.TrimPrefix(err.Error(), ErrInvalidRequirements.Error()+": ")
}

// TaskManagerStatus is one emulated TaskManager as a pod would show it.
type TaskManagerStatus struct {
	ID string
	// Address is its RPC host (the pod IP a standalone TaskManager
	// registers with), as /taskmanagers shows it in path.
	Address    string
	Registered bool
	// Seq orders TaskManagers by when they were requested (newer higher).
	Seq int
}

// TaskManagerStatuses returns the requested TaskManagers, oldest first.
func (c *Cluster) TaskManagerStatuses() []TaskManagerStatus {
	c.mu.Lock()
	defer c.mu.Unlock()
	out := make([]TaskManagerStatus, 0, len(c.tms))
	for _, tm := range c.tms {
		out = append(out, TaskManagerStatus{ID: tm.id, Address: tmHost(tm), Registered: tm.registered, Seq: tm.seq})
	}
	sort.Slice(out, func(a, b int) bool { return out[a].Seq < out[b].Seq })
	return out
}

// RemoveTaskManagers removes the TaskManagers with the given ids, whichever
// they are (the pods a ReplicaSet chose), and returns the count left;
// unknown ids are ignored. Removing one that runs a subtask fails the job
// over, as in SetTaskManagers.
func (c *Cluster) RemoveTaskManagers(ids ...string) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	gone := map[string]bool{}
	for _, id := range ids {
		gone[id] = true
	}
	kept := c.tms[:0]
	for _, tm := range c.tms {
		if gone[tm.id] {
			c.loseTasks(tm)
			continue
		}
		kept = append(kept, tm)
	}
	if len(kept) != len(c.tms) {
		clear(c.tms[len(kept):])
		c.sched.reconsider = true
	}
	c.tms = kept
	c.schedule()
	return len(c.tms)
}
