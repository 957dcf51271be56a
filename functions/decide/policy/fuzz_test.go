package policy

import (
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// FuzzDecide feeds arbitrary figures to every policy twice in a row: no
// panic, and every target within [1, bounds]. A negative pending makes the
// source a legacy one (no busy time, no pendingRecords).
func FuzzDecide(f *testing.F) {
	f.Add(900.0, 41000.0, 41000.0, 1000.0, 0.0, int64(80), 3, 128)
	f.Add(math.NaN(), -1.0, 1e300, math.Inf(1), 5e6, int64(-10), 0, 0)
	f.Add(0.0, 0.0, 0.0, 0.0, 0.0, int64(1<<40), 40000, 7)
	f.Add(900.0, 30000.0, 30000.0, 1000.0, -1.0, int64(400), 2, 128)
	f.Fuzz(func(t *testing.T, busy, in, out, busy2, pending float64, sec int64, p, maxPar int) {
		cfg := Defaults()
		cfg.Parallelism.Max = 64
		cfg.MaxTaskManagers = 40
		mk := func(s int64) events.Snapshot {
			src := vtx("src", 2, busy, in, out)
			src.PendingRecords = ptr(pending * float64(s))
			if pending < 0 { // a legacy source: no busy time, no pendingRecords
				src.BusyMsPerSecond, src.PendingRecords = nil, nil
			}
			dst := vtx("dst", p, busy2, out, 0, "src")
			dst.MaxParallelism = maxPar
			dst.Inputs[0].ShipStrategy = "HASH"
			return snapAt(int(s%(1<<40)), src, dst)
		}
		policies := []Policy{Ours{}, V1{}, NewDS2(), NewFlinkOperator(), NewThreshold(), NewKEDALag(), Oracle{}}
		for _, pol := range policies {
			var st State
			for _, s := range []int64{80, 90, sec, sec + 10, 100} {
				o := pol.Decide(Input{Snapshot: mk(s), State: st, Config: cfg, Now: t0.Add(time.Duration(s%(1<<40)) * time.Second),
					Truth: map[string]int{"src": 3, "dst": p}})
				st = o.NewState
				if o.Decision == nil {
					continue
				}
				for _, v := range o.Decision.Vertices {
					require.GreaterOrEqual(t, v.Target, 1, fmt.Sprintf("%s %+v", pol.Name(), v))
					if pol.Name() != "oracle" {
						require.LessOrEqual(t, v.Target, max(64, v.Current), fmt.Sprintf("%s %+v", pol.Name(), v))
					}
				}
			}
		}
	})
}

// BenchmarkDecideCore decides a 10-vertex chain with a full 60-sample
// window: ours, every candidate evaluated.
func BenchmarkDecideCore(b *testing.B) { benchmarkDecide(b, Ours{}, false) }

// BenchmarkDecideCoreBlind is BenchmarkDecideCore with a legacy source (no
// busy time, no pendingRecords) on a job that has just saturated: the
// saturated stretch is measured and the probe sized.
func BenchmarkDecideCoreBlind(b *testing.B) { benchmarkDecide(b, Ours{}, true) }

// BenchmarkDecideCoreCeiling is BenchmarkDecideCoreBlind with the legacy
// source's ceiling learned (State.Ceilings) and read at it: its
// saturation shows through the ceiling, its capacity is the ceiling.
func BenchmarkDecideCoreCeiling(b *testing.B) {
	benchmarkDecideWith(b, Ours{}, true, map[string]Ceiling{"v0": {PerSubtask: 10000, P: 4, Run: t0}})
}

// BenchmarkDecideCoreV1 is BenchmarkDecideCore for the previous policy.
func BenchmarkDecideCoreV1(b *testing.B) { benchmarkDecide(b, V1{}, false) }

func benchmarkDecide(b *testing.B, pol Policy, legacy bool) { benchmarkDecideWith(b, pol, legacy, nil) }

// benchmarkDecideWith decides the benchmark's job with ceilings as the
// state's learned source ceilings.
func benchmarkDecideWith(b *testing.B, pol Policy, legacy bool, ceilings map[string]Ceiling) {
	in := benchInput(b, pol, legacy, ceilings)
	b.ReportAllocs()
	b.ResetTimer()
	cpu, n := processCPU(b), 0
	for b.Loop() {
		o := pol.Decide(in)
		if o.Decision == nil && o.HoldKind != HoldNoChange {
			b.Fatal(o.Hold)
		}
		n++
	}
	reportCPU(b, processCPU(b)-cpu, n)
}

// benchInput is the benchmarks' input: a 10-vertex chain whose window
// holds 60 samples decided by pol, now read busier (legacy: the source
// shows no busy time nor pendingRecords), with ceilings as the state's
// learned source ceilings.
func benchInput(tb testing.TB, pol Policy, legacy bool, ceilings map[string]Ceiling) Input {
	cfg := Defaults()
	cfg.ScaleUpDelay = 0
	mk := func(s int, busy float64) events.Snapshot {
		vs := []events.VertexSnapshot{vtx("v0", 4, 800, 40000, 40000)}
		if legacy {
			vs[0].BusyMsPerSecond, vs[0].PendingRecords = nil, nil
		}
		for i := 1; i < 10; i++ {
			vs = append(vs, vtx(fmt.Sprintf("v%d", i), 4, busy, 40000, 40000, fmt.Sprintf("v%d", i-1)))
		}
		return snapAt(s, vs...)
	}
	var st State
	for k := range 60 {
		s := mk(80+10*k, 850)
		st = pol.Decide(Input{Snapshot: s, State: st, Config: cfg, Now: s.ObservedAt}).NewState
	}
	require.Len(tb, st.Window, 60)
	if ceilings != nil {
		st.Ceilings = ceilings
	}
	return Input{Snapshot: mk(80+600, 990), State: st, Config: cfg, Now: t0.Add(680 * time.Second)}
}

// reportCPU reports cpu-µs/op: the process's CPU time over n decisions
// (the GC's background work included). Unlike ns/op it does not grow with
// the time the benchmark waits for a core on a loaded machine.
func reportCPU(b *testing.B, cpu time.Duration, n int) {
	if cpu > 0 && n > 0 {
		b.ReportMetric(float64(cpu.Microseconds())/float64(n), "cpu-µs/op")
	}
}

// Every baseline runs the closed loop on the wordcount without stalling:
// each reaches a configuration that sustains the load.
func TestBaselinesWordcount(t *testing.T) {
	for _, pol := range []Policy{NewDS2(), NewFlinkOperator(), NewThreshold(), NewKEDALag()} {
		t.Run(pol.Name(), func(t *testing.T) {
			job := newSimJob(t0, []string{"source", "flatmap", "count"},
				[]float64{1e6, 100e3 / 60, 1e6 / 60}, []float64{1, 1, 1}, []float64{1, 20, 0}, []int{1, 1, 1}, 30)
			got := simRun(t, pol, Defaults(), job, 3600, func(int) float64 { return 1e6 / 60 })
			require.NotEmpty(t, got)
			if pol.Name() == "keda-lag" {
				// Lag-driven: it scales out until the lag is gone, then to
				// one TaskManager once the stabilization window passes
				// with no lag (desired = ⌈0 ÷ threshold⌉), and over again.
				reached := 0
				for _, d := range got {
					reached = max(reached, d[1])
				}
				require.GreaterOrEqual(t, reached, 10, "decisions %v", got)
				return
			}
			require.GreaterOrEqual(t, job.p[1], 10, "decisions %v", got)
		})
	}
}
