package policy

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// simJob is a few-line queueing model of a chain job for closed-loop tests:
// per second, the chain moves x source records, bounded by the offered rate
// plus backlog and by every vertex's capacity c·p^a (in source records).
// Metrics are 60 s averages; a rescale stops the job for restart seconds and
// refills the averages from empty, like Flink.
type simJob struct {
	t        int // seconds
	start    time.Time
	names    []string
	capacity []float64 // per subtask at p = 1, records of the vertex's input
	exponent []float64
	select_  []float64 // records out per record in
	p        []int
	pending  float64
	restart  int
	downLeft int
	running  time.Time
	hist     [][3]float64 // per second: x (source records), per-vertex busy averaged later
	busyHist [][]float64
}

func newSimJob(start time.Time, names []string, capacity, exponent, sel []float64, p []int, restart int) *simJob {
	return &simJob{start: start, names: names, capacity: capacity, exponent: exponent, select_: sel, p: p,
		restart: restart, running: start}
}

func (j *simJob) vertexCap(i int) float64 {
	return j.capacity[i] * math.Pow(float64(j.p[i]), j.exponent[i])
}

// step advances one second at offered rate rate.
func (j *simJob) step(rate float64) {
	j.t++
	j.pending += rate
	x := 0.0
	busy := make([]float64, len(j.p))
	if j.downLeft > 0 {
		j.downLeft--
		if j.downLeft == 0 {
			j.running = j.start.Add(time.Duration(j.t) * time.Second)
			j.hist, j.busyHist = nil, nil
		}
	} else {
		x = j.pending
		mult := 1.0
		for i := range j.p {
			x = math.Min(x, j.vertexCap(i)/mult)
			mult *= j.select_[i]
		}
		mult = 1
		for i := range j.p {
			busy[i] = x * mult / j.vertexCap(i)
			mult *= j.select_[i]
		}
		j.pending -= x
		j.hist = append(j.hist, [3]float64{x})
		j.busyHist = append(j.busyHist, busy)
	}
}

func (j *simJob) snapshot() events.Snapshot {
	n := min(len(j.hist), 60)
	x := 0.0
	busy := make([]float64, len(j.p))
	for k := len(j.hist) - n; k < len(j.hist); k++ {
		x += j.hist[k][0] / float64(max(n, 1))
		for i := range busy {
			busy[i] += j.busyHist[k][i] / float64(max(n, 1))
		}
	}
	run := j.running
	snap := events.Snapshot{Cluster: "c", JobID: "j", JobName: "sim", JobState: "RUNNING", RunningSince: &run,
		ObservedAt: j.start.Add(time.Duration(j.t) * time.Second), TaskManagers: maxInt(j.p), Complete: true}
	mult := 1.0
	for i := range j.p {
		in, out := x*mult, x*mult*j.select_[i]
		mult *= j.select_[i]
		v := events.VertexSnapshot{ID: fmt.Sprintf("v%d", i), Name: j.names[i], Parallelism: j.p[i], MaxParallelism: 128,
			BusyMsPerSecond:    &events.AvgMax{Avg: 1000 * busy[i], Max: 1000 * busy[i]},
			RecordsInPerSecond: ptr(in), RecordsOutPerSecond: ptr(out)}
		if i == 0 {
			v.IsSource = true
			v.PendingRecords = ptr(math.Round(j.pending))
		} else {
			v.Inputs = []events.Input{{ID: fmt.Sprintf("v%d", i-1), ShipStrategy: "REBALANCE"}}
		}
		snap.Vertices = append(snap.Vertices, v)
	}
	return snap
}

func (j *simJob) apply(d *events.Decision) {
	for i, v := range d.Vertices {
		j.p[i] = v.Target
	}
	j.downLeft = j.restart
}

// simRun drives pol against job for seconds at rate(t), deciding every 10 s;
// it returns the decisions' targets in order.
func simRun(t *testing.T, pol Policy, cfg Config, job *simJob, seconds int, rate func(int) float64) [][]int {
	t.Helper()
	var st State
	var out [][]int
	for s := 1; s <= seconds; s++ {
		job.step(rate(s))
		if s%10 != 0 {
			continue
		}
		snap := job.snapshot()
		o := pol.Decide(Input{Snapshot: snap, State: st, Config: cfg, Now: snap.ObservedAt})
		st = o.NewState
		if testing.Verbose() && o.Hold != "" && s < 700 {
			t.Logf("t=%ds hold %s", s, o.Hold)
		}
		if o.Decision != nil {
			job.apply(o.Decision)
			var ps []int
			for _, v := range o.Decision.Vertices {
				ps = append(ps, v.Target)
			}
			out = append(out, ps)
			t.Logf("t=%ds %s", s, o.Decision.Rationale)
		}
	}
	return out
}

func ptr[T any](v T) *T { return &v }

func maxInt(xs []int) int {
	m := 0
	for _, x := range xs {
		m = max(m, x)
	}
	return m
}
