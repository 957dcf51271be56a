package flinksim

import (
	"fmt"
	"strconv"
	"time"
)

// checkpointHistory is web.checkpoints.history's default.
const checkpointHistory = 10

// checkpoints is the job's checkpoint statistics. A checkpoint completes
// instantly every checkpointInterval while the job runs and records each
// source's position; state size is not modelled (sizes are 0). The history
// survives rescales (reference §10).
type checkpoints struct {
	next      time.Duration // elapsed time of the next trigger
	completed int64         // ids are 1, 2, …
	history   []checkpointRecord
	positions []float64 // per vertex: source position at the latest checkpoint
	restored  *restoredCheckpoint
	restores  int64
	latestAt  time.Duration // elapsed at the latest completion
	// requested is a checkpoint triggered through the REST API, taken at
	// the next step the job runs; triggers counts them (the request ids)
	requested bool
	triggers  int64
}

type checkpointRecord struct {
	id          int64
	triggerMs   int64
	ackMs       int64 // its completion: the last acknowledgement
	numSubtasks int
}

type restoredCheckpoint struct {
	id        int64
	restoreMs int64
}

// checkpoint completes the periodic checkpoints that are due: at once, or,
// when checkpoints take time or can fail (Runtime), the one in flight once
// its duration passed, triggering a new one when it is due and none is in
// flight (one concurrent checkpoint, Flink's default).
func (c *Cluster) checkpoint() {
	k := &c.ckpt
	if k.requested {
		// the periodic schedule goes on: Flink's coordinator schedules its
		// triggers at a fixed rate, whatever else was taken
		k.requested = false
		switch {
		case !c.timedCheckpoints():
			c.completeCheckpoint(nil, c.nowMs())
		case c.dist.pending == nil:
			c.checkpointTriggered()
		}
	}
	if c.timedCheckpoints() {
		for {
			if pc := c.dist.pending; pc != nil && pc.doneAt <= c.elapsed {
				c.dist.pending = nil
				if !pc.fails {
					c.completeCheckpoint(pc.positions, c.opts.Start.Add(pc.triggered).UnixMilli())
				}
			}
			if k.next > c.elapsed {
				return
			}
			k.next += c.sc.Cluster.CheckpointInterval
			if c.dist.pending == nil {
				c.checkpointTriggered()
			}
		}
	}
	for k.next <= c.elapsed {
		k.next += c.sc.Cluster.CheckpointInterval
		c.completeCheckpoint(nil, c.nowMs())
	}
}

// completeCheckpoint records a completed checkpoint with the sources'
// positions at its trigger (nil: their positions now).
func (c *Cluster) completeCheckpoint(positions []float64, triggerMs int64) {
	k := &c.ckpt
	k.completed++
	k.latestAt = c.elapsed
	if k.positions == nil {
		k.positions = make([]float64, len(c.vertices))
	}
	for _, s := range c.sources {
		k.positions[s] = c.vertices[s].position
		if positions != nil {
			k.positions[s] = positions[s]
		}
	}
	n := 0
	for _, v := range c.vertices {
		n += v.p
	}
	rec := checkpointRecord{id: k.completed, triggerMs: triggerMs, ackMs: c.nowMs(), numSubtasks: n}
	if len(k.history) < checkpointHistory {
		k.history = append(k.history, rec)
	} else {
		copy(k.history, k.history[1:])
		k.history[len(k.history)-1] = rec
	}
}

// LatestCheckpoint returns the simulated time since the start at which the
// latest checkpoint completed, and false before the first one.
func (c *Cluster) LatestCheckpoint() (time.Duration, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.ckpt.latestAt, c.ckpt.completed > 0
}

// position is a source's position at the latest completed checkpoint (0,
// the start of its input, before the first one).
func (k *checkpoints) position(vertex int) float64 {
	if k.positions == nil {
		return 0
	}
	return k.positions[vertex]
}

// restore records that the new graph restored the latest checkpoint.
func (k *checkpoints) restore(nowMs int64) {
	k.restores++
	if k.completed == 0 {
		return
	}
	k.restored = &restoredCheckpoint{id: k.completed, restoreMs: nowMs}
}

func (k *checkpoints) externalPath(jobID string, id int64) string {
	return fmt.Sprintf("file:/flink-checkpoints/%s/chk-%d", jobID, id)
}

// triggerCheckpoint asks for a checkpoint now, as POST
// /jobs/:jobid/checkpoints does (Flink 1.19+), and returns its request id;
// the caller holds c.mu (the REST handler). A running job takes it at its
// next step, unless one is in flight (that one is the checkpoint the
// request gets); a job that is not running takes none (Flink fails the
// request: no tasks to trigger). The periodic schedule is not moved.
func (c *Cluster) triggerCheckpoint() string {
	k := &c.ckpt
	k.triggers++
	if c.sched.state == StateRunning && c.sc.Cluster.CheckpointInterval > 0 {
		k.requested = true
	}
	return hexID(c.sc.Seed, "checkpoint-trigger", strconv.FormatInt(k.triggers, 10))
}
