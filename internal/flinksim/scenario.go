// Package flinksim emulates a Flink 1.18+ JobManager (docs/scenarios.md
// describes the scenarios it runs): a queueing model of one streaming job driven by a scenario file,
// an adaptive scheduler with TaskManagers, and Flink's REST API over both.
//
// A Cluster is advanced in simulated time by its caller (Step, Advance) or in
// real time (Run). Everything is deterministic for a given scenario seed.
package flinksim

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// Scaling modes of a scenario's cluster (docs/scenarios.md "cluster").
const (
	ScalingAdaptive = "adaptive"
	ScalingReactive = "reactive"
	ScalingSession  = "session"
)

// Slot-sharing layouts.
const (
	SlotSharingShared    = "shared"
	SlotSharingDedicated = "dedicated"
)

// Scenario is a parsed, validated and defaulted scenario file.
type Scenario struct {
	Name     string
	Duration time.Duration
	Seed     int64
	Cluster  ClusterSpec
	Job      JobSpec
	Load     Load
	SLO      SLO
}

// ClusterSpec is the emulated Flink cluster.
type ClusterSpec struct {
	Scaling             string // ScalingAdaptive | ScalingReactive | ScalingSession
	SlotsPerTaskManager int
	SlotSharing         string // SlotSharingShared | SlotSharingDedicated
	InitialTaskManagers int
	StandbyTaskManagers int
	MaxTaskManagers     int
	TaskManagerStartup  time.Duration
	Restart             time.Duration // job downtime per rescale or failover
	CheckpointInterval  time.Duration
	// ResourceStabilization is how long a restarting job whose slots meet
	// every lower bound but not every upper bound waits for more before it
	// runs on what it has (jobmanager.adaptive-scheduler.resource-stabilization-timeout,
	// 2.x submission.resource-stabilization-timeout: 10 s, 0 in reactive
	// mode). MinParallelismIncrease is the smallest increase of a vertex's
	// parallelism that rescales a running job when slots register
	// (jobmanager.adaptive-scheduler.min-parallelism-increase, default 1;
	// removed in 2.x, where any change counts).
	ResourceStabilization  time.Duration
	MinParallelismIncrease int
	Runtime
	// RealMetricTiming times metrics as real Flink does (measured against
	// it, docs/FIDELITY.md): a task that has just started (after a restart
	// or rescale) has rates that ramp up, its meters dividing by their full
	// 60 s window from the start; and the JobManager's metric fetch is
	// asynchronous, so the request that triggers it is answered from the
	// previous fetch (nothing before the first). Off (the default), a young
	// task's rates average over its life so far and every answer is fresh.
	RealMetricTiming bool
}

// JobSpec is the emulated job.
type JobSpec struct {
	Name string
	// Vertices in topological order (every vertex after its inputs).
	Vertices []VertexSpec
}

// VertexSpec is one job vertex of the model.
type VertexSpec struct {
	Name           string
	Inputs         []string // names of upstream vertices; empty for a source
	Keyed          bool     // inputs are hash-partitioned by key group
	Parallelism    int      // initial parallelism
	MaxParallelism int      // number of key groups
	// Capacity is what one subtask processes, in records/s, at parallelism 1.
	Capacity float64
	// ScalingExponent a gives capacity(p) = Capacity · p^a (1 = linear).
	ScalingExponent float64
	// SerialFraction σ > 0 gives Amdahl scaling instead:
	// capacity(p) = Capacity · p / (1 + σ·(p − 1)).
	SerialFraction float64
	Selectivity    float64 // records out per record in
	Partitions     int     // source partitions; 0 = unpartitioned
	// SlotSharingGroup names the vertex's slot-sharing group ("default" if
	// empty) when the cluster shares slots.
	SlotSharingGroup string
	VertexRuntime
}

// IsSource reports whether the vertex has no inputs.
func (v VertexSpec) IsSource() bool { return len(v.Inputs) == 0 }

// legacySource: a source run by a legacy SourceFunction (busyNaN): Flink
// reports no busy or idle time for its task and counts no records in for
// its operator, only the records it emits.
func (v VertexSpec) legacySource() bool { return v.IsSource() && v.BusyNaN }

// SLO is the service level the benchmark scores against.
type SLO struct {
	// MaxLagSeconds bounds lag = pending records / current input rate.
	MaxLagSeconds float64
}

// Problem is one thing wrong with a scenario, at a field path such as
// job.vertices[2].inputs[0].
type Problem struct {
	Path    string
	Message string
}

// ValidationError lists every problem found in a scenario.
type ValidationError struct {
	Problems []Problem
}

func (e *ValidationError) Error() string {
	lines := make([]string, len(e.Problems))
	for i, p := range e.Problems {
		if p.Path == "" {
			lines[i] = p.Message
			continue
		}
		lines[i] = p.Path + ": " + p.Message
	}
	return "invalid scenario:\n  " + strings.Join(lines, "\n  ")
}

// Unwrap makes errors.Is(err, ErrInvalidScenario) true.
func (e *ValidationError) Unwrap() error { return ErrInvalidScenario }

// problems collects Problems; a path that already has one is not reported
// again (a field that failed to decode is not also "missing").
type problems struct {
	list []Problem
	seen map[string]bool
}

func (p *problems) add(path, format string, args ...any) {
	if p.seen == nil {
		p.seen = map[string]bool{}
	}
	if p.seen[path] {
		return
	}
	p.seen[path] = true
	p.list = append(p.list, Problem{Path: path, Message: fmt.Sprintf(format, args...)})
}

func (p *problems) err() error {
	if len(p.list) == 0 {
		return nil
	}
	return &ValidationError{Problems: p.list}
}

// LoadScenario reads and validates the scenario file at path; a trace file
// it names is resolved relative to the scenario file's directory.
func LoadScenario(path string) (*Scenario, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read scenario: %w", err)
	}
	sc, err := ParseScenario(data, filepath.Dir(path))
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return sc, nil
}

// ParseScenario parses and validates a scenario; dir is the directory that
// relative trace file paths resolve against. Every problem is reported in a
// *ValidationError wrapping ErrInvalidScenario.
func ParseScenario(data []byte, dir string) (*Scenario, error) {
	var ps problems
	raw := decodeRaw(data, &ps)
	if raw == nil {
		return nil, ps.err()
	}
	sc := &Scenario{Name: raw.Name, Duration: raw.Duration, Seed: raw.Seed}
	if sc.Name == "" {
		ps.add("name", "required")
	}
	if sc.Duration <= 0 {
		ps.add("duration", "must be a positive duration, got %s", sc.Duration)
	}
	sc.Job = buildJob(raw.Job, &ps)
	sc.Cluster = buildCluster(raw.Cluster, sc.Job, &ps)
	sc.Load = buildLoad(raw.Load, "load", dir, &ps)
	sc.SLO = buildSLO(raw.SLO, &ps)
	if err := ps.err(); err != nil {
		return nil, err
	}
	return sc, nil
}

func buildSLO(raw *rawSLO, ps *problems) SLO {
	slo := SLO{MaxLagSeconds: 60}
	if raw == nil || raw.MaxLagSeconds == nil {
		return slo
	}
	if *raw.MaxLagSeconds <= 0 {
		ps.add("slo.maxLagSeconds", "must be positive, got %g", *raw.MaxLagSeconds)
	}
	slo.MaxLagSeconds = *raw.MaxLagSeconds
	return slo
}
