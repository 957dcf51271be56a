package bench

import (
	"errors"
	"fmt"
	"maps"
	"time"

	"github.com/flinkscaler/flinkscaler/functions/actuate/actuator"
	"github.com/flinkscaler/flinkscaler/functions/actuate/plan"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
)

// actuate is actuate's default options (its limits and waits): the
// benchmark applies decisions with the limits production runs with.
var actuate = actuator.DefaultOptions()

// executor applies decisions to the emulated cluster the way actuate does,
// in virtual time: plan.For orders the steps, waits are polled once per
// simulated step and bounded like actuate's, a failed step skips the rest
// and rolls the TaskManagers back when the requirements were not touched,
// one decision runs at a time (a newer one waits, replacing any older
// waiting one), and a decision that starts less than minInterval after the
// last change is skipped, as actuate's rate limit does.
//
//	idle ──submit──► running ──last step done / failed──► idle
//	                    │ wait unmet: stay, retry next step
type executor struct {
	c       *flinksim.Cluster
	maxPar  map[string]int
	owns    bool // actuate owns the TaskManager count (not session mode)
	pending *events.Decision
	run     *execution
	last    time.Duration // elapsed at the last change; -1 = never
	// Applied, Skipped and Failed count decisions by outcome; TimedOut
	// counts the failures that were a wait running out.
	Applied, Skipped, Failed, TimedOut int
	// Errors keeps the first few failure messages.
	Errors []string
}

// execution is one decision's plan in progress.
type execution struct {
	p                  plan.Plan
	next               int
	waited             time.Duration
	ckptLimit          time.Duration // bound of the current wait-checkpoint step
	tmsMoved, reqMoved bool
}

func newExecutor(c *flinksim.Cluster) *executor {
	x := &executor{c: c, maxPar: map[string]int{}, last: -1,
		owns: c.Scenario().Cluster.Scaling != flinksim.ScalingSession}
	for i, id := range c.VertexIDs() {
		x.maxPar[id] = c.Scenario().Job.Vertices[i].MaxParallelism
	}
	return x
}

// submit queues d; it starts on the next tick when nothing runs.
func (x *executor) submit(d events.Decision) { x.pending = &d }

// tick advances the running plan by one simulated step of length step,
// given the ground truth gt observed after it.
func (x *executor) tick(gt *flinksim.GroundTruth, step time.Duration) {
	if x.run == nil && x.pending != nil {
		x.start(gt.Elapsed)
	}
	for x.run != nil {
		done, err := x.advance(gt)
		if err != nil {
			x.fail(err, gt.Elapsed)
			return
		}
		if !done {
			x.run.waited += step
			return
		}
		if x.run.next == len(x.run.p.Steps) {
			x.finish(gt.Elapsed)
			return
		}
	}
}

func (x *executor) start(now time.Duration) {
	d := *x.pending
	x.pending = nil
	if x.last >= 0 && now-x.last < actuate.MinInterval {
		x.Skipped++
		return
	}
	if d.Mode == events.ModeReactive && x.c.Scenario().Cluster.Scaling != flinksim.ScalingReactive {
		// keda-lag sizes one parallelism for all vertices, as on a
		// reactive-mode cluster; on an adaptive one that takes declaring
		// it as every vertex's requirement.
		d.Mode = events.ModeAdaptive
	}
	p, err := plan.For(d, x.current(), plan.Options{OwnsTaskManagers: x.owns, AlignCheckpoint: actuate.AlignCheckpoint})
	if err != nil {
		x.Failed++
		x.note(fmt.Errorf("plan decision %s: %w", d.DecisionID, err))
		return
	}
	if len(p.Steps) == 0 {
		x.Skipped++
		return
	}
	x.run = &execution{p: p}
}

func (x *executor) current() plan.Current {
	cur := plan.Current{TaskManagers: x.c.TaskManagers(), MaxParallelism: x.maxPar,
		CheckpointInterval: x.c.Scenario().Cluster.CheckpointInterval}
	if x.c.Scenario().Cluster.Scaling != flinksim.ScalingReactive {
		cur.Requirements = map[string]plan.Bounds{}
		for id, b := range x.c.Requirements() {
			cur.Requirements[id] = plan.Bounds{Lower: b.Lower, Upper: b.Upper}
		}
	}
	return cur
}

// advance runs the next step: (true, nil) when it completed, (false, nil)
// when it waits, an error when it failed.
func (x *executor) advance(gt *flinksim.GroundTruth) (bool, error) {
	r := x.run
	s := r.p.Steps[r.next]
	switch s.Kind {
	case plan.KindScaleTaskManagers, plan.KindDeclareTaskManagers:
		x.c.SetTaskManagers(s.TaskManagers)
		r.tmsMoved = true
	case plan.KindWaitSlots:
		if gt.SlotsTotal < s.Slots {
			return false, r.timeout(actuate.SlotWait, fmt.Sprintf("%d of %d slots registered", gt.SlotsTotal, s.Slots))
		}
	case plan.KindPutRequirements:
		req := make(map[string]flinksim.Bounds, len(s.Requirements))
		for id, b := range s.Requirements {
			req[id] = flinksim.Bounds{Lower: b.Lower, Upper: b.Upper}
		}
		if err := x.c.PutRequirements(req); err != nil {
			return false, fmt.Errorf("put requirements: %w", err)
		}
		r.reqMoved = true
		r.next++
		r.waited = 0
		return false, nil // the job reacts from the next step on
	case plan.KindVerifyRequirements:
		for id, b := range x.c.Requirements() {
			if want, ok := s.Requirements[id]; ok && (want.Lower != b.Lower || want.Upper != b.Upper) {
				return false, fmt.Errorf("verify requirements: vertex %s declared %v, want %v", id, b, want)
			}
		}
	case plan.KindWaitCheckpoint:
		if !x.checkpointed(gt, s) {
			return false, nil
		}
	case plan.KindWaitParallelism:
		if !atParallelism(gt, s.Parallelism) {
			return false, r.timeout(actuate.ParallelismWait, "job "+gt.State+" not yet at its new parallelism")
		}
	}
	r.next++
	r.waited = 0
	return true, nil
}

// checkpointed reports whether a wait-checkpoint step is over, as actuate's:
// a checkpoint completed within plan.FreshCheckpoint, or the wait's bound
// (plan.CheckpointWait under plan.CheckpointLimit, fixed when the step
// starts) has passed, in which case
// the restart goes ahead anyway.
func (x *executor) checkpointed(gt *flinksim.GroundTruth, s plan.Step) bool {
	interval := s.CheckpointInterval
	age := time.Duration(-1)
	if at, ok := x.c.LatestCheckpoint(); ok {
		age = gt.Elapsed - at
	}
	r := x.run
	if r.waited == 0 {
		r.ckptLimit = plan.CheckpointWait(age, interval, plan.CheckpointLimit(s, actuate.CheckpointWait))
	}
	return r.waited >= r.ckptLimit || (age >= 0 && age <= plan.FreshCheckpoint(interval))
}

// timeout is nil while a wait is within limit, then an error naming state.
func (r *execution) timeout(limit time.Duration, state string) error {
	if r.waited < limit {
		return nil
	}
	return fmt.Errorf("%w after %s: %s", errTimedOut, limit, state)
}

// errTimedOut marks a wait that ran out.
var errTimedOut = errors.New("timed out")

func atParallelism(gt *flinksim.GroundTruth, want map[string]int) bool {
	if gt.State != flinksim.StateRunning {
		return false
	}
	got := make(map[string]int, len(want))
	for _, v := range gt.Vertices {
		if _, ok := want[v.ID]; ok {
			got[v.ID] = v.Parallelism
		}
	}
	return maps.Equal(got, want)
}

func (x *executor) finish(now time.Duration) {
	x.Applied++
	x.last = now
	x.run = nil
}

// fail stops the plan; TaskManagers go back when requirements were not
// touched (actuate's rollback).
func (x *executor) fail(err error, now time.Duration) {
	r := x.run
	x.run = nil
	x.Failed++
	if errors.Is(err, errTimedOut) {
		x.TimedOut++
	}
	x.note(err)
	if r.tmsMoved && !r.reqMoved {
		x.c.SetTaskManagers(r.p.TaskManagers.Current)
	}
	if r.tmsMoved || r.reqMoved {
		x.last = now
	}
}

func (x *executor) note(err error) {
	if len(x.Errors) < 5 {
		x.Errors = append(x.Errors, err.Error())
	}
}
