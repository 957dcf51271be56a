package scorecard_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
	"github.com/flinkscaler/flinkscaler/internal/scorecard"
)

// oneVertex: a source of 10,000 rec/s per subtask, linear, 1 slot per TM;
// at 25,000 rec/s the oracle needs 3 subtasks.
const oneVertex = `
name: one
duration: 10m
seed: 1
cluster:
  scaling: adaptive
  slotsPerTaskManager: 1
  slotSharing: shared
  initialTaskManagers: 1
  maxTaskManagers: 8
  taskManagerStartup: 0s
  restart: 0s
  checkpointInterval: 60s
job:
  name: one
  vertices:
    - name: "Source: s"
      parallelism: 1
      maxParallelism: 128
      capacity: 10000
load:
  pattern: constant
  rate: 25000
slo:
  maxLagSeconds: 10
`

func scenario(t *testing.T) *flinksim.Scenario {
	t.Helper()
	sc, err := flinksim.ParseScenario([]byte(oneVertex), ".")
	require.NoError(t, err)
	return sc
}

// truth is a synthetic instant: parallelism p with tms TaskManagers.
func truth(sec, p, tms int, lag float64, restarts int) flinksim.GroundTruth {
	start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
	return flinksim.GroundTruth{
		Time: start.Add(time.Duration(sec) * time.Second), Elapsed: time.Duration(sec) * time.Second,
		State: flinksim.StateRunning, OfferedRate: 25000, TaskManagers: tms,
		LagSeconds: lag, Restarts: restarts,
		Vertices: []flinksim.VertexTruth{{ID: "v0", Name: "Source: s", Parallelism: p}},
	}
}

func TestSummary(t *testing.T) {
	tests := []struct {
		name string
		run  func(i int) flinksim.GroundTruth // i = 1..300
		want scorecard.Summary
	}{
		{
			name: "optimal from the start",
			run:  func(i int) flinksim.GroundTruth { return truth(i, 3, 3, 0, 0) },
			want: scorecard.Summary{
				DurationSeconds: 300, LoadChanges: 1, SlotSeconds: 900, OracleSlotSeconds: 900, CostVsOracle: 1,
				Oracle15SlotSeconds: 900, CostVsOracle15: 1, Experience: scorecard.Experience{HeadroomP5: 1},
			},
		},
		{
			name: "under-provisioned for 100 s, lag over the SLO for 50 s, then one rescale",
			run: func(i int) flinksim.GroundTruth {
				switch {
				case i <= 50:
					return truth(i, 1, 1, 5, 0)
				case i <= 100:
					return truth(i, 1, 1, 20, 0)
				default:
					return truth(i, 4, 4, 0, 1)
				}
			},
			want: scorecard.Summary{
				DurationSeconds: 300, Rescales: 1, LoadChanges: 1, ConvergeSeconds: 100, ConvergeMaxSeconds: 100,
				SLOViolationSeconds: 50, MaxLagSeconds: 20,
				SlotSeconds: 100 + 800, OracleSlotSeconds: 900, CostVsOracle: 1,
				Oracle15SlotSeconds: 900, CostVsOracle15: 1,
				Experience: scorecard.Experience{
					LagP95Seconds: 20, LagP99Seconds: 20, LatencyP99Seconds: 20, LagIntegral: 50*5 + 50*20, HeadroomP5: 1,
				},
			},
		},
		{
			name: "twice the oracle never converges",
			run:  func(i int) flinksim.GroundTruth { return truth(i, 6, 6, 0, 0) },
			want: scorecard.Summary{
				DurationSeconds: 300, LoadChanges: 1, ConvergeSeconds: 300, ConvergeMaxSeconds: 300, Unconverged: 1,
				SlotSeconds: 1800, OracleSlotSeconds: 900, CostVsOracle: 2,
				Oracle15SlotSeconds: 900, CostVsOracle15: 2, Experience: scorecard.Experience{HeadroomP5: 1},
			},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			rec := scorecard.New(scenario(t))
			for i := 1; i <= 300; i++ {
				rec.Observe(tc.run(i))
			}
			require.Equal(t, tc.want, rec.Summary())
		})
	}
}

func TestRecorderAgainstEmulator(t *testing.T) {
	sc := scenario(t)
	c := flinksim.New(sc, flinksim.Options{})
	rec := scorecard.New(sc)
	for range 120 {
		c.Step()
		rec.Observe(c.GroundTruth())
	}
	require.NoError(t, c.PutRequirements(map[string]flinksim.Bounds{c.VertexIDs()[0]: {Lower: 3, Upper: 3}}))
	c.SetTaskManagers(3)
	rec.Decision(c.Now(), events.Decision{
		Policy:       "test",
		Vertices:     []events.VertexDecision{{ID: c.VertexIDs()[0], Current: 1, Target: 3}},
		TaskManagers: events.Count{Current: 1, Target: 3},
	})
	for range 480 {
		c.Step()
		rec.Observe(c.GroundTruth())
	}
	sum := rec.Summary()
	require.Equal(t, 600.0, sum.DurationSeconds)
	require.Equal(t, 1, sum.Decisions)
	require.Equal(t, 1, sum.Rescales)
	require.Greater(t, sum.SLOViolationSeconds, 0.0)
	require.Equal(t, 3*600.0, sum.OracleSlotSeconds)
	require.Equal(t, rec.OracleSummary().SlotSeconds, sum.OracleSlotSeconds)

	series := rec.Series()
	require.Len(t, series.Samples, 600)
	require.Equal(t, []string{"Source: s"}, series.Vertices)
	require.Equal(t, []int{3}, series.Decisions[0].Targets)
	require.Equal(t, 120*time.Second, series.Decisions[0].Elapsed)
	require.Equal(t, []int{3}, series.Samples[599].Parallelism)
}

// TestExperience: a 30-minute run with one restart (lag 10 s for 90 s),
// a move undone 270 s later, 100 s of the busiest subtask at 95 % and
// 100 s of 2 s lag in the steady part.
func TestExperience(t *testing.T) {
	rec := scorecard.New(scenario(t))
	for i := 1; i <= 1800; i++ {
		gt := truth(i, 3, 3, 0, 0)
		gt.Vertices[0].MaxBusyMsPerSecond = 500
		if i >= 600 {
			gt.Restarts = 1
		}
		switch {
		case i >= 600 && i < 630:
			gt.State, gt.LagSeconds, gt.Vertices[0].MaxBusyMsPerSecond = flinksim.StateRestarting, 10, 0
		case i >= 630 && i < 690:
			gt.LagSeconds, gt.Vertices[0].Parallelism = 10, 4
		case i >= 690 && i < 900:
			gt.Vertices[0].Parallelism = 4
		case i >= 1000 && i < 1100:
			gt.Vertices[0].MaxBusyMsPerSecond = 950
		case i >= 1500 && i < 1600:
			gt.LagSeconds = 2
		}
		rec.Observe(gt)
	}
	e := rec.Summary().Experience
	require.Equal(t, 0.0, e.LagP50Seconds)
	require.Equal(t, 2.0, e.LagP95Seconds)
	require.Equal(t, 10.0, e.LagP99Seconds)
	require.Equal(t, 10.0, e.LatencyP99Seconds)
	require.Equal(t, 90*10.0+100*2, e.LagIntegral)
	require.Equal(t, 90.0, e.RecoverySeconds)
	require.Equal(t, 90.0, e.RecoveryMaxSeconds)
	require.Zero(t, e.Unrecovered)
	require.Equal(t, 100.0, e.BusyHighSeconds)
	require.InDelta(t, 0.05, e.HeadroomP5, 1e-9)
	require.Equal(t, 1, e.Oscillations)
	// Steady: from 5 min after the start to the restart, and from 5 min
	// after the restart ended to the end.
	require.Equal(t, float64((599-301+1)+(1800-929+1)), e.SteadySeconds)
	require.InDelta(t, 200/e.SteadySeconds, e.SteadyLagSeconds, 1e-12)
}

func TestRecoveryUnrecovered(t *testing.T) {
	rec := scorecard.New(scenario(t))
	for i := 1; i <= 300; i++ {
		restarts, lag := 0, 0.0
		if i >= 100 {
			restarts, lag = 1, 5
		}
		if i >= 200 {
			restarts = 2
		}
		rec.Observe(truth(i, 3, 3, lag, restarts))
	}
	e := rec.Summary().Experience
	require.Equal(t, 2, e.Unrecovered)
	require.Equal(t, 100.0, e.RecoveryMaxSeconds)
	require.Equal(t, (100.0+100)/2, e.RecoverySeconds)
}
