// Package scorecard records one run of a scenario — the emulator's ground
// truth once per simulated step plus the scaling decisions made — and
// summarises it into the figures the benchmark and the demo report (docs/
// BENCHMARK.md defines each one).
//
// A Recorder is fed by its owner's loop and is not safe for concurrent use:
//
//	rec := scorecard.New(sc)
//	for ... { cluster.Step(); rec.Observe(cluster.GroundTruth()) }
//	rec.Decision(at, decision)        // whenever a decision is made
//	sum := rec.Summary()              // at any time; Series() for plots
//
// The oracle is not run: at every observed instant the Recorder computes the
// fewest slots that sustain the offered rate (flinksim.Scenario.
// OptimalParallelism), as if the job rescaled for free, and integrates them
// into OracleSlotSeconds.
package scorecard

import (
	"math"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
)

// Sample is one observed instant of a run.
type Sample struct {
	Time    time.Time
	Elapsed time.Duration
	State   string // flinksim.StateRunning, StateRestarting or StateCreated
	// OfferedRate is the records/s offered to the sources.
	OfferedRate float64
	// Parallelism is per vertex (Job.Vertices order), as running.
	Parallelism  []int
	TaskManagers int
	// Slots is what the run pays for at this instant: requested
	// TaskManagers × slots per TaskManager (in session mode, where the
	// TaskManagers are shared, the slots the running parallelism needs).
	Slots int
	// OracleParallelism is the fewest subtasks per vertex sustaining
	// OfferedRate; OracleSlots what they cost, counted like Slots.
	OracleParallelism []int
	OracleSlots       int
	// Oracle15Slots is what the fewest subtasks keeping HeadroomOracle
	// spare capacity on every vertex cost (sized for OfferedRate ÷ 0.85).
	Oracle15Slots int
	// MaxBusy is the busiest subtask's busy fraction over all vertices
	// (0 while the job is not running).
	MaxBusy float64
	// LagSeconds is pending records / offered rate (+Inf with a backlog and
	// no offered load); Backlog is the pending records.
	LagSeconds float64
	Backlog    float64
	Restarts   int
	Downtime   time.Duration
}

// Mark is one scaling decision, placed on the run's timeline.
type Mark struct {
	Time    time.Time
	Elapsed time.Duration
	// Targets is the target parallelism per vertex (Job.Vertices order; 0
	// for a vertex the decision does not name).
	Targets      []int
	TaskManagers events.Count
	Policy       string
	Rationale    string
}

// Series is a run's time series, for plots and reports.
type Series struct {
	Scenario      string
	Vertices      []string // vertex names, Job.Vertices order
	MaxLagSeconds float64  // the scenario's SLO
	Samples       []Sample
	Decisions     []Mark
}

// Recorder accumulates one run. The zero value is not usable; call New.
type Recorder struct {
	sc        *flinksim.Scenario
	vertexIdx map[string]int // vertex id or name → index
	samples   []Sample
	decisions []Mark
	start     time.Time
}

// New returns a Recorder for a run of sc.
func New(sc *flinksim.Scenario) *Recorder {
	r := &Recorder{sc: sc, vertexIdx: make(map[string]int, len(sc.Job.Vertices))}
	for i, v := range sc.Job.Vertices {
		r.vertexIdx[v.Name] = i
	}
	return r
}

// Observe records one instant. Samples must come in increasing Elapsed
// order; one that does not advance time is ignored. gt is copied.
func (r *Recorder) Observe(gt flinksim.GroundTruth) {
	if n := len(r.samples); n > 0 && gt.Elapsed <= r.samples[n-1].Elapsed {
		return
	}
	if len(r.samples) == 0 {
		r.start = gt.Time.Add(-gt.Elapsed)
	}
	s := Sample{
		Time: gt.Time, Elapsed: gt.Elapsed, State: gt.State, OfferedRate: gt.OfferedRate,
		Parallelism:  make([]int, len(gt.Vertices)),
		TaskManagers: gt.TaskManagers,
		LagSeconds:   gt.LagSeconds, Backlog: gt.Backlog,
		Restarts: gt.Restarts, Downtime: gt.Downtime,
	}
	for i, v := range gt.Vertices {
		s.Parallelism[i] = v.Parallelism
		r.vertexIdx[v.ID] = i
	}
	s.Slots = r.cost(s.Parallelism, gt.TaskManagers)
	s.OracleParallelism = r.oracle(gt.OfferedRate)
	s.OracleSlots = r.cost(s.OracleParallelism, -1)
	s.Oracle15Slots = r.cost(r.oracle(gt.OfferedRate/(1-HeadroomOracle)), -1)
	for _, v := range gt.Vertices {
		s.MaxBusy = max(s.MaxBusy, v.MaxBusyMsPerSecond/1000)
	}
	r.samples = append(r.samples, s)
}

// Decision records a decision made at simulated time at. Vertices are
// matched by id (as seen in observed ground truth) or by name.
func (r *Recorder) Decision(at time.Time, d events.Decision) {
	m := Mark{
		Time: at, Targets: make([]int, len(r.sc.Job.Vertices)),
		TaskManagers: d.TaskManagers, Policy: d.Policy, Rationale: d.Rationale,
	}
	if !r.start.IsZero() {
		m.Elapsed = at.Sub(r.start)
	}
	for _, v := range d.Vertices {
		i, ok := r.vertexIdx[v.ID]
		if !ok {
			i, ok = r.vertexIdx[v.Name]
		}
		if ok {
			m.Targets[i] = v.Target
		}
	}
	r.decisions = append(r.decisions, m)
}

// Series returns the recorded time series. The slices are shared with the
// Recorder: read them, do not modify them, and do not keep them across a
// later Observe.
func (r *Recorder) Series() Series {
	names := make([]string, len(r.sc.Job.Vertices))
	for i, v := range r.sc.Job.Vertices {
		names[i] = v.Name
	}
	return Series{
		Scenario: r.sc.Name, Vertices: names, MaxLagSeconds: r.sc.SLO.MaxLagSeconds,
		Samples: r.samples, Decisions: r.decisions,
	}
}

// oracle is the fewest subtasks per vertex that sustain rate; in reactive
// mode every vertex runs at the largest of them.
func (r *Recorder) oracle(rate float64) []int {
	p := r.sc.OptimalParallelism(rate)
	if r.sc.Cluster.Scaling == flinksim.ScalingReactive {
		m := 0
		for _, x := range p {
			m = max(m, x)
		}
		for i := range p {
			p[i] = m
		}
	}
	return p
}

// costStep is the smallest change of what the job pays for (cost): one
// TaskManager's slots, or in session mode, where the job pays for the
// slots its parallelism needs, one slot. A load change and the spare a
// converged job may carry are at least that: a move of the job's cost by
// less is not one it can make, and in session mode a move of a slot is.
func (r *Recorder) costStep() int {
	if r.sc.Cluster.Scaling == flinksim.ScalingSession {
		return 1
	}
	return r.sc.Cluster.SlotsPerTaskManager
}

// cost is the slots paid for: taskManagers × slots per TaskManager, or, when
// taskManagers < 0 (the oracle), the TaskManagers parallelism p needs plus
// standby. In session mode it is the slots p needs.
func (r *Recorder) cost(p []int, taskManagers int) int {
	c := r.sc.Cluster
	need := r.sc.SlotsNeeded(p)
	if c.Scaling == flinksim.ScalingSession {
		return need
	}
	if taskManagers < 0 {
		taskManagers = int(math.Ceil(float64(need)/float64(c.SlotsPerTaskManager))) + c.StandbyTaskManagers
	}
	return taskManagers * c.SlotsPerTaskManager
}
