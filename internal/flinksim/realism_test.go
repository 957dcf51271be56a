package flinksim

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http/httptest"
	"os"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/flink"
)

// rescaleMap flips the map vertex of pipeline between 1 and 2 subtasks
// (2 TaskManagers of 1 slot hold either) and returns the restart's
// downtime once the job runs again.
func rescaleMap(t *testing.T, c *Cluster, p int) time.Duration {
	t.Helper()
	ids := c.VertexIDs()
	before := c.GroundTruth()
	require.NoError(t, c.PutRequirements(map[string]Bounds{
		ids[0]: {Lower: 1, Upper: 1}, ids[1]: {Lower: 1, Upper: p}, ids[2]: {Lower: 1, Upper: 1},
	}))
	for range 600 {
		c.Step()
		if gt := c.GroundTruth(); gt.State == StateRunning && gt.Restarts > before.Restarts {
			return gt.Downtime - before.Downtime
		}
	}
	t.Fatal("the job did not run again within 10 min")
	return 0
}

func TestRestartJitter(t *testing.T) {
	c := New(pipeline(t, 100, "  restartJitter: 0.5"), Options{})
	c.Advance(time.Minute)
	seen := map[time.Duration]bool{}
	for k := range 20 {
		d := rescaleMap(t, c, 1+k%2)
		require.GreaterOrEqual(t, d, 15*time.Second)
		require.LessOrEqual(t, d, 46*time.Second)
		seen[d.Round(time.Second)] = true
		c.Advance(time.Minute)
	}
	require.Greater(t, len(seen), 5, "downtimes vary")

	exact := New(pipeline(t, 100, ""), Options{})
	exact.Advance(time.Minute)
	require.Equal(t, 30*time.Second, rescaleMap(t, exact, 1), "no jitter by default")
}

func TestStateRestore(t *testing.T) {
	sc := pipeline(t, 100, "  stateRestore: 40s")
	c := New(sc, Options{})
	c.Advance(time.Minute)
	// The map is not keyed: nothing moves, no restore time.
	require.Equal(t, 30*time.Second, rescaleMap(t, c, 1))
	// The keyed sink from 1 to 2 subtasks moves half of its key groups.
	require.Equal(t, 0.5, c.movedKeyGroups([]int{1, 1, 2}))
	require.Equal(t, 0.0, c.movedKeyGroups([]int{1, 2, 1}))
	c.SetTaskManagers(3)
	c.Advance(time.Minute)
	ids := c.VertexIDs()
	before := c.GroundTruth()
	require.NoError(t, c.PutRequirements(map[string]Bounds{ids[0]: {1, 1}, ids[1]: {1, 1}, ids[2]: {1, 2}}))
	runAgain := func() {
		for range 600 {
			if gt := c.GroundTruth(); gt.State == StateRunning && gt.Restarts > before.Restarts {
				return
			}
			c.Step()
		}
		t.Fatal("the job did not run again within 10 min")
	}
	runAgain()
	require.Equal(t, 30*time.Second+20*time.Second, c.GroundTruth().Downtime-before.Downtime)
	// A failover restores everything: lose one of the two TaskManagers
	// holding the job's two slots.
	c.SetTaskManagers(2)
	c.Advance(time.Minute)
	before = c.GroundTruth()
	c.mu.Lock()
	c.loseTaskManager()
	c.mu.Unlock()
	runAgain()
	require.GreaterOrEqual(t, c.GroundTruth().Downtime-before.Downtime, 30*time.Second+40*time.Second)
}

func TestTaskManagerStartupDistribution(t *testing.T) {
	sc := pipeline(t, 100, "  taskManagerStartupMax: 2m\n  taskManagerNeverRegisters: 0.2")
	sc.Cluster.MaxTaskManagers = 1000
	c := New(sc, Options{})
	c.SetTaskManagers(502)
	first := map[int]time.Duration{}
	for range 180 {
		c.Step()
		for _, tm := range c.tms {
			if _, ok := first[tm.seq]; !ok && tm.registered && tm.seq > 2 {
				first[tm.seq] = c.Elapsed()
			}
		}
	}
	lo, hi := time.Hour, time.Duration(0)
	for _, at := range first {
		lo, hi = min(lo, at), max(hi, at)
	}
	require.GreaterOrEqual(t, lo, 20*time.Second)
	require.LessOrEqual(t, hi, 2*time.Minute+time.Second)
	require.Less(t, lo, 30*time.Second)
	require.Greater(t, hi, 110*time.Second)
	require.InDelta(t, 0.2, 1-float64(len(first))/500, 0.05, "about a fifth never register")
}

func TestLostTaskManagerFailsOver(t *testing.T) {
	c := New(pipeline(t, 100, "  faults: {lostTaskManagerAt: [5m]}"), Options{})
	c.Advance(5*time.Minute - time.Second)
	before := c.GroundTruth()
	require.Equal(t, 2, before.RegisteredTaskManagers)
	c.Advance(2 * time.Second)
	gt := c.GroundTruth()
	require.Equal(t, before.Restarts+1, gt.Restarts, "the lost TaskManager held the job's slots: failover")
	require.Equal(t, 2, gt.TaskManagers, "Kubernetes replaced the pod")
	require.Equal(t, 1, gt.RegisteredTaskManagers)
	c.Advance(time.Minute)
	require.Equal(t, StateRunning, c.GroundTruth().State)
	require.Equal(t, 2, c.GroundTruth().RegisteredTaskManagers)
}

func TestRandomLostTaskManagers(t *testing.T) {
	c := New(pipeline(t, 100, "  faults: {lostTaskManagerPerHour: 2}"), Options{})
	c.Advance(20 * time.Hour)
	// About 40 losses, each two restarts: the failover onto the slot left
	// (10 s stabilization, the replacement registers after 20 s) and the
	// rescale back when it registers.
	require.InDelta(t, 80, c.GroundTruth().Restarts, 25)
}

func TestFailedRestoreRestartsAgain(t *testing.T) {
	c := New(pipeline(t, 100, "  faults: {failedRestore: 0.5}"), Options{})
	c.Advance(time.Minute)
	for k := range 20 {
		rescaleMap(t, c, 1+k%2)
		c.Advance(time.Minute)
	}
	gt := c.GroundTruth()
	require.Greater(t, gt.Restarts, 25, "failed restores add restarts")
	require.Less(t, gt.Restarts, 60)
}

func TestTaskManagerLostDuringRestart(t *testing.T) {
	c := New(pipeline(t, 100, "  faults: {lostDuringRestart: 0.9999}"), Options{})
	c.Advance(time.Minute)
	d := rescaleMap(t, c, 1)
	require.GreaterOrEqual(t, d, 30*time.Second)
	require.Equal(t, 2, c.TaskManagers())
	require.Greater(t, c.tmSeq, 2, "a replacement TaskManager was started")
}

func TestGCPausesFreezeCapacity(t *testing.T) {
	// The map sustains 2,000 records/s; GC pauses half a second per second
	// on average.
	c := New(pipeline(t, 1500, "  gcPauses: {perMinute: 30, pause: 1s}"), Options{})
	c.Advance(time.Minute)
	sum, n := 0.0, 0
	for range 3600 {
		c.Step()
		sum += c.dist.gcFactor
		n++
	}
	// At most the whole second freezes: E[min(pauses, 1)] = 1 − e^(−0.5).
	require.InDelta(t, math.Exp(-0.5), sum/float64(n), 0.03)
	gt := c.GroundTruth()
	require.Positive(t, gt.Backlog, "1,500/s does not fit into half of 2,000/s")
	require.Equal(t, 1000.0, gt.Vertices[1].MaxBusyMsPerSecond, "GC time counts as busy")

	calm := New(pipeline(t, 1500, ""), Options{})
	calm.Advance(time.Hour)
	require.Zero(t, calm.GroundTruth().Backlog)
}

func TestCheckpointsTakeTimeAndReplayFromTrigger(t *testing.T) {
	c := New(pipeline(t, 100, "  checkpointDuration: 10s"), Options{})
	c.Advance(61 * time.Second) // triggered at 60 s
	atTrigger := c.vertices[0].position
	_, ok := c.LatestCheckpoint()
	require.False(t, ok, "not complete before its duration")
	c.Advance(10 * time.Second)
	at, ok := c.LatestCheckpoint()
	require.True(t, ok)
	require.Equal(t, 70*time.Second, at)
	require.InDelta(t, atTrigger, c.ckpt.position(0), 100, "the checkpoint holds the trigger's position")
	require.Less(t, c.ckpt.position(0), c.vertices[0].position-900)

	// Under backpressure a checkpoint takes checkpointBackpressureFactor × as long.
	bp := New(pipeline(t, 5000, "  checkpointDuration: 10s"), Options{})
	bp.Advance(61 * time.Second)
	require.True(t, bp.backpressured())
	bp.Advance(30 * time.Second)
	_, ok = bp.LatestCheckpoint()
	require.False(t, ok)
	bp.Advance(10 * time.Second)
	at, ok = bp.LatestCheckpoint()
	require.True(t, ok)
	require.Equal(t, 100*time.Second, at)

	// With checkpointAlignment, backpressure adds that time instead
	// (measured on Flink 1.20: 50 ms → 2.5 s at 300 records/s).
	al := New(pipeline(t, 5000, "  checkpointDuration: 2s\n  checkpointAlignment: 5s"), Options{})
	al.Advance(61 * time.Second)
	al.Advance(5 * time.Second)
	_, ok = al.LatestCheckpoint()
	require.False(t, ok)
	al.Advance(2 * time.Second)
	at, ok = al.LatestCheckpoint()
	require.True(t, ok)
	require.Equal(t, 67*time.Second, at)

	// The REST history reports it as Flink does: acknowledged at its
	// completion, its end-to-end duration the time since the trigger.
	rec := httptest.NewRecorder()
	al.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/jobs/"+al.JobID()+"/checkpoints", nil))
	var stats struct {
		Latest struct {
			Completed struct {
				Trigger  int64 `json:"trigger_timestamp"`
				Ack      int64 `json:"latest_ack_timestamp"`
				EndToEnd int64 `json:"end_to_end_duration"`
			} `json:"completed"`
		} `json:"latest"`
	}
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &stats))
	require.Equal(t, int64(7000), stats.Latest.Completed.EndToEnd)
	require.Equal(t, stats.Latest.Completed.Trigger+7000, stats.Latest.Completed.Ack)
}

// A checkpoint that takes time is listed IN_PROGRESS while in flight, as
// Flink lists a pending one (counts.in_progress, the history's newest entry,
// no acknowledgement yet), and the latest completed one stays the latest.
func TestCheckpointInFlightListed(t *testing.T) {
	c := New(pipeline(t, 100, "  checkpointDuration: 10s"), Options{})
	get := func() flink.Checkpoints {
		rec := httptest.NewRecorder()
		c.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/jobs/"+c.JobID()+"/checkpoints", nil))
		var cp flink.Checkpoints
		require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &cp))
		return cp
	}
	c.Advance(75 * time.Second) // the first completed at 70 s
	cp := get()
	require.Zero(t, cp.Counts.InProgress)
	require.Len(t, cp.History, 1)
	c.Advance(50 * time.Second) // the second triggered at 120 s
	cp = get()
	require.Equal(t, int64(1), cp.Counts.InProgress)
	require.Equal(t, int64(2), cp.Counts.Total)
	require.Len(t, cp.History, 2)
	flight := cp.History[0]
	require.Equal(t, "IN_PROGRESS", flight.Status)
	require.Equal(t, "in_progress", flight.ClassName)
	require.Equal(t, int64(2), flight.ID)
	require.Equal(t, c.opts.Start.Add(120*time.Second).UnixMilli(), flight.TriggerTimestamp)
	require.Equal(t, int64(-1), flight.LatestAckTimestamp)
	require.Equal(t, int64(1), cp.Latest.Completed.ID)
	c.Advance(10 * time.Second)
	cp = get()
	require.Zero(t, cp.Counts.InProgress)
	require.Equal(t, int64(2), cp.Latest.Completed.ID)
	require.Equal(t, "COMPLETED", cp.History[0].Status)
}

func TestCheckpointFailures(t *testing.T) {
	c := New(pipeline(t, 100, "  checkpointFailure: 0.5"), Options{})
	c.Advance(200 * time.Minute)
	require.InDelta(t, 100, c.ckpt.completed, 20)
}

func TestFirstCheckpointAtRandomDelay(t *testing.T) {
	c := New(pipeline(t, 100, "  checkpointRandomStart: true"), Options{})
	seen := map[time.Duration]bool{}
	for k := range 15 {
		rescaleMap(t, c, 1+k%2)
		delay := c.ckpt.next - c.elapsed
		require.GreaterOrEqual(t, delay, time.Duration(0))
		require.Less(t, delay, 60*time.Second)
		seen[delay.Round(time.Second)] = true
	}
	require.Greater(t, len(seen), 5)
	exact := New(pipeline(t, 100, ""), Options{})
	rescaleMap(t, exact, 1)
	require.Equal(t, 60*time.Second, exact.ckpt.next-exact.elapsed)
}

// restMetric reads one aggregated subtask metric of vertex i over REST.
func restMetric(t *testing.T, c *Cluster, i int, id, agg string) string {
	t.Helper()
	rec := httptest.NewRecorder()
	url := fmt.Sprintf("/jobs/%s/vertices/%s/subtasks/metrics?get=%s&agg=%s", c.JobID(), c.VertexIDs()[i], id, agg)
	c.Handler().ServeHTTP(rec, httptest.NewRequest("GET", url, nil))
	require.Equal(t, 200, rec.Code, rec.Body.String())
	var out []map[string]any
	require.NoError(t, json.Unmarshal(rec.Body.Bytes(), &out))
	if len(out) == 0 {
		return ""
	}
	return fmt.Sprint(out[0][agg])
}

func restNames(t *testing.T, c *Cluster, i int) string {
	t.Helper()
	rec := httptest.NewRecorder()
	url := fmt.Sprintf("/jobs/%s/vertices/%s/subtasks/metrics", c.JobID(), c.VertexIDs()[i])
	c.Handler().ServeHTTP(rec, httptest.NewRequest("GET", url, nil))
	return rec.Body.String()
}

func TestBusyOverheadAndNoise(t *testing.T) {
	// The map runs at 50 % busy; 10 % overhead reads 60 %.
	c := New(pipeline(t, 1000, "  busyOverhead: 0.1"), Options{})
	c.Advance(3 * time.Minute)
	require.Equal(t, "600", restMetric(t, c, 1, "busyTimeMsPerSecond", "max"))
	require.Equal(t, 2000.0, c.GroundTruth().Vertices[1].Capacity, "capacity unchanged")

	noisy := New(pipeline(t, 1000, "  busyNoise: 0.2"), Options{})
	noisy.Advance(3 * time.Minute)
	lo, hi := restMetric(t, noisy, 1, "busyTimeMsPerSecond", "min"), restMetric(t, noisy, 1, "busyTimeMsPerSecond", "max")
	require.NotEqual(t, lo, hi, "each subtask measures its own error")
}

func TestHotKey(t *testing.T) {
	v := VertexSpec{Name: "k", Inputs: []string{"s"}, Keyed: true, MaxParallelism: 128, Capacity: 100, ScalingExponent: 1,
		VertexRuntime: VertexRuntime{HotKey: 0.5}}
	shares := make([]float64, 4)
	subtaskShares(&v, 4, shares)
	require.InDelta(t, 0.5+0.5*32.0/128, shares[0], 1e-12)
	require.InDelta(t, 0.5*32.0/128, shares[1], 1e-12)
	require.InDelta(t, shares[0], maxShare(&v, 4), 1e-12)
	require.InDelta(t, 100/0.625, vertexCapacity(&v, 4), 1e-9)
	// However many subtasks, the hot key group's subtask gets half.
	require.Less(t, vertexCapacity(&v, 128), 200.0+1e-9)
	even := v
	even.HotKey = 0
	require.Equal(t, 400.0, vertexCapacity(&even, 4))

	// Over REST the busiest subtask and the average differ.
	doc := strings.Replace(minimalScenario, `keyed: true, capacity: 1000, parallelism: 2}`, `keyed: true, capacity: 1000, parallelism: 2, hotKey: 0.3}`, 1)
	sc, err := ParseScenario([]byte(doc+"  noise: 0\n"), ".")
	require.NoError(t, err)
	sc.Load.Rate = 1000
	c := New(sc, Options{})
	c.Advance(3 * time.Minute)
	require.Equal(t, "650", restMetric(t, c, 1, "busyTimeMsPerSecond", "max"))
	require.Equal(t, "500", restMetric(t, c, 1, "busyTimeMsPerSecond", "avg"))
}

func sourceScenario(t *testing.T, field string) *Cluster {
	t.Helper()
	doc := strings.Replace(minimalScenario, `partitions: 8, parallelism: 2}`, `partitions: 8, parallelism: 2, `+field+`}`, 1)
	sc, err := ParseScenario([]byte(doc), ".")
	require.NoError(t, err)
	return New(sc, Options{})
}

// A source's lagMetric is the user's exporter the benchmark publishes:
// records unless a unit says otherwise, every 30 s unless set; a unit
// decide does not read, or no interval, is an error at the field.
func TestSourceLagMetric(t *testing.T) {
	c := sourceScenario(t, "pendingRecords: absent, lagMetric: {}")
	require.Equal(t, &LagMetric{Unit: LagRecords, Every: 30 * time.Second}, c.Scenario().Job.Vertices[0].LagMetric)
	c = sourceScenario(t, "lagMetric: {unit: ms, every: 10s}")
	require.Equal(t, &LagMetric{Unit: LagMilliseconds, Every: 10 * time.Second}, c.Scenario().Job.Vertices[0].LagMetric)
	for _, tc := range []struct{ field, path string }{
		{"lagMetric: {unit: bytes}", "job.vertices[0].lagMetric.unit"},
		{"lagMetric: {every: 0s}", "job.vertices[0].lagMetric.every"},
	} {
		doc := strings.Replace(minimalScenario, `partitions: 8, parallelism: 2}`, `partitions: 8, parallelism: 2, `+tc.field+`}`, 1)
		_, err := ParseScenario([]byte(doc), ".")
		var ve *ValidationError
		require.ErrorAs(t, err, &ve, tc.field)
		require.Equal(t, tc.path, ve.Problems[0].Path, tc.field)
	}
}

func TestSourceBusyUnderReadAndNaN(t *testing.T) {
	c := sourceScenario(t, "busyUnderRead: 0.6")
	c.Advance(3 * time.Minute)
	require.Equal(t, "200", restMetric(t, c, 0, "busyTimeMsPerSecond", "max"), "500 ms/s busy, 60 % unseen")
	n := sourceScenario(t, "busyNaN: true")
	n.Advance(3 * time.Minute)
	require.Equal(t, "NaN", restMetric(t, n, 0, "busyTimeMsPerSecond", "max"))
}

// TestLegacySourceMetrics: what Flink 1.20 reports for a legacy
// SourceFunction (docs/FIDELITY.md "Legacy sources"), below its ceiling and
// at it: busy NaN, idle 0 (its records come from a thread of its own while
// the task's mailbox waits untimed), no back-pressure unless its output
// blocks, nothing counted in by its operator, and what it emits out.
func TestLegacySourceMetrics(t *testing.T) {
	for _, tc := range []struct {
		name string
		rate float64
		read float64
	}{{"below its ceiling", 1000, 1000}, {"at its ceiling", 3000, 2000}} {
		t.Run(tc.name, func(t *testing.T) {
			doc := strings.Replace(minimalScenario, `partitions: 8, parallelism: 2}`, `partitions: 8, parallelism: 2, busyNaN: true}`, 1)
			doc = strings.Replace(doc, `keyed: true, capacity: 1000,`, `keyed: true, capacity: 5000,`, 1)
			sc, err := ParseScenario([]byte(doc+"  noise: 0\n"), ".")
			require.NoError(t, err)
			sc.Load.Rate = tc.rate
			c := New(sc, Options{})
			c.Advance(3 * time.Minute)
			require.Equal(t, "NaN", restMetric(t, c, 0, "busyTimeMsPerSecond", "max"))
			require.Equal(t, "0", restMetric(t, c, 0, "idleTimeMsPerSecond", "max"), "no idle timer runs for a legacy source")
			require.Equal(t, "0", restMetric(t, c, 0, "backPressuredTimeMsPerSecond", "max"))
			require.Equal(t, "0", restMetric(t, c, 0, "Source__s.numRecordsInPerSecond", "sum"))
			for _, id := range []string{"Source__s.numRecordsOutPerSecond", "numRecordsOutPerSecond"} {
				out, err := jsonNumber(restMetric(t, c, 0, id, "sum"))
				require.NoError(t, err)
				require.InDelta(t, tc.read, out, tc.read*0.01, id)
			}
			// The keyed vertex downstream keeps its own idle time.
			idle, err := jsonNumber(restMetric(t, c, 1, "idleTimeMsPerSecond", "max"))
			require.NoError(t, err)
			require.Greater(t, idle, 500.0)
		})
	}
}

func TestPendingRecordsAbsentOrLate(t *testing.T) {
	absent := sourceScenario(t, "pendingRecords: absent")
	absent.Advance(3 * time.Minute)
	require.NotContains(t, restNames(t, absent, 0), "pendingRecords")

	late := sourceScenario(t, "pendingRecordsAfter: 2m")
	late.Advance(time.Minute)
	require.NotContains(t, restNames(t, late, 0), "pendingRecords")
	late.Advance(2 * time.Minute)
	require.Contains(t, restNames(t, late, 0), "pendingRecords")

	now := sourceScenario(t, "busyNaN: false")
	now.Advance(time.Minute)
	require.Contains(t, restNames(t, now, 0), "pendingRecords")
}

func TestOperatorChain(t *testing.T) {
	doc := strings.Replace(minimalScenario, `{name: k, inputs: ["Source: s"], keyed: true, capacity: 1000, parallelism: 2}`,
		`{name: k, inputs: ["Source: s"], keyed: true, capacity: 1000, parallelism: 2, selectivity: 0.5, chain: ["Filter: f", sink]}`, 1)
	sc, err := ParseScenario([]byte(doc), ".")
	require.NoError(t, err)
	c := New(sc, Options{})
	c.Advance(3 * time.Minute)
	names := restNames(t, c, 1)
	for _, id := range []string{"k.numRecordsOut", "Filter__f.numRecordsIn", "sink.numRecordsOutPerSecond"} {
		require.Contains(t, names, id)
	}
	in, _ := jsonNumber(restMetric(t, c, 1, "Filter__f.numRecordsInPerSecond", "sum"))
	out, _ := jsonNumber(restMetric(t, c, 1, "sink.numRecordsOutPerSecond", "sum"))
	require.InDelta(t, 1000, in, 1)
	require.InDelta(t, 500, out, 1)
}

func jsonNumber(s string) (float64, error) {
	var f float64
	_, err := fmt.Sscan(s, &f)
	return f, err
}

func TestWindowBurstsAndDrift(t *testing.T) {
	doc := strings.Replace(minimalScenario, `{name: k, inputs: ["Source: s"], keyed: true, capacity: 1000, parallelism: 2}`,
		`{name: k, inputs: ["Source: s"], keyed: true, capacity: 1000, parallelism: 2, selectivity: 0.5, window: {every: 1m, fire: 10s}}
    - {name: sink, inputs: [k], capacity: 100000, selectivity: 0}
    - {name: d, inputs: ["Source: s"], capacity: 100000, selectivity: 1, selectivityDrift: {amplitude: 0.5, period: 4m}}
    - {name: dsink, inputs: [d], capacity: 100000, selectivity: 0}`, 1)
	sc, err := ParseScenario([]byte(doc), ".")
	require.NoError(t, err)
	c := New(sc, Options{})
	total := 0.0
	for s := range 600 {
		c.Step()
		gt := c.GroundTruth()
		sinkIn := gt.Vertices[2].RecordsInPerSecond
		if (c.Elapsed()-time.Second)%time.Minute < 10*time.Second {
			require.InDelta(t, 3000, sinkIn, 1e-6, "second %d: a minute's output within 10 s", s)
		} else {
			require.Zero(t, sinkIn, "second %d", s)
		}
		total += sinkIn
		if c.Elapsed() == 61*time.Second { // a quarter period of drift: selectivity 1.5
			require.InDelta(t, 1500, gt.Vertices[4].RecordsInPerSecond, 1)
		}
	}
	require.InDelta(t, 500*600, total, 1e-3, "the average output is kept")
}

func TestFlinkVersionRescaleTiming(t *testing.T) {
	start := func(version string) *Cluster {
		c := New(pipeline(t, 100, `  flinkVersion: "`+version+`"`), Options{})
		c.Advance(5 * time.Second) // running since 0 s
		return c
	}
	put := func(c *Cluster) {
		ids := c.VertexIDs()
		require.NoError(t, c.PutRequirements(map[string]Bounds{ids[0]: {1, 1}, ids[1]: {1, 1}, ids[2]: {1, 1}}))
	}
	restartedAt := func(c *Cluster) time.Duration {
		for range 300 {
			if c.GroundTruth().Restarts > 0 {
				return c.Elapsed()
			}
			c.Step()
		}
		return -1
	}
	c := start(Flink118)
	put(c)
	require.Equal(t, 5*time.Second, restartedAt(c), "1.18 rescales at once")
	c = start(Flink119)
	put(c)
	require.Equal(t, ScalingIntervalMin, restartedAt(c), "1.19 waits for scaling-interval.min")
	c = start(Flink120)
	put(c)
	require.Equal(t, ScalingIntervalMin, restartedAt(c), "1.20 waits for scaling-interval.min only")
	c = start(Flink20)
	put(c)
	require.Equal(t, 60*time.Second, restartedAt(c), "2.0 waits for the next checkpoint")

	details := func(c *Cluster) string {
		rec := httptest.NewRecorder()
		c.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/jobs/"+c.JobID(), nil))
		return rec.Body.String()
	}
	require.NotContains(t, details(start(Flink118)), "slotSharingGroupId")
	require.Contains(t, details(start(Flink120)), "slotSharingGroupId")
	overview := func(c *Cluster) string {
		rec := httptest.NewRecorder()
		c.Handler().ServeHTTP(rec, httptest.NewRequest("GET", "/overview", nil))
		return rec.Body.String()
	}
	require.Contains(t, overview(start(Flink118)), `"flink-version":"1.18.1"`)
	require.Contains(t, overview(start(Flink20)), `"flink-version":"2.0.1"`, "the release decide reads the checkpoint-gated rescale from")
}

func TestRuntimeValidation(t *testing.T) {
	for _, tc := range []struct{ extra, path string }{
		{"restartJitter: 1", "cluster.restartJitter"},
		{"taskManagerStartupMax: 5s\n  taskManagerStartup: 10s", "cluster.taskManagerStartupMax"},
		{"gcPauses: {perMinute: 1}", "cluster.gcPauses.pause"},
		{"faults: {lostTaskManagerAt: [2m, 1m]}", "cluster.faults.lostTaskManagerAt[1]"},
		{"flinkVersion: \"1.17\"", "cluster.flinkVersion"},
		{"checkpointAlignment: -1s", "cluster.checkpointAlignment"},
	} {
		doc := strings.Replace(minimalScenario, "job:", "cluster:\n  "+tc.extra+"\njob:", 1)
		_, err := ParseScenario([]byte(doc), ".")
		var ve *ValidationError
		require.ErrorAs(t, err, &ve, tc.extra)
		require.Equal(t, tc.path, ve.Problems[0].Path, tc.extra)
	}
	for _, tc := range []struct{ field, path string }{
		{"busyNaN: true", "job.vertices[1].busyNaN"},
		{"hotKey: 1.2", "job.vertices[1].hotKey"},
		{"window: {every: 1m, fire: 2m}", "job.vertices[1].window.fire"},
		{"chain: [k]", "job.vertices[1].chain[0]"},
		{"lagMetric: {unit: records}", "job.vertices[1].lagMetric"},
	} {
		doc := strings.Replace(minimalScenario, `keyed: true, capacity: 1000, parallelism: 2}`, `keyed: true, capacity: 1000, parallelism: 2, `+tc.field+`}`, 1)
		_, err := ParseScenario([]byte(doc), ".")
		var ve *ValidationError
		require.ErrorAs(t, err, &ve, tc.field)
		require.Equal(t, tc.path, ve.Problems[0].Path, tc.field)
	}
}

// TestDocumentedFormatParses: the format block of docs/scenarios.md ("The
// whole format") is a valid scenario with the values it shows, and sets
// every field of the format but the load pattern's own, which its pattern
// table lists (session 17 found eight fields missing from it:
// resourceStabilizationTimeout, minParallelismIncrease, realMetricTiming,
// serialFraction, slotSharingGroup, busyNaN, pendingRecords, lagMetric).
func TestDocumentedFormatParses(t *testing.T) {
	doc, err := os.ReadFile("../../docs/scenarios.md")
	require.NoError(t, err)
	_, rest, ok := strings.Cut(string(doc), "```yaml\n")
	require.True(t, ok)
	block, _, ok := strings.Cut(rest, "```")
	require.True(t, ok)
	sc, err := ParseScenario([]byte(block), ".")
	require.NoError(t, err)
	require.Equal(t, Flink120, sc.Cluster.FlinkVersion)
	require.Equal(t, []time.Duration{30 * time.Minute}, sc.Cluster.Faults.LostTaskManagerAt)
	byName := map[string]*VertexSpec{}
	for i := range sc.Job.Vertices {
		byName[sc.Job.Vertices[i].Name] = &sc.Job.Vertices[i]
	}
	require.Equal(t, 0.1, byName["Source: sentences"].HotKey)
	require.Equal(t, &Window{Every: time.Minute, Fire: 5 * time.Second}, byName["counter"].Window)
	require.Equal(t, &Bursts{PerHour: 2, Magnitude: 1.5, Duration: 3 * time.Minute}, sc.Load.Bursts)

	patternFields := map[string]bool{"rate": true, "mean": true, "amplitude": true, "period": true, "phase": true,
		"start": true, "maxStep": true, "min": true, "max": true, "base": true, "probabilityPerMinute": true,
		"spikeDuration": true, "file": true}
	_, table, ok := strings.Cut(string(doc), "| pattern | fields |")
	require.True(t, ok, "docs/scenarios.md has the load patterns' table")
	table, _, _ = strings.Cut(table, "\n\n")
	for _, f := range yamlFields(reflect.TypeFor[rawScenario]()) {
		if patternFields[f] && !strings.Contains(block, "\n  "+f+":") {
			require.Contains(t, table, "`"+f+"`", "the load patterns' table lists %s", f)
			continue
		}
		require.Regexp(t, `(?m)(^\s*|[{,] ?|- )`+f+`:`, block, "docs/scenarios.md's whole format sets %s", f)
	}
	c := New(sc, Options{})
	c.Advance(time.Hour)
}

// yamlFields returns the yaml field names of t's struct fields, inline
// ones and those of nested structs (through pointers and slices) included,
// each struct once (a spikes load's base is a load).
func yamlFields(t reflect.Type) []string {
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type) []string
	walk = func(t reflect.Type) []string {
		for t.Kind() == reflect.Pointer || t.Kind() == reflect.Slice {
			t = t.Elem()
		}
		if t.Kind() != reflect.Struct || seen[t] {
			return nil
		}
		seen[t] = true
		var out []string
		for i := range t.NumField() {
			f := t.Field(i)
			name, opts, _ := strings.Cut(f.Tag.Get("yaml"), ",")
			if name != "" && name != "-" {
				out = append(out, name)
			}
			if opts == "inline" || name != "" {
				out = append(out, walk(f.Type)...)
			}
		}
		return out
	}
	return walk(t)
}

// TestRequirementsPutWhileDownTakeEffectInThatRestart states what Flink's
// adaptive scheduler does with requirements PUT while the job is down
// (AdaptiveScheduler.updateJobResourceRequirements, Flink 1.18+: the job
// information is replaced and the slots re-declared in every state;
// Restarting ends in WaitingForResources, which waits for the new desired
// slots and builds the next graph from them): after a lost TaskManager the
// job comes back at the new parallelism in the failover's own restart, no
// second restart, whether the PUT came at once or while CREATED.
func TestRequirementsPutWhileDownTakeEffectInThatRestart(t *testing.T) {
	for _, at := range []time.Duration{0, 5 * time.Second} {
		t.Run(fmt.Sprintf("put %s after the loss", at), func(t *testing.T) {
			c := New(pipeline(t, 100, "  faults: {lostTaskManagerAt: [5m]}"), Options{})
			ids := c.VertexIDs()
			c.Advance(5*time.Minute - time.Second)
			before := c.GroundTruth()
			for c.GroundTruth().State == StateRunning && c.GroundTruth().Elapsed < 6*time.Minute {
				c.Step()
			}
			require.Contains(t, []string{StateRestarting, StateCreated}, c.GroundTruth().State, "the lost TaskManager held the job's slots")
			c.Advance(at)
			require.Contains(t, []string{StateRestarting, StateCreated}, c.GroundTruth().State, "still down: the replacement starts")
			require.NoError(t, c.PutRequirements(map[string]Bounds{
				ids[0]: {Lower: 1, Upper: 1}, ids[1]: {Lower: 3, Upper: 3}, ids[2]: {Lower: 1, Upper: 1},
			}))
			c.SetTaskManagers(3)
			for range 600 {
				c.Step()
				if c.GroundTruth().State == StateRunning {
					break
				}
			}
			gt := c.GroundTruth()
			require.Equal(t, StateRunning, gt.State)
			require.Equal(t, 3, gt.Vertices[1].Parallelism, "the next graph is built from the requirements PUT while down")
			require.Equal(t, before.Restarts+1, gt.Restarts, "one restart: the failover's")
			c.Advance(2 * time.Minute)
			require.Equal(t, before.Restarts+1, c.GroundTruth().Restarts, "no second restart for the rescale")
		})
	}
}

// A job whose declared lower bounds need more slots than register waits in
// CREATED: its ground truth's downtime counts the wait as it goes, not only
// once (if ever) it runs again, so a run that ends waiting shows it down.
func TestDowntimeCountsAWaitForSlots(t *testing.T) {
	c := New(pipeline(t, 100, ""), Options{})
	c.Advance(time.Minute)
	ids := c.VertexIDs()
	require.Equal(t, time.Duration(0), c.GroundTruth().Downtime)
	// 2 TaskManagers of 1 slot; the map's lower bound needs 4: the running
	// job keeps running until a failover restarts it.
	require.NoError(t, c.PutRequirements(map[string]Bounds{
		ids[0]: {Lower: 1, Upper: 1}, ids[1]: {Lower: 4, Upper: 4}, ids[2]: {Lower: 1, Upper: 1},
	}))
	require.Equal(t, StateRunning, c.GroundTruth().State)
	c.mu.Lock()
	c.loseTaskManager()
	c.mu.Unlock()
	c.Advance(10 * time.Minute)
	gt := c.GroundTruth()
	require.Equal(t, StateCreated, gt.State)
	require.Equal(t, 10*time.Minute, gt.Downtime, "down for the whole wait")

	// Once the slots come it runs; the downtime stays what it was when it
	// left CREATED.
	c.SetTaskManagers(4)
	for range 600 {
		c.Step()
		if c.GroundTruth().State == StateRunning {
			break
		}
	}
	gt = c.GroundTruth()
	require.Equal(t, StateRunning, gt.State)
	down := gt.Downtime
	require.Greater(t, down, 10*time.Minute)
	c.Advance(time.Minute)
	require.Equal(t, down, c.GroundTruth().Downtime)
}
