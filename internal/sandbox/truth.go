package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/flinksim"
)

// truthWire is the control endpoint's ground truth as JSON (the emulator's
// shape; lag +Inf as "Infinity").
type truthWire struct {
	Time                   time.Time       `json:"time"`
	ElapsedSeconds         float64         `json:"elapsedSeconds"`
	State                  string          `json:"state"`
	OfferedRate            float64         `json:"offeredRate"`
	TaskManagers           int             `json:"taskManagers"`
	RegisteredTaskManagers int             `json:"registeredTaskManagers"`
	IdleTaskManagers       int             `json:"idleTaskManagers"`
	SlotsTotal             int             `json:"slotsTotal"`
	SlotsInUse             int             `json:"slotsInUse"`
	Backlog                float64         `json:"backlog"`
	LagSeconds             json.RawMessage `json:"lagSeconds"`
	Restarts               int             `json:"restarts"`
	DowntimeSeconds        float64         `json:"downtimeSeconds"`
	Vertices               []struct {
		ID                  string          `json:"id"`
		Name                string          `json:"name"`
		Parallelism         int             `json:"parallelism"`
		Requirement         flinksim.Bounds `json:"requirement"`
		Capacity            float64         `json:"capacity"`
		RecordsInPerSecond  float64         `json:"recordsInPerSecond"`
		RecordsOutPerSecond float64         `json:"recordsOutPerSecond"`
		Saturated           bool            `json:"saturated"`
		BackPressured       bool            `json:"backPressured"`
		MaxBusyMsPerSecond  float64         `json:"maxBusyMsPerSecond"`
		Backlog             float64         `json:"backlog"`
	} `json:"vertices"`
}

// GroundTruth reads the sandbox's ground truth: offered rate, backlog and
// lag exactly as the job's source sees them, TaskManagers and per-vertex
// parallelism, rates and busy time measured inside the job (sandbox
// records; see Scale).
func (s *Sandbox) GroundTruth(ctx context.Context) (flinksim.GroundTruth, error) {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	var w truthWire
	if err := getJSON(ctx, http.DefaultClient, s.url+flinksim.ControlPrefix+"groundtruth", &w); err != nil {
		return flinksim.GroundTruth{}, fmt.Errorf("sandbox: ground truth: %w", err)
	}
	gt := flinksim.GroundTruth{
		Time: w.Time, Elapsed: time.Duration(w.ElapsedSeconds * float64(time.Second)), State: w.State,
		OfferedRate: w.OfferedRate, TaskManagers: w.TaskManagers, RegisteredTaskManagers: w.RegisteredTaskManagers,
		IdleTaskManagers: w.IdleTaskManagers,
		SlotsTotal:       w.SlotsTotal, SlotsInUse: w.SlotsInUse, Backlog: w.Backlog, Restarts: w.Restarts,
		Downtime: time.Duration(w.DowntimeSeconds * float64(time.Second)),
	}
	if err := json.Unmarshal(w.LagSeconds, &gt.LagSeconds); err != nil {
		gt.LagSeconds = math.Inf(1) // "Infinity": a backlog and no offered load
	}
	for _, v := range w.Vertices {
		gt.Vertices = append(gt.Vertices, flinksim.VertexTruth{
			ID: v.ID, Name: v.Name, Parallelism: v.Parallelism, Requirement: v.Requirement,
			Capacity: v.Capacity, RecordsInPerSecond: v.RecordsInPerSecond, RecordsOutPerSecond: v.RecordsOutPerSecond,
			Saturated: v.Saturated, BackPressured: v.BackPressured, MaxBusyMsPerSecond: v.MaxBusyMsPerSecond,
			MaxProcessingMsPerSecond: v.MaxBusyMsPerSecond, // measured inside the job: time in the per-record cost
			Backlog:                  v.Backlog,
		})
	}
	return gt, nil
}

// ScenarioTruth is GroundTruth with rates, capacities and backlogs in the
// scenario's records (multiplied by Scale), as the emulator reports them
// and the scorecard's oracle expects.
func (s *Sandbox) ScenarioTruth(ctx context.Context) (flinksim.GroundTruth, error) {
	gt, err := s.GroundTruth(ctx)
	if err != nil {
		return gt, err
	}
	k := s.scale
	gt.OfferedRate *= k
	gt.Backlog *= k
	gt.Offered, gt.Replayed, gt.Consumed = gt.Offered*k, gt.Replayed*k, gt.Consumed*k
	for i := range gt.Vertices {
		v := &gt.Vertices[i]
		v.Capacity *= k
		v.RecordsInPerSecond *= k
		v.RecordsOutPerSecond *= k
		v.Backlog *= k
	}
	return gt, nil
}
