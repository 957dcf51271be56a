package flinksim

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// pipeline is a three-vertex job: a source (capacity 10,000/s per subtask),
// a map (1,000/s per subtask, selectivity 2) and a keyed sink
// (5,000/s per subtask), at a constant offered rate.
func pipeline(t *testing.T, rate float64, extra string) *Scenario {
	t.Helper()
	sc, err := ParseScenario([]byte(pipelineDoc(rate, extra)), ".")
	require.NoError(t, err)
	return sc
}

func pipelineDoc(rate float64, extra string) string {
	return fmt.Sprintf(`
name: pipeline
duration: 1h
seed: 1
cluster:
  slotsPerTaskManager: 1
  initialTaskManagers: 2
  maxTaskManagers: 8
  taskManagerStartup: 20s
  restart: 30s
  checkpointInterval: 60s
%s
job:
  name: pipeline
  vertices:
    - {name: "Source: in", parallelism: 1, maxParallelism: 128, capacity: 10000, partitions: 8}
    - {name: map, inputs: ["Source: in"], parallelism: 2, maxParallelism: 128, capacity: 1000, selectivity: 2}
    - {name: "Sink: out", inputs: [map], keyed: true, parallelism: 1, maxParallelism: 128, capacity: 5000, selectivity: 0}
load: {pattern: constant, rate: %g}
`, extra, rate)
}

func TestRecordsConservedAndTimeFractions(t *testing.T) {
	sc, err := LoadScenario("../../scenarios/wordcount.yaml")
	require.NoError(t, err)
	c := New(sc, Options{})
	for step := range 1200 {
		c.Step()
		gt := c.GroundTruth()
		for i, v := range c.vertices {
			require.InDelta(t, v.in*v.spec.Selectivity, v.out, 1e-9, "step %d vertex %s", step, v.spec.Name)
			if !v.spec.IsSource() {
				sum := 0.0
				for _, u := range v.inputs {
					sum += c.vertices[u].out
				}
				require.InDelta(t, sum, v.in, 1e-6*max(1, sum), "step %d vertex %s", step, v.spec.Name)
			}
			for k, st := range v.subtasks {
				require.InDelta(t, 1.0, st.busy+st.idle+st.bp, 1e-12, "vertex %d subtask %d", i, k)
				if st.view.valid {
					require.Equal(t, 1000.0, st.view.busyMs+st.view.idleMs+st.view.bpMs)
				}
			}
		}
		require.InDelta(t, gt.Offered+gt.Replayed, gt.Consumed+gt.Backlog, 1e-6*gt.Offered+1e-6)
	}
}

func TestBacklogGrowsExactlyWhenOfferedExceedsCapacity(t *testing.T) {
	// The map is the bottleneck: 2 subtasks × 1,000/s.
	cases := []struct {
		name        string
		rate        float64
		wantBacklog float64 // after 100 s
	}{
		{"below capacity", 1500, 0},
		{"at capacity", 2000, 0},
		{"above capacity", 2600, 600 * 100},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			c := New(pipeline(t, tc.rate, ""), Options{})
			c.Advance(100 * time.Second)
			gt := c.GroundTruth()
			require.Equal(t, StateRunning, gt.State)
			require.InDelta(t, tc.wantBacklog, gt.Backlog, 1e-6)
			require.InDelta(t, min(tc.rate, 2000), gt.Vertices[1].RecordsInPerSecond, 1e-6)
			if tc.rate > 2000 {
				require.True(t, gt.Vertices[1].Saturated)
				require.True(t, gt.Vertices[0].BackPressured)
				require.InDelta(t, tc.wantBacklog/tc.rate, gt.LagSeconds, 1e-9)
			}
		})
	}
}

func TestBackpressureTimeOnUpstream(t *testing.T) {
	c := New(pipeline(t, 3000, ""), Options{})
	c.Advance(70 * time.Second)
	src := c.vertices[0].subtasks[0].view
	mp := c.vertices[1].subtasks[0].view
	sink := c.vertices[2].subtasks[0].view
	require.Equal(t, 800.0, src.bpMs) // reads 2,000 of its 10,000/s
	require.Equal(t, 0.0, src.idleMs)
	require.Equal(t, 1000.0, mp.busyMs)
	require.Equal(t, 200.0, sink.idleMs) // 4,000 of 5,000/s
	require.Equal(t, 0.0, sink.bpMs)
	require.InDelta(t, 2000, src.outPerSecond, 1e-6)
	require.True(t, src.hasPending)
}

func TestRescaleDowntimeAndReplay(t *testing.T) {
	sc := pipeline(t, 1500, "")
	c := New(sc, Options{})
	ids := c.VertexIDs()
	c.Advance(90 * time.Second) // checkpoint 1 at 60 s, 30 s of reads since
	before := c.GroundTruth()
	require.Equal(t, 0.0, before.Backlog)
	runningTs := c.sched.timestamps["RUNNING"]

	require.NoError(t, c.PutRequirements(map[string]Bounds{
		ids[0]: {1, 1}, ids[1]: {1, 1}, ids[2]: {1, 1},
	}))
	gt := c.GroundTruth()
	require.Equal(t, StateRestarting, gt.State)
	require.InDelta(t, 30*1500, gt.Backlog, 1e-6, "replay since the checkpoint at 60 s")

	c.Step()
	require.Equal(t, StateCreated, c.GroundTruth().State)
	c.Advance(28 * time.Second)
	gt = c.GroundTruth()
	require.Equal(t, StateCreated, gt.State)
	require.Equal(t, 0.0, gt.Vertices[1].RecordsInPerSecond)
	require.InDelta(t, (30+29)*1500, gt.Backlog, 1e-6)

	c.Step()
	gt = c.GroundTruth()
	require.Equal(t, StateRunning, gt.State)
	require.Equal(t, 1, gt.Vertices[1].Parallelism)
	require.Equal(t, 1, gt.Restarts)
	require.Equal(t, 30*time.Second, gt.Downtime)
	require.Greater(t, c.sched.timestamps["RUNNING"], runningTs)
	require.Equal(t, 1, c.sched.attempt)
	require.Zero(t, c.vertices[1].subtasks[0].recordsIn)
	require.NotNil(t, c.ckpt.restored)
	require.Equal(t, int64(1), c.ckpt.restored.id)
}

func TestRequirementsAboveSlotsScaleUpWhenTaskManagersArrive(t *testing.T) {
	c := New(pipeline(t, 1500, ""), Options{})
	ids := c.VertexIDs()
	c.Advance(10 * time.Second)
	require.NoError(t, c.PutRequirements(map[string]Bounds{
		ids[0]: {1, 1}, ids[1]: {1, 4}, ids[2]: {1, 1},
	}))
	// Two slots: the map already runs at 2, so nothing changes yet.
	require.Equal(t, StateRunning, c.GroundTruth().State)
	require.Equal(t, 2, c.GroundTruth().Vertices[1].Parallelism)

	require.Equal(t, 4, c.SetTaskManagers(4))
	c.Advance(20 * time.Second)
	require.Equal(t, StateRunning, c.GroundTruth().State, "TaskManagers still starting")
	c.Advance(time.Second) // registered at 30 s: RESTARTING for 1 s, then CREATED
	require.Equal(t, StateCreated, c.GroundTruth().State)
	c.Advance(30 * time.Second)
	gt := c.GroundTruth()
	require.Equal(t, StateRunning, gt.State)
	require.Equal(t, []int{1, 4, 1}, []int{gt.Vertices[0].Parallelism, gt.Vertices[1].Parallelism, gt.Vertices[2].Parallelism})
	require.Equal(t, 4, gt.SlotsInUse)
}

func TestRemovingBusyTaskManagerFailsOver(t *testing.T) {
	c := New(pipeline(t, 1500, ""), Options{})
	c.Advance(10 * time.Second)
	require.Equal(t, 1, c.SetTaskManagers(1))
	require.Equal(t, StateRestarting, c.GroundTruth().State)
	c.Advance(31 * time.Second)
	gt := c.GroundTruth()
	require.Equal(t, StateRunning, gt.State)
	require.Equal(t, 1, gt.Vertices[1].Parallelism)
}

func TestReactiveModeUsesAllSlots(t *testing.T) {
	c := New(pipeline(t, 1500, "  scaling: reactive"), Options{})
	gt := c.GroundTruth()
	require.Equal(t, []int{2, 2, 2}, []int{gt.Vertices[0].Parallelism, gt.Vertices[1].Parallelism, gt.Vertices[2].Parallelism})
	require.ErrorIs(t, c.PutRequirements(c.Requirements()), ErrReactiveMode)
	c.SetTaskManagers(5)
	c.Advance(51 * time.Second)
	gt = c.GroundTruth()
	require.Equal(t, StateRunning, gt.State)
	require.Equal(t, 5, gt.Vertices[1].Parallelism)
}

func TestPutRequirementsValidation(t *testing.T) {
	c := New(pipeline(t, 1500, ""), Options{})
	ids := c.VertexIDs()
	cases := []struct {
		name string
		req  map[string]Bounds
		want []string
	}{
		{"empty", map[string]Bounds{}, []string{"Request body does not specify resource requirements."}},
		{"missing vertex", map[string]Bounds{ids[0]: {1, 1}, ids[1]: {1, 1}},
			[]string{"The request is incomplete, missing job vertex [" + ids[2] + "] resource requirements."}},
		{"unknown vertex", map[string]Bounds{ids[0]: {1, 1}, ids[1]: {1, 1}, ids[2]: {1, 1}, "00000000000000000000000000000000": {1, 1}},
			[]string{"Job vertex [00000000000000000000000000000000] was not found in the JobGraph."}},
		{"zero and inverted and too high", map[string]Bounds{ids[0]: {0, 1}, ids[1]: {3, 2}, ids[2]: {1, 129}}, []string{
			"Both, the requested lower bound [0] and upper bound [1] for job vertex [" + ids[0] + "] must be greater than zero.",
			"The requested lower bound [3] for job vertex [" + ids[1] + "] is higher than the upper bound [2].",
			"The newly requested parallelism 129 for the job vertex " + ids[2] + " exceeds its maximum parallelism 128."}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := c.PutRequirements(tc.req)
			require.ErrorIs(t, err, ErrInvalidRequirements)
			for _, w := range tc.want {
				require.Contains(t, RequirementsMessage(err), w)
			}
		})
	}
	require.NoError(t, c.PutRequirements(map[string]Bounds{ids[0]: {-1, -1}, ids[1]: {1, 2}, ids[2]: {1, 1}}))
	require.Equal(t, Bounds{1, 128}, c.Requirements()[ids[0]])
}

func TestSameSeedSameRun(t *testing.T) {
	sc, err := LoadScenario("../../scenarios/spikes-dedicated.yaml")
	require.NoError(t, err)
	run := func(seed int64) []float64 {
		s := *sc
		s.Seed = seed
		c := New(&s, Options{})
		var out []float64
		for range 1800 {
			c.Step()
			gt := c.GroundTruth()
			out = append(out, gt.OfferedRate, gt.Backlog)
		}
		return out
	}
	a, b := run(sc.Seed), run(sc.Seed)
	require.Equal(t, a, b)
	require.NotEqual(t, a, run(sc.Seed+1))
}

func TestOptimalParallelism(t *testing.T) {
	sc, err := LoadScenario("../../scenarios/wordcount-flatmap.yaml")
	require.NoError(t, err)
	// DS2's closed-form case: flatmap 10, count 20 at 1M sentences/min.
	require.Equal(t, []int{1, 10, 20}, sc.OptimalParallelism(1e6/60))
	ka, err := LoadScenario("../../scenarios/keyed-aggregation.yaml")
	require.NoError(t, err)
	// 215,000/s: 7 subtasks hold up to 19 of 128 key groups and sustain only
	// 32,000·128/19 ≈ 215,579/s; 216,000/s needs 8.
	require.Equal(t, 7, ka.OptimalParallelism(215000)[1])
	require.Equal(t, 8, ka.OptimalParallelism(216000)[1])
	require.True(t, math.Abs(vertexCapacity(&ka.Job.Vertices[1], 7)-32000.0*128/19) < 1e-6)
}

func TestKeyGroupShares(t *testing.T) {
	v := VertexSpec{Keyed: true, Inputs: []string{"x"}, MaxParallelism: 128}
	shares := make([]float64, 7)
	subtaskShares(&v, 7, shares)
	total, hi := 0.0, 0.0
	for _, s := range shares {
		total += s
		hi = max(hi, s)
	}
	require.InDelta(t, 1, total, 1e-12)
	require.Equal(t, 19.0/128, hi)
	require.Equal(t, 19.0/128, maxShare(&v, 7))
}

func TestDetermineParallelism(t *testing.T) {
	cases := []struct {
		name   string
		group  []int
		groups int
		req    []Bounds
		slots  int
		want   []int
		ok     bool
	}{
		{"shared, enough", []int{0, 0}, 1, []Bounds{{1, 4}, {1, 2}}, 4, []int{4, 2}, true},
		{"shared, short", []int{0, 0}, 1, []Bounds{{1, 4}, {1, 2}}, 3, []int{3, 2}, true},
		{"dedicated, short", []int{0, 1}, 2, []Bounds{{1, 4}, {1, 2}}, 4, []int{2, 2}, true},
		{"below lower bounds", []int{0, 1}, 2, []Bounds{{3, 4}, {2, 2}}, 4, nil, false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			out := make([]int, len(tc.req))
			ok := determineParallelism(tc.group, tc.groups, tc.req, tc.slots, out)
			require.Equal(t, tc.ok, ok)
			if ok {
				require.Equal(t, tc.want, out)
			}
		})
	}
}
