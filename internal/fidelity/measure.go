// Package fidelity measures how a Flink JobManager (the emulator or a real
// Flink in the sandbox) behaves through its REST API, figure by figure:
// busy, idle and back-pressured time, record rates and their 60 s meter
// ramp after a restart, pendingRecords, TaskManager registration, the time
// from a resource-requirements PUT to RUNNING at the new parallelism, the
// downtime of that rescale and the first checkpoint after it. The same
// probe runs against both, so docs/FIDELITY.md compares like with like and
// a test keeps the emulator close to recorded real behaviour.
package fidelity

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"strings"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/clock"
	"github.com/flinkscaler/flinkscaler/internal/flink"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
)

// Vertex is one vertex's figures at steady state, read from the REST API.
type Vertex struct {
	Name string `json:"name"`
	// MaxBusy is the busiest subtask's busyTimeMsPerSecond.
	MaxBusy float64 `json:"maxBusyMsPerSecond"`
	// AvgIdle and AvgBackPressured are averages over subtasks, ms/s.
	AvgIdle          float64 `json:"avgIdleMsPerSecond"`
	AvgBackPressured float64 `json:"avgBackPressuredMsPerSecond"`
	// RecordsIn is the sum over subtasks of the operator's
	// numRecordsInPerSecond (a source's records read), records/s.
	RecordsIn float64 `json:"recordsInPerSecond"`
	// Pending is the sum of pendingRecords (sources), records.
	Pending float64 `json:"pendingRecords,omitempty"`
}

// Record is one probe run.
type Record struct {
	Engine   string `json:"engine"` // "emulator" or "flink <version>"
	Scenario string `json:"scenario"`
	// Steady is every vertex after SteadyAfter of constant load.
	SteadyAfter float64  `json:"steadyAfterSeconds"`
	Steady      []Vertex `json:"steady"`
	// PendingGrowth is pendingRecords' growth per second at steady state
	// (a saturated job's backlog grows by offered − capacity).
	PendingGrowth float64 `json:"pendingGrowthPerSecond"`
	// TaskManagerRegistration is from the control PUT adding one
	// TaskManager to /overview counting it, minus the scenario's start-up.
	TaskManagerRegistration float64 `json:"taskManagerRegistrationSeconds"`
	// PutToRunning is from the resource-requirements PUT to the job RUNNING
	// with every vertex RUNNING at the new parallelism.
	PutToRunning float64 `json:"putToRunningSeconds"`
	// Downtime is the time the job was not RUNNING during that rescale.
	Downtime float64 `json:"downtimeSeconds"`
	// RunningTimestampMoved is whether timestamps.RUNNING moved on the
	// rescale (autoscalers use it to tell a new execution graph).
	RunningTimestampMoved bool `json:"runningTimestampMoved"`
	// FirstCheckpoint is from RUNNING at the new parallelism to the first
	// completed checkpoint triggered after it.
	FirstCheckpoint float64 `json:"firstCheckpointSeconds"`
	// Ramp is the rescaled vertex's numRecordsInPerSecond (sum) at
	// RampAt seconds after RUNNING, as a fraction of its rate read then
	// from the ground truth: the 60 s meters restart from zero.
	RampAt []float64 `json:"rampAtSeconds"`
	Ramp   []float64 `json:"ramp"`
	// RampBusy is the rescaled vertex's busiest subtask's
	// busyTimeMsPerSecond at the same times.
	RampBusy []float64 `json:"rampBusyMsPerSecond"`
	// PartialAnswer is whether a subtask-metrics query naming a metric
	// that does not exist still returns the ones that do.
	PartialAnswer bool `json:"partialAnswer"`
}

// Probe runs the measurement against a JobManager at URL serving the
// control endpoints (emulator or sandbox) running sc's job.
type Probe struct {
	URL   string
	JobID string
	Sc    *flinksim.Scenario
	Clock clock.Clock
	// Truth reads the engine's ground truth.
	Truth func(ctx context.Context) (flinksim.GroundTruth, error)
	// Rescale names the vertex whose upper bound the probe raises by one.
	Rescale string
}

const (
	steadyAfter = 75 * time.Second
	poll        = 100 * time.Millisecond
)

var rampAt = []float64{5, 15, 30, 45, 60, 75}

// Run measures. It takes a little over four minutes of the clock.
func (p *Probe) Run(ctx context.Context, engine string) (*Record, error) {
	c, err := flink.New(p.URL, flink.Options{})
	if err != nil {
		return nil, err
	}
	rec := &Record{Engine: engine, Scenario: p.Sc.Name, SteadyAfter: steadyAfter.Seconds(), RampAt: rampAt}
	if err := p.Clock.Sleep(ctx, steadyAfter); err != nil {
		return nil, err
	}
	details, err := c.JobDetails(ctx, p.JobID)
	if err != nil {
		return nil, err
	}
	pending0, err := p.steady(ctx, c, details, rec)
	if err != nil {
		return nil, err
	}
	for _, v := range rec.Steady {
		if v.RecordsIn == 0 {
			return nil, fmt.Errorf("%s reads no records after %s: the job restarted or stalled (see its exceptions); measure again", v.Name, steadyAfter)
		}
	}
	// pendingRecords reaches the REST API every few seconds: take its
	// growth over 20 s.
	if err := p.Clock.Sleep(ctx, 20*time.Second); err != nil {
		return nil, err
	}
	var again Record
	pending1, err := p.steady(ctx, c, details, &again)
	if err != nil {
		return nil, err
	}
	rec.PendingGrowth = round((pending1-pending0)/20, 1)
	partial, err := c.AggregatedSubtaskMetrics(ctx, p.JobID, details.Vertices[0].ID, []string{"busyTimeMsPerSecond", "noSuchMetric"}, flink.AggMax)
	if err != nil {
		return nil, err
	}
	rec.PartialAnswer = len(partial) == 1

	if err := p.registration(ctx, c, rec); err != nil {
		return nil, err
	}
	if err := p.rescale(ctx, c, details, rec); err != nil {
		return nil, err
	}
	return rec, nil
}

// warm asks for every vertex's metrics, so the JobManager fetches them:
// its fetch is asynchronous, the request that triggers it is answered from
// the previous one. A poller (ingest, every 10 s) keeps it warm the same way.
func (p *Probe) warm(ctx context.Context, c *flink.Client, details flink.JobDetails) error {
	for _, v := range details.Vertices {
		if _, err := c.AggregatedSubtaskMetrics(ctx, p.JobID, v.ID, []string{"busyTimeMsPerSecond"}, flink.AggMax); err != nil {
			return err
		}
	}
	return p.Clock.Sleep(ctx, 2*time.Second)
}

func (p *Probe) steady(ctx context.Context, c *flink.Client, details flink.JobDetails, rec *Record) (float64, error) {
	if err := p.warm(ctx, c, details); err != nil {
		return 0, err
	}
	pending := 0.0
	for _, v := range details.Vertices {
		op := flink.MetricName(v.Name)
		// Flink answers nothing when one id is unknown: ask a source only for
		// pendingRecords.
		ids := []string{"busyTimeMsPerSecond", "idleTimeMsPerSecond", "backPressuredTimeMsPerSecond", op + ".numRecordsInPerSecond"}
		if isSource(details, v.ID) {
			ids = append(ids, op+".pendingRecords")
		}
		got, err := c.AggregatedSubtaskMetrics(ctx, p.JobID, v.ID, ids, flink.AggMax, flink.AggAvg, flink.AggSum)
		if err != nil {
			return 0, fmt.Errorf("metrics of %s: %w", v.Name, err)
		}
		fv := Vertex{Name: v.Name}
		for _, m := range got {
			switch {
			case m.ID == "busyTimeMsPerSecond":
				fv.MaxBusy = val(m.Max)
			case m.ID == "idleTimeMsPerSecond":
				fv.AvgIdle = val(m.Avg)
			case m.ID == "backPressuredTimeMsPerSecond":
				fv.AvgBackPressured = val(m.Avg)
			case strings.HasSuffix(m.ID, ".numRecordsInPerSecond"):
				fv.RecordsIn = val(m.Sum)
			case strings.HasSuffix(m.ID, ".pendingRecords"):
				fv.Pending = val(m.Sum)
				pending += fv.Pending
			}
		}
		rec.Steady = append(rec.Steady, fv)
	}
	return pending, nil
}

func (p *Probe) registration(ctx context.Context, c *flink.Client, rec *Record) error {
	ov, err := c.Overview(ctx)
	if err != nil {
		return err
	}
	start := p.Clock.Now()
	if err := p.setTaskManagers(ctx, ov.TaskManagers+1); err != nil {
		return err
	}
	for {
		if err := p.Clock.Sleep(ctx, poll); err != nil {
			return err
		}
		now, err := c.Overview(ctx)
		if err == nil && now.TaskManagers > ov.TaskManagers {
			rec.TaskManagerRegistration = p.Clock.Now().Sub(start).Seconds() - p.Sc.Cluster.TaskManagerStartup.Seconds()
			return nil
		}
		if p.Clock.Now().Sub(start) > 2*time.Minute {
			return fmt.Errorf("the added TaskManager did not register within 2 minutes")
		}
	}
}

func (p *Probe) setTaskManagers(ctx context.Context, n int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodPut, p.URL+flinksim.ControlPrefix+"taskmanagers", bytes.NewBufferString(fmt.Sprintf(`{"replicas":%d}`, n)))
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("PUT taskmanagers: %s: %s", resp.Status, body)
	}
	return nil
}

func (p *Probe) rescale(ctx context.Context, c *flink.Client, details flink.JobDetails, rec *Record) error {
	req, err := c.GetResourceRequirements(ctx, p.JobID)
	if err != nil {
		return err
	}
	var target flink.JobVertex
	for _, v := range details.Vertices {
		if v.Name == p.Rescale {
			target = v
		}
	}
	if target.ID == "" {
		return fmt.Errorf("no vertex %q", p.Rescale)
	}
	want := target.Parallelism + 1
	req[target.ID] = flink.Bounds{Lower: 1, Upper: want}
	runningBefore, _ := details.RunningSince()
	start := p.Clock.Now()
	if err := c.PutResourceRequirements(ctx, p.JobID, req); err != nil {
		return err
	}
	var down time.Duration
	var running time.Time
	for running.IsZero() {
		if err := p.Clock.Sleep(ctx, poll); err != nil {
			return err
		}
		d, err := c.JobDetails(ctx, p.JobID)
		if err != nil {
			continue
		}
		if d.State != flink.StateRunning {
			down += poll
		}
		if d.State == flink.StateRunning && d.StatusCounts[flink.StateRunning] == len(d.Vertices) && parallelismOf(d, target.ID) == want {
			running = p.Clock.Now()
			since, _ := d.RunningSince()
			rec.RunningTimestampMoved = since.After(runningBefore)
		}
		if p.Clock.Now().Sub(start) > 3*time.Minute {
			return fmt.Errorf("not RUNNING at %s=%d within 3 minutes of the PUT", p.Rescale, want)
		}
	}
	rec.PutToRunning = running.Sub(start).Seconds()
	rec.Downtime = down.Seconds()

	name := flink.MetricName(target.Name) + ".numRecordsInPerSecond"
	next := 0
	lastWarm := time.Time{}
	for next < len(rampAt) || rec.FirstCheckpoint == 0 {
		if err := p.Clock.Sleep(ctx, poll); err != nil {
			return err
		}
		since := p.Clock.Now().Sub(running).Seconds()
		if p.Clock.Now().Sub(lastWarm) >= time.Second {
			lastWarm = p.Clock.Now()
			if _, err := c.AggregatedSubtaskMetrics(ctx, p.JobID, target.ID, []string{name}, flink.AggSum); err != nil {
				return err
			}
		}
		if rec.FirstCheckpoint == 0 {
			if cp, err := c.Checkpoints(ctx, p.JobID); err == nil && cp.Latest.Completed != nil &&
				time.UnixMilli(cp.Latest.Completed.TriggerTimestamp).After(running.Add(-time.Second)) {
				rec.FirstCheckpoint = since
			}
		}
		if next < len(rampAt) && since >= rampAt[next] {
			got, err := c.AggregatedSubtaskMetrics(ctx, p.JobID, target.ID, []string{name, "busyTimeMsPerSecond"}, flink.AggSum, flink.AggMax)
			gt, terr := p.Truth(ctx)
			if err != nil || terr != nil || len(got) == 0 {
				return fmt.Errorf("ramp at %gs: %v %v", rampAt[next], err, terr)
			}
			actual := 0.0
			for _, v := range gt.Vertices {
				if v.Name == p.Rescale {
					actual = v.RecordsInPerSecond
				}
			}
			frac, busy := 0.0, 0.0
			for _, m := range got {
				switch {
				case m.ID == name && actual > 0:
					frac = val(m.Sum) / actual
				case m.ID == "busyTimeMsPerSecond":
					busy = val(m.Max)
				}
			}
			rec.RampBusy = append(rec.RampBusy, busy)
			rec.Ramp = append(rec.Ramp, round(frac, 3))
			next++
		}
		if since > 150 {
			return fmt.Errorf("no checkpoint completed within 150 s of RUNNING")
		}
	}
	return nil
}

func val(f *flink.Float) float64 {
	if f == nil {
		return 0
	}
	return float64(*f)
}

func isSource(d flink.JobDetails, id string) bool {
	for _, n := range d.Plan.Nodes {
		if n.ID == id {
			return len(n.Inputs) == 0
		}
	}
	return false
}

func parallelismOf(d flink.JobDetails, id string) int {
	for _, v := range d.Vertices {
		if v.ID == id {
			return v.Parallelism
		}
	}
	return 0
}

func round(x float64, digits int) float64 {
	p := math.Pow(10, float64(digits))
	return math.Round(x*p) / p
}
