package fidelity

import (
	"context"
	"fmt"
	"math"
	"slices"
	"strconv"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/clock"
	"github.com/flinkscaler/flinkscaler/internal/flink"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
)

// DisturbanceProbe measures what a JobManager shows of the runtime
// disturbances the emulator models (docs/FIDELITY.md "Disturbances"), on a
// job whose vertex Vertex runs half busy for the first phase and saturated
// (the source back-pressured) for the second: the scenario's load steps up
// at SaturateAt. Per phase, every 10 s, it reads each subtask's busy time
// and input rate through the REST API and the ground truth's busy time (the
// time the job spent in its per-record cost), and it collects the
// end-to-end duration of every checkpoint completed in the phase.
type DisturbanceProbe struct {
	URL   string
	JobID string
	Sc    *flinksim.Scenario
	Clock clock.Clock
	Truth func(ctx context.Context) (flinksim.GroundTruth, error)
	// Vertex is the measured vertex; SaturateAt when the load saturates it.
	Vertex     string
	SaturateAt time.Duration
}

// DisturbanceRecord is one DisturbanceProbe run.
type DisturbanceRecord struct {
	Engine   string        `json:"engine"`
	Scenario string        `json:"scenario"`
	Vertex   string        `json:"vertex"`
	Phases   []PhaseRecord `json:"phases"`
}

// PhaseRecord is one phase: its samples and the end-to-end durations (ms)
// of the checkpoints triggered in it and completed.
type PhaseRecord struct {
	Name         string       `json:"name"`
	Samples      []BusySample `json:"samples"`
	CheckpointMs []float64    `json:"checkpointEndToEndMs"`
}

// BusySample is the measured vertex at one time.
type BusySample struct {
	At float64 `json:"atSeconds"`
	// Busy and RecordsIn are per subtask, as the REST API reports them
	// (busyTimeMsPerSecond, the operator's numRecordsInPerSecond).
	Busy      []float64 `json:"busyMsPerSecond"`
	RecordsIn []float64 `json:"recordsInPerSecond"`
	// TrueMaxBusy is the ground truth: the busiest subtask's time in the
	// per-record cost, ms/s; TrueRecordsIn the vertex's input rate.
	TrueMaxBusy   float64 `json:"trueMaxBusyMsPerSecond"`
	TrueRecordsIn float64 `json:"trueRecordsInPerSecond"`
}

const (
	phaseSettle   = 70 * time.Second // the 60 s meters and a fetch
	phaseSamples  = 8
	samplePeriod  = 10 * time.Second
	disturbPhases = 2
)

// Run measures both phases: about SaturateAt + 150 s of the clock.
func (p *DisturbanceProbe) Run(ctx context.Context, engine string) (*DisturbanceRecord, error) {
	c, err := flink.New(p.URL, flink.Options{})
	if err != nil {
		return nil, err
	}
	details, err := c.JobDetails(ctx, p.JobID)
	if err != nil {
		return nil, err
	}
	var target flink.JobVertex
	for _, v := range details.Vertices {
		if v.Name == p.Vertex {
			target = v
		}
	}
	if target.ID == "" {
		return nil, fmt.Errorf("no vertex %q", p.Vertex)
	}
	rec := &DisturbanceRecord{Engine: engine, Scenario: p.Sc.Name, Vertex: p.Vertex}
	start := p.Clock.Now()
	for i, name := range []string{"half busy", "saturated"} {
		from := time.Duration(i) * p.SaturateAt
		if err := p.sleepUntil(ctx, start.Add(from+phaseSettle)); err != nil {
			return nil, err
		}
		ph := PhaseRecord{Name: name}
		seen := map[int64]bool{}
		for range phaseSamples {
			s, err := p.sample(ctx, c, target, start)
			if err != nil {
				return nil, fmt.Errorf("%s: %w", name, err)
			}
			ph.Samples = append(ph.Samples, s)
			p.checkpoints(ctx, c, start.Add(from+phaseSettle-samplePeriod), seen, &ph)
			if err := p.Clock.Sleep(ctx, samplePeriod-2*time.Second); err != nil {
				return nil, err
			}
		}
		rec.Phases = append(rec.Phases, ph)
	}
	return rec, nil
}

func (p *DisturbanceProbe) sleepUntil(ctx context.Context, t time.Time) error {
	if d := t.Sub(p.Clock.Now()); d > 0 {
		return p.Clock.Sleep(ctx, d)
	}
	return nil
}

// sample reads every subtask's busy time and input rate (asking first, so
// the JobManager fetches, then again 2 s later) and the ground truth.
func (p *DisturbanceProbe) sample(ctx context.Context, c *flink.Client, v flink.JobVertex, start time.Time) (BusySample, error) {
	in := flink.MetricName(v.Name) + ".numRecordsInPerSecond"
	var ids []string
	for k := range v.Parallelism {
		ids = append(ids, strconv.Itoa(k)+".busyTimeMsPerSecond", strconv.Itoa(k)+"."+in)
	}
	if _, err := c.VertexMetrics(ctx, p.JobID, v.ID, ids...); err != nil {
		return BusySample{}, err
	}
	if err := p.Clock.Sleep(ctx, 2*time.Second); err != nil {
		return BusySample{}, err
	}
	got, err := c.VertexMetrics(ctx, p.JobID, v.ID, ids...)
	if err != nil {
		return BusySample{}, err
	}
	s := BusySample{At: round(p.Clock.Now().Sub(start).Seconds(), 1),
		Busy: make([]float64, v.Parallelism), RecordsIn: make([]float64, v.Parallelism)}
	for _, m := range got {
		f, ok := m.Float()
		for k := range v.Parallelism {
			switch {
			case !ok:
			case m.ID == strconv.Itoa(k)+".busyTimeMsPerSecond":
				s.Busy[k] = f
			case m.ID == strconv.Itoa(k)+"."+in:
				s.RecordsIn[k] = round(f, 2)
			}
		}
	}
	gt, err := p.Truth(ctx)
	if err != nil {
		return BusySample{}, err
	}
	for _, vt := range gt.Vertices {
		if vt.Name == v.Name {
			s.TrueMaxBusy, s.TrueRecordsIn = round(vt.MaxProcessingMsPerSecond, 1), round(vt.RecordsInPerSecond, 2)
		}
	}
	return s, nil
}

// checkpoints adds the completed checkpoints triggered after since that the
// history shows and seen does not hold yet.
func (p *DisturbanceProbe) checkpoints(ctx context.Context, c *flink.Client, since time.Time, seen map[int64]bool, ph *PhaseRecord) {
	cp, err := c.Checkpoints(ctx, p.JobID)
	if err != nil {
		return // a job without checkpoints: no durations
	}
	history := slices.Clone(cp.History)
	slices.SortFunc(history, func(a, b flink.Checkpoint) int { return int(a.ID - b.ID) })
	for _, h := range history {
		if h.Status != "COMPLETED" || seen[h.ID] || time.UnixMilli(h.TriggerTimestamp).Before(since) {
			continue
		}
		seen[h.ID] = true
		ph.CheckpointMs = append(ph.CheckpointMs, float64(h.EndToEndDuration))
	}
}

// DisturbanceFigures are the figures a DisturbanceRecord shows, in the
// units of the scenario fields they calibrate (docs/scenarios.md).
type DisturbanceFigures struct {
	// BusyOverhead is the reported busy time of the busiest subtask beyond
	// the time it spent processing records, as a fraction of the second,
	// half busy (cluster.busyOverhead).
	BusyOverhead float64 `json:"busyOverhead"`
	// BusyNoise is the standard deviation of each subtask's busy time
	// relative to the vertex's mean, half busy, its input spread out
	// (cluster.busyNoise).
	BusyNoise float64 `json:"busyNoise"`
	// CheckpointMs is the median end-to-end checkpoint duration half busy
	// (cluster.checkpointDuration), SaturatedCheckpointMs saturated, the
	// source back-pressured (checkpointDuration + checkpointAlignment), and
	// CheckpointBackpressure their ratio.
	CheckpointMs           float64 `json:"checkpointMs"`
	SaturatedCheckpointMs  float64 `json:"saturatedCheckpointMs"`
	CheckpointBackpressure float64 `json:"checkpointBackpressureFactor"`
	// CapacityShare is the saturated vertex's input rate over its
	// configured capacity: what the engine's per-record cost leaves.
	CapacityShare float64 `json:"capacityShare"`
}

// Figures derives the figures; capacity is the measured vertex's
// configured capacity per subtask (records/s).
func (r *DisturbanceRecord) Figures(capacity float64) (DisturbanceFigures, error) {
	if len(r.Phases) != disturbPhases {
		return DisturbanceFigures{}, fmt.Errorf("%d phases, want %d", len(r.Phases), disturbPhases)
	}
	half, sat := r.Phases[0], r.Phases[1]
	var f DisturbanceFigures
	var over, rel []float64
	for _, s := range half.Samples {
		if len(s.Busy) == 0 {
			continue
		}
		over = append(over, (slices.Max(s.Busy)-s.TrueMaxBusy)/1000)
		mean := 0.0
		for _, b := range s.Busy {
			mean += b / float64(len(s.Busy))
		}
		for _, b := range s.Busy {
			if mean > 0 {
				rel = append(rel, b/mean-1)
			}
		}
	}
	if len(over) == 0 {
		return f, fmt.Errorf("no half-busy samples")
	}
	f.BusyOverhead = round(mean(over), 3)
	f.BusyNoise = round(stddev(rel), 3)
	f.CheckpointMs, f.SaturatedCheckpointMs = median(half.CheckpointMs), median(sat.CheckpointMs)
	if f.CheckpointMs > 0 {
		f.CheckpointBackpressure = round(f.SaturatedCheckpointMs/f.CheckpointMs, 1)
	}
	var in []float64
	for _, s := range sat.Samples {
		sum := 0.0
		for _, x := range s.RecordsIn {
			sum += x
		}
		if len(s.RecordsIn) > 0 {
			in = append(in, sum/float64(len(s.RecordsIn)))
		}
	}
	if len(in) > 0 && capacity > 0 {
		f.CapacityShare = round(mean(in)/capacity, 3)
	}
	return f, nil
}

func mean(xs []float64) float64 {
	s := 0.0
	for _, x := range xs {
		s += x
	}
	return s / float64(len(xs))
}

func stddev(xs []float64) float64 {
	if len(xs) < 2 {
		return 0
	}
	m := mean(xs)
	s := 0.0
	for _, x := range xs {
		s += (x - m) * (x - m)
	}
	return math.Sqrt(s / float64(len(xs)-1))
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	s := slices.Sorted(slices.Values(xs))
	if n := len(s); n%2 == 1 {
		return s[n/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}
