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
				DurationSeconds: 300, Rescales: 1, ParallelismChanges: 1, RescalesPerLoadChange: 1,
				LoadChanges: 1, ConvergeSeconds: 100, ConvergeMaxSeconds: 100,
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
	require.Equal(t, 1, e.Flaps, "undone on the same load")
	require.Equal(t, 90.0, e.LagBackMaxSeconds)
	require.Zero(t, e.SlowRecoveries)
	// 100 of the steady part's 1,171 s at 2 s lag: more than 1 %.
	require.Equal(t, 2.0, e.SteadyLagP99Seconds)
	// Steady: from 5 min after the start to the restart, and from 5 min
	// after the restart ended to the end.
	require.Equal(t, float64((599-301+1)+(1800-929+1)), e.SteadySeconds)
	require.InDelta(t, 200/e.SteadySeconds, e.SteadyLagSeconds, 1e-12)
	sum := rec.Summary()
	require.Equal(t, 2, sum.ParallelismChanges, "3 → 4 after the restart, 4 → 3 at 900 s")
	require.Equal(t, 2.0, sum.RescalesPerLoadChange, "one load change: the start")
}

// TestSteadyLagP99: lag 8 s for 20 s in the steady part and 40 s for the
// 100 s after the load doubles: the steady p99 sees only the first, the
// run's p99 the second; one rescale for the run's two load changes.
func TestSteadyLagP99(t *testing.T) {
	rec := scorecard.New(scenario(t))
	for i := 1; i <= 1800; i++ {
		gt := truth(i, 3, 3, 0, 0)
		switch {
		case i >= 400 && i < 420:
			gt.LagSeconds = 8
		case i >= 900 && i < 1000:
			gt.LagSeconds = 40
		}
		if i >= 900 {
			gt.OfferedRate, gt.Vertices[0].Parallelism, gt.TaskManagers, gt.Restarts = 50000, 5, 5, 1
		}
		rec.Observe(gt)
	}
	sum := rec.Summary()
	require.Equal(t, 2, sum.LoadChanges)
	require.Equal(t, 1, sum.ParallelismChanges)
	require.Equal(t, 0.5, sum.RescalesPerLoadChange)
	require.Equal(t, 40.0, sum.LagP99Seconds)
	require.Equal(t, 8.0, sum.SteadyLagP99Seconds)
	require.Less(t, sum.SteadyLagSeconds, 0.2, "the mean hides the 8 s")
}

// TestLagBackThroughRestarts: a restart at 100 s whose lag another restart
// at 200 s prolongs, both back at 350 s; a third at 500 s not back when the
// run ends at 600 s. The first took 250 s (slow), the second 150 s, the
// third at least 100 s (not known to be slow). Recovery, cut at the next
// restart, counts the first as 100 s and unrecovered. No parallelism
// changed: none of the restarts is a rescale.
func TestLagBackThroughRestarts(t *testing.T) {
	rec := scorecard.New(scenario(t))
	for i := 1; i <= 600; i++ {
		gt := truth(i, 3, 3, 0, 0)
		switch {
		case i >= 500:
			gt.Restarts, gt.LagSeconds = 3, 5
		case i >= 350:
			gt.Restarts = 2
		case i >= 200:
			gt.Restarts, gt.LagSeconds = 2, 5
		case i >= 100:
			gt.Restarts, gt.LagSeconds = 1, 5
		}
		if i == 100 || i == 200 || i == 500 {
			gt.State = flinksim.StateRestarting
		}
		rec.Observe(gt)
	}
	sum := rec.Summary()
	require.Equal(t, 3, sum.Rescales)
	require.Zero(t, sum.ParallelismChanges)
	require.Equal(t, 250.0, sum.LagBackMaxSeconds)
	require.Equal(t, 1, sum.SlowRecoveries)
	require.Equal(t, 150.0, sum.RecoveryMaxSeconds)
	require.Equal(t, 2, sum.Unrecovered)
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

// A spike followed up and back down is an oscillation (a move undone within
// 15 min) but not a flap (the load changed in between); a move undone on
// the same load is both.
func TestFlaps(t *testing.T) {
	run := func(rate func(sec int) float64, p func(sec int) int) scorecard.Experience {
		rec := scorecard.New(scenario(t))
		for i := 1; i <= 1800; i++ {
			gt := truth(i, p(i), p(i), 0, 0)
			gt.OfferedRate = rate(i)
			rec.Observe(gt)
		}
		return rec.Summary().Experience
	}
	spike := func(sec int) float64 {
		if sec >= 300 && sec < 540 {
			return 50000
		}
		return 25000
	}
	followed := func(sec int) int {
		if sec >= 360 && sec < 600 {
			return 5
		}
		return 3
	}
	e := run(spike, followed)
	require.Equal(t, 1, e.Oscillations)
	require.Zero(t, e.Flaps, "the load changed between the moves")

	flat := func(int) float64 { return 25000 }
	e = run(flat, followed)
	require.Equal(t, 1, e.Oscillations)
	require.Equal(t, 1, e.Flaps)

	// a step made and undone within the spike (5→6 at 360 s, 6→5 at 420 s)
	// is a flap; the spike's own down move (5→3) follows a down move
	within := func(sec int) int {
		if sec >= 360 && sec < 420 {
			return 6
		}
		if sec >= 300 && sec < 540 {
			return 5
		}
		return 3
	}
	e = run(spike, within)
	require.Equal(t, 1, e.Oscillations)
	require.Equal(t, 1, e.Flaps)
}

// A flap is counted whoever moved the job; it is decided only when a
// decision caused both moves. Flink's own move to the slots left after a
// lost TaskManager and back when the replacement registers (3→2→3, no
// decision) is a flap and not a decided one; a decision up (3→5) undone by
// a decision down (5→3) on the same load is both. A move toward a
// decision's target it has not reached is the decision's: a failover's
// move away from it (5→4) is not, and the move back (4→5) does not make a
// decided pair with it.
func TestDecidedFlaps(t *testing.T) {
	run := func(p func(sec int) int, decisions map[int]int) scorecard.Experience {
		rec := scorecard.New(scenario(t))
		start := time.Date(2024, 1, 1, 0, 0, 0, 0, time.UTC)
		for i := 1; i <= 1800; i++ {
			if target, ok := decisions[i]; ok {
				rec.Decision(start.Add(time.Duration(i)*time.Second), events.Decision{
					Vertices: []events.VertexDecision{{ID: "v0", Name: "Source: s", Target: target}},
				})
			}
			rec.Observe(truth(i, p(i), p(i), 0, 0))
		}
		return rec.Summary().Experience
	}
	between := func(from, to, in, out int) func(int) int {
		return func(sec int) int {
			if sec >= from && sec < to {
				return in
			}
			return out
		}
	}
	e := run(between(600, 700, 2, 3), nil)
	require.Equal(t, 1, e.Flaps, "Flink's own move and back is a flap")
	require.Zero(t, e.DecidedFlaps, "no decision caused it")
	require.Zero(t, e.DecidedOscillations)

	e = run(between(400, 900, 5, 3), map[int]int{380: 5, 880: 3})
	require.Equal(t, 1, e.Flaps)
	require.Equal(t, 1, e.DecidedFlaps, "both moves decided")
	require.Equal(t, 1, e.DecidedOscillations)

	// decided up to 5 at 400 s; a failover runs it at 4 (1000–1100 s) and
	// back: 3→5 undone by 5→4, and 5→4 by 4→5, are flaps, neither decided
	failover := func(sec int) int {
		switch {
		case sec >= 1000 && sec < 1100:
			return 4
		case sec >= 400:
			return 5
		}
		return 3
	}
	e = run(failover, map[int]int{380: 5})
	require.Equal(t, 2, e.Flaps)
	require.Zero(t, e.DecidedFlaps)
}

// A load change is a move of the oracle's cost by at least the step the
// job pays in: one TaskManager's slots, or one slot in session mode, where
// the job pays for the slots its parallelism needs. On 4-slot
// TaskManagers, a load rising from 25k to 35k rec/s and back (the oracle 3
// → 4 → 3 subtasks) is no load change for a job that pays whole
// TaskManagers, so following it is a flap; in a session cluster it is two
// changes, and following it is not (video-qoe-session-120-windows: a
// 60-minute cycle followed a few slots at a time counted 5–9 flaps a run).
func TestSessionLoadChangesAreSlots(t *testing.T) {
	run := func(scaling string) scorecard.Summary {
		sc := scenario(t)
		sc.Cluster.Scaling, sc.Cluster.SlotsPerTaskManager = scaling, 4
		rec := scorecard.New(sc)
		for i := 1; i <= 1800; i++ {
			rate, p := 25000.0, 3
			if i >= 300 && i < 900 {
				rate = 35000
			}
			if i >= 360 && i < 960 {
				p = 4
			}
			gt := truth(i, p, 1, 0, 0)
			gt.OfferedRate = rate
			rec.Observe(gt)
		}
		return rec.Summary()
	}
	adaptive := run(flinksim.ScalingAdaptive)
	require.Equal(t, 1, adaptive.LoadChanges, "the start only: 1 slot < one TaskManager's 4")
	require.Equal(t, 1, adaptive.Experience.Flaps)

	session := run(flinksim.ScalingSession)
	require.Equal(t, 3, session.LoadChanges, "the start, the rise and the fall")
	require.Zero(t, session.Experience.Flaps, "the load changed between the moves")
	require.Equal(t, 1, session.Experience.Oscillations)
}
