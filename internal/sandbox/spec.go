package sandbox

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/flinksim"
)

// spec is the scenario as the JVM reads it: parsed and defaulted by
// flinksim's one parser, the load sampled every second, every rate in
// sandbox records (scenario records / recordScale).
type spec struct {
	Name                 string            `json:"name"`
	JobName              string            `json:"jobName"`
	Scaling              string            `json:"scaling"`
	SlotsPerTaskManager  int               `json:"slotsPerTaskManager"`
	SlotSharing          string            `json:"slotSharing"`
	InitialTaskManagers  int               `json:"initialTaskManagers"`
	MaxTaskManagers      int               `json:"maxTaskManagers"`
	TaskManagerStartupMs int64             `json:"taskManagerStartupMs"`
	CheckpointIntervalMs int64             `json:"checkpointIntervalMs"`
	RecordScale          float64           `json:"recordScale"`
	RateStepMs           int64             `json:"rateStepMs"`
	Rates                []float64         `json:"rates"`
	Vertices             []specVertex      `json:"vertices"`
	Host                 string            `json:"host"`
	RestPort             int               `json:"restPort"`
	ControlPort          int               `json:"controlPort"`
	FlinkConfig          map[string]string `json:"flinkConfig"`
	// LostTaskManagers are the scenario's lost TaskManagers (faults), in
	// order of time.
	LostTaskManagers []specLoss `json:"lostTaskManagers"`
}

// specLoss is one TaskManager lost at AtMs after the job's start: the
// Pick-th fraction of the live TaskManagers (0 ≤ Pick < 1) is killed, as a
// pod dies, and a replacement starts as Kubernetes would start one.
type specLoss struct {
	AtMs int64   `json:"atMs"`
	Pick float64 `json:"pick"`
}

type specVertex struct {
	Name             string    `json:"name"`
	Inputs           []string  `json:"inputs"`
	Keyed            bool      `json:"keyed"`
	Parallelism      int       `json:"parallelism"`
	MaxParallelism   int       `json:"maxParallelism"`
	SubtaskCapacity  []float64 `json:"subtaskCapacity"`
	VertexCapacity   []float64 `json:"vertexCapacity"`
	Selectivity      float64   `json:"selectivity"`
	Partitions       int       `json:"partitions"`
	SlotSharingGroup string    `json:"slotSharingGroup"`
}

// DefaultRecordBudget is the records/s, summed over every vertex's input at
// the scenario's peak load, that the sandbox aims to carry for real; a
// scenario above it runs with each sandbox record standing for several
// scenario records (see RecordScale).
const DefaultRecordBudget = 3000

// maxCapacityTable bounds the per-parallelism capacity tables sent to the JVM.
const maxCapacityTable = 512

// RecordScale returns how many scenario records one sandbox record stands
// for, so the scenario's peak flow fits budget records/s: 1, 2 or 5 × 10^k.
// Rates, capacities and backlogs the sandbox reports are in sandbox records;
// ratios (lag in seconds, busy time, parallelism) are unaffected.
func RecordScale(sc *flinksim.Scenario, budget float64) float64 {
	peak := 0.0
	for _, r := range sc.OfferedRates(time.Second, samples(sc)) {
		peak = max(peak, r)
	}
	total := 0.0
	for _, in := range sc.InputRates(peak) {
		total += in
	}
	if budget <= 0 || total <= budget {
		return 1
	}
	need := total / budget
	for mag := 1.0; ; mag *= 10 {
		for _, m := range []float64{1, 2, 5} {
			if m*mag >= need {
				return m * mag
			}
		}
	}
}

func samples(sc *flinksim.Scenario) int {
	return int(sc.Duration/time.Second) + 1
}

// checkExpressible reports what a sandbox cannot run.
func checkExpressible(sc *flinksim.Scenario) error {
	if sc.Cluster.Scaling == flinksim.ScalingSession {
		return fmt.Errorf("sandbox: scenario %s: scaling %q is not supported by the sandbox (use adaptive or reactive)", sc.Name, sc.Cluster.Scaling)
	}
	for _, v := range sc.Job.Vertices {
		if v.MaxParallelism > maxCapacityTable {
			return fmt.Errorf("sandbox: scenario %s: vertex %q: maxParallelism %d is above the sandbox's limit %d", sc.Name, v.Name, v.MaxParallelism, maxCapacityTable)
		}
	}
	return nil
}

func buildSpec(sc *flinksim.Scenario, scale float64) spec {
	s := spec{
		Name: sc.Name, JobName: sc.Job.Name, Scaling: sc.Cluster.Scaling,
		SlotsPerTaskManager: sc.Cluster.SlotsPerTaskManager, SlotSharing: sc.Cluster.SlotSharing,
		InitialTaskManagers: sc.Cluster.InitialTaskManagers, MaxTaskManagers: sc.Cluster.MaxTaskManagers,
		TaskManagerStartupMs: sc.Cluster.TaskManagerStartup.Milliseconds(),
		CheckpointIntervalMs: sc.Cluster.CheckpointInterval.Milliseconds(),
		RecordScale:          scale, RateStepMs: 1000, Host: "127.0.0.1",
		FlinkConfig: map[string]string{},
	}
	for _, r := range sc.OfferedRates(time.Second, samples(sc)) {
		s.Rates = append(s.Rates, r/scale)
	}
	s.LostTaskManagers = lostTaskManagers(sc)
	for i := range sc.Job.Vertices {
		v := &sc.Job.Vertices[i]
		sv := specVertex{
			Name: v.Name, Inputs: append([]string{}, v.Inputs...), Keyed: v.Keyed,
			Parallelism: v.Parallelism, MaxParallelism: v.MaxParallelism,
			Selectivity: v.Selectivity, Partitions: v.Partitions, SlotSharingGroup: v.SlotSharingGroup,
		}
		for p := 1; p <= v.MaxParallelism; p++ {
			sv.SubtaskCapacity = append(sv.SubtaskCapacity, v.SubtaskCapacity(p)/scale)
			sv.VertexCapacity = append(sv.VertexCapacity, v.VertexCapacity(p)/scale)
		}
		s.Vertices = append(s.Vertices, sv)
	}
	return s
}

// lostTaskManagers are the TaskManagers the scenario's faults lose during
// its run: one at each of lostTaskManagerAt and, at lostTaskManagerPerHour,
// at times drawn from the scenario's seed (a Poisson process over the
// duration), which TaskManager drawn from the seed too, so a scenario loses
// the same ones on every sandbox run. The emulator draws its own from the
// same rates; the sandbox cannot run the other faults (failed restores,
// TaskManagers lost while the job restarts: it has no hook into Flink's
// restore).
func lostTaskManagers(sc *flinksim.Scenario) []specLoss {
	f := sc.Cluster.Faults
	rng := rand.New(rand.NewPCG(uint64(sc.Seed), 0x6c6f7374))
	var at []time.Duration
	for _, t := range f.LostTaskManagerAt {
		if t < sc.Duration {
			at = append(at, t)
		}
	}
	if f.LostTaskManagerPerHour > 0 {
		mean := time.Duration(float64(time.Hour) / f.LostTaskManagerPerHour)
		for t := time.Duration(rng.ExpFloat64() * float64(mean)); t < sc.Duration; t += time.Duration(rng.ExpFloat64() * float64(mean)) {
			at = append(at, t)
		}
	}
	slices.Sort(at)
	out := []specLoss{} // the JVM reads a missing list as none, null as an error
	for _, t := range at {
		out = append(out, specLoss{AtMs: t.Milliseconds(), Pick: rng.Float64()})
	}
	return out
}
