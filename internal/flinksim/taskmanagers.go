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
// registered and idle ones first. Removing a TaskManager whose slots the job
// uses fails the job over to the remaining slots, as Flink does.
func (c *Cluster) SetTaskManagers(n int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	n = min(max(n, 0), c.sc.Cluster.MaxTaskManagers)
	for len(c.tms) < n {
		c.addTaskManager(c.sc.Cluster.TaskManagerStartup)
	}
	if len(c.tms) > n {
		// Keep registered TaskManagers first (oldest first: they hold the
		// job's slots), then pending ones; drop from the end.
		sort.SliceStable(c.tms, func(a, b int) bool {
			ta, tb := c.tms[a], c.tms[b]
			if ta.registered != tb.registered {
				return ta.registered
			}
			return ta.seq < tb.seq
		})
		c.tms = c.tms[:n]
		c.sched.reconsider = true
	}
	c.schedule()
	return n
}

// TaskManagers returns the requested TaskManager count (registered and
// starting).
func (c *Cluster) TaskManagers() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.tms)
}

// tmSlots reports, per TaskManager in registration order, its slot count and
// free slots: the job's slots fill the oldest TaskManagers first.
func (c *Cluster) tmSlots(visit func(tm *taskManager, free int)) {
	used := c.slotsInUse()
	per := c.sc.Cluster.SlotsPerTaskManager
	for _, tm := range c.tms {
		if !tm.registered {
			continue
		}
		take := min(used, per)
		used -= take
		visit(tm, per-take)
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
