package policy

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// vtx builds a settled vertex: busy ms/s, records in and out per second.
func vtx(id string, p int, busy, in, out float64, inputs ...string) events.VertexSnapshot {
	v := events.VertexSnapshot{ID: id, Name: id, Parallelism: p, MaxParallelism: 128,
		BusyMsPerSecond: &events.AvgMax{Avg: busy, Max: busy}, RecordsInPerSecond: ptr(in), RecordsOutPerSecond: ptr(out)}
	for _, u := range inputs {
		v.Inputs = append(v.Inputs, events.Input{ID: u, ShipStrategy: "REBALANCE"})
	}
	if len(inputs) == 0 {
		v.IsSource = true
		v.PendingRecords = ptr(0.0)
	}
	return v
}

// growing sets the first vertex's pending records to grow 2,000/s from 80 s.
func growing(sec int, vs ...events.VertexSnapshot) events.Snapshot {
	vs[0].PendingRecords = ptr(float64(sec-80) * 2000)
	return snapAt(sec, vs...)
}

func snapAt(sec int, vs ...events.VertexSnapshot) events.Snapshot {
	run := t0
	return events.Snapshot{Cluster: "c", JobID: "j", JobName: "job", JobState: "RUNNING", RunningSince: &run,
		ObservedAt: t0.Add(time.Duration(sec) * time.Second), TaskManagers: 2, Complete: true, Vertices: vs}
}

// feed decides on snapshots at 80 s, 90 s, … (the job started at 0, so all
// are settled) and returns the last output.
func feed(t *testing.T, cfg Config, snaps ...func(sec int) events.Snapshot) Output {
	t.Helper()
	var o Output
	for k, mk := range snaps {
		s := mk(80 + 10*k)
		o = V1{}.Decide(Input{Snapshot: s, State: o.NewState, Config: cfg, Now: s.ObservedAt})
	}
	return o
}

func TestDecideSizing(t *testing.T) {
	steady := Defaults()
	steady.ScaleUpDelay = 0
	cases := []struct {
		name    string
		cfg     Config
		snap    func(sec int) events.Snapshot
		targets []int // nil: no decision
		hold    string
	}{{
		// counter: busy 100% at 41,000 rec/s on 3 subtasks while pending
		// grows 2,000/s: offered 43,000, utilization 43/41 = 1.049 > 1.
		// True rate 41,000/1.0; target 43,000 × (1 + 30/600) restart
		// catch-up = 45,150. Prior exponent 0.9: capacity(4) =
		// 41,000·(4/3)^0.9 = 53,006 ≥ 45,150 > capacity(3) = 41,000 → 4.
		name: "busy counter scales up", cfg: steady,
		snap: func(s int) events.Snapshot {
			return growing(s, vtx("src", 2, 900, 41000, 41000), vtx("counter", 3, 1000, 41000, 0, "src"))
		},
		targets: []int{2, 4},
	}, {
		// 41,000 rec/s at 75% busy: utilization 0.75 is below 1 − 0.1, but
		// capacity(2) = 54,667·(2/3)^0.9 = 37,780 < 41,000, so the
		// recommendation is the current 3: nothing.
		name: "within band holds", cfg: steady,
		snap: func(s int) events.Snapshot {
			return snapAt(s, vtx("src", 2, 900, 41000, 41000), vtx("counter", 3, 750, 41000, 0, "src"))
		},
		hold: HoldNoChange,
	}, {
		// 10,000 rec/s at 20% busy on 8 subtasks: true rate 50,000; needs
		// 10,000 → capacity(2) = 50,000·(2/8)^0.9 = 14,359 ≥ 10,000,
		// capacity(1) = 7,696 < 10,000 → 2, but only after the 5-minute
		// stabilization window.
		name: "idle vertex waits for the scale-down window", cfg: steady,
		snap: func(s int) events.Snapshot {
			return snapAt(s, vtx("src", 1, 100, 10000, 10000), vtx("map", 8, 200, 10000, 10000, "src"))
		},
		hold: HoldStabilize,
	}, {
		// Reactive: the counter needs 4 (first case); the source (90% busy ×
		// 1.049 = 94%, within band) follows: every vertex gets 4.
		name: "reactive mode uses one parallelism",
		cfg:  func() Config { c := steady; c.Mode = events.ModeReactive; return c }(),
		snap: func(s int) events.Snapshot {
			return growing(s, vtx("src", 3, 900, 41000, 41000), vtx("counter", 3, 1000, 41000, 0, "src"))
		},
		targets: []int{4, 4},
	}, {
		// A max parallelism of 3 caps the first case's 4.
		name: "bounds cap the target",
		cfg:  func() Config { c := steady; c.Vertices = map[string]Bounds{"counter": {Max: 3}}; return c }(),
		snap: func(s int) events.Snapshot {
			return growing(s, vtx("src", 2, 900, 41000, 41000), vtx("counter", 3, 1000, 41000, 0, "src"))
		},
		hold: HoldNoChange,
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := feed(t, c.cfg, c.snap, c.snap)
			if c.targets == nil {
				require.Nil(t, o.Decision, "decision: %+v", o.Decision)
				require.Equal(t, c.hold, o.HoldKind, o.Hold)
				return
			}
			require.NotNil(t, o.Decision, o.Hold)
			var got []int
			for _, v := range o.Decision.Vertices {
				got = append(got, v.Target)
				require.NotEmpty(t, v.Reason)
			}
			require.Equal(t, c.targets, got, o.Decision.Rationale)
			require.Equal(t, c.cfg.Mode, o.Decision.Mode)
			require.Equal(t, NameV1, o.Decision.Policy)
		})
	}
}

func TestDecideBadInput(t *testing.T) {
	cfg := Defaults()
	good := func(s int) events.Snapshot {
		return growing(s, vtx("src", 2, 900, 41000, 41000), vtx("counter", 3, 1000, 41000, 0, "src"))
	}
	mutate := func(f func(*events.Snapshot)) func(int) events.Snapshot {
		return func(s int) events.Snapshot { sn := good(s); f(&sn); return sn }
	}
	cases := []struct {
		name  string
		snaps []func(int) events.Snapshot
		hold  string
	}{
		{"NaN busy", []func(int) events.Snapshot{mutate(func(s *events.Snapshot) { s.Vertices[1].BusyMsPerSecond.Max = math.NaN() })}, HoldInvalid},
		{"missing busy", []func(int) events.Snapshot{mutate(func(s *events.Snapshot) { s.Vertices[1].BusyMsPerSecond = nil })}, HoldIncomplete},
		{"incomplete flag", []func(int) events.Snapshot{mutate(func(s *events.Snapshot) { s.Complete = false })}, HoldIncomplete},
		{"negative rate", []func(int) events.Snapshot{mutate(func(s *events.Snapshot) { s.Vertices[0].RecordsInPerSecond = ptr(-5.0) })}, HoldInvalid},
		{"absurd rate", []func(int) events.Snapshot{mutate(func(s *events.Snapshot) { s.Vertices[0].RecordsInPerSecond = ptr(1e300) })}, HoldInvalid},
		{"infinite pending", []func(int) events.Snapshot{mutate(func(s *events.Snapshot) { s.Vertices[0].PendingRecords = ptr(math.Inf(1)) })}, HoldInvalid},
		{"zero rates", []func(int) events.Snapshot{func(s int) events.Snapshot {
			return snapAt(s, vtx("src", 2, 0, 0, 0), vtx("counter", 3, 0, 0, 0, "src"))
		}, func(s int) events.Snapshot {
			return snapAt(s, vtx("src", 2, 0, 0, 0), vtx("counter", 3, 0, 0, 0, "src"))
		}}, HoldIdle},
		{"unknown input", []func(int) events.Snapshot{mutate(func(s *events.Snapshot) { s.Vertices[1].Inputs[0].ID = "nope" })}, HoldInvalid},
		{"no vertices", []func(int) events.Snapshot{mutate(func(s *events.Snapshot) { s.Vertices = nil })}, HoldInvalid},
		{"not running", []func(int) events.Snapshot{mutate(func(s *events.Snapshot) { s.JobState = "RESTARTING" })}, HoldNotRunning},
		{"duplicate", []func(int) events.Snapshot{good, func(int) events.Snapshot { return good(80) }}, HoldDuplicate},
		{"out of order", []func(int) events.Snapshot{good, func(int) events.Snapshot { return good(50) }}, HoldOutOfOrder},
		{"far future", []func(int) events.Snapshot{good, func(int) events.Snapshot { return good(86400 * 365 * 50) }}, HoldTimeJump},
		{"vertices changed", []func(int) events.Snapshot{good, func(s int) events.Snapshot {
			return snapAt(s, vtx("src", 2, 900, 41000, 41000), vtx("other", 3, 960, 41000, 0, "src"))
		}}, HoldTopology},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			o := feed(t, cfg, c.snaps...)
			require.Nil(t, o.Decision)
			require.Equal(t, c.hold, o.HoldKind, o.Hold)
			require.NotEmpty(t, o.Hold)
		})
	}
}

// A far-future snapshot must not lock out the real ones that follow.
func TestDecideRecoversFromClockJump(t *testing.T) {
	cfg := Defaults()
	good := func(s int) events.Snapshot {
		return snapAt(s, vtx("src", 2, 900, 41000, 41000), vtx("counter", 3, 750, 41000, 0, "src"))
	}
	o := feed(t, cfg, good, func(int) events.Snapshot { return good(1 << 30) }, good, good)
	require.Equal(t, HoldNoChange, o.HoldKind, o.Hold)
}

func TestObserveMetricFeedsLag(t *testing.T) {
	var st State
	st = ObserveMetric(st, events.Metric{Name: "lag", Value: 5e6, ObservedAt: t0.Add(75 * time.Second)})
	st = ObserveMetric(st, events.Metric{Name: "lag", Value: math.NaN(), ObservedAt: t0.Add(76 * time.Second)})
	require.Equal(t, 5e6, st.Metrics["lag"].Value)
	cfg := Defaults()
	cfg.ScaleUpDelay = 0
	mk := func(s int) events.Snapshot {
		sn := snapAt(s, vtx("src", 2, 900, 41000, 41000), vtx("counter", 4, 700, 41000, 0, "src"))
		sn.Vertices[0].PendingRecords = nil
		return sn
	}
	o := V1{}.Decide(Input{Snapshot: mk(80), State: st, Config: cfg, Now: t0.Add(80 * time.Second)})
	o = V1{}.Decide(Input{Snapshot: mk(90), State: o.NewState, Config: cfg, Now: t0.Add(90 * time.Second)})
	// The user's 5M lag stands in for the missing pendingRecords: 122 s of
	// lag. When the restart is over the lag will be 122 + 30 s downtime +
	// 30 s replay (no checkpoint interval reported) = 182 s, 122 s over the
	// 60 s SLO; with a violation budget of 2 SLOs (120 s) the spare
	// capacity is 122 ÷ max(120 − 122, 60) = 2.03, capped at 2: the up rate
	// is 41k × 3 = 123k at 100 %. True rate 41k/0.9 = 45.56k at 2,
	// capacity(p) = 45.56k·(p/2)^0.9 ≥ 123k → p ≥ 6.03 → 7. The counter is
	// co-scaled in the same restart, as it cannot carry that rate either:
	// 41k/0.7 = 58.6k at 4, 58.6k·(p/4)^0.9 ≥ 123k → p ≥ 9.12 → 10.
	require.NotNil(t, o.Decision, o.Hold)
	require.Equal(t, 7, o.Decision.Vertices[0].Target)
	require.Equal(t, 10, o.Decision.Vertices[1].Target)
	require.Equal(t, 5e6, o.NewState.Window[len(o.NewState.Window)-1].V[0].Pending)
}

// A scale-down stops above a parallelism that a scale-up left while the rate
// is within the band of the one it could not carry there.
func TestDecideFloorStopsScaleDown(t *testing.T) {
	cfg := Defaults()
	cfg.ScaleDownWindow, cfg.RateWindow = 0, 2*time.Minute
	// map: 10,000 rec/s at 20 % busy on 8 subtasks: 6,250 per subtask;
	// capacity(2) = 6,250·2·(2/8)^−0.1 = 14,359 ≥ 10,000 → 2 without a floor.
	// Restart gate over 120 s: 6 slots saved × 120 = 720 > 30 s × (8 + 1.0 ×
	// 2) = 300; with the floor, 5 × 120 = 600 > 30 × (8 + 3) = 330.
	snap := func(s int) events.Snapshot {
		return snapAt(s, vtx("src", 1, 100, 10000, 10000), vtx("map", 8, 200, 10000, 10000, "src"))
	}
	cases := []struct {
		name   string
		floors map[string]Floor
		want   int
	}{
		{name: "no floor", want: 2},
		// 2 could not carry 10,500 rec/s; 10,000 ≥ 10,500 × 0.9 → 3.
		{name: "floor at the same rate", floors: map[string]Floor{"map": {P: 2, Rate: 10500}}, want: 3},
		// 2 could not carry 12,000 rec/s; 10,000 < 12,000 × 0.9 = 10,800.
		{name: "load fell below the floor's rate", floors: map[string]Floor{"map": {P: 2, Rate: 12000}}, want: 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			first := snap(80)
			o := Output{NewState: State{Topology: fingerprint(&first), Floors: c.floors}}
			for k := range 2 {
				s := snap(80 + 10*k)
				o = V1{}.Decide(Input{Snapshot: s, State: o.NewState, Config: cfg, Now: s.ObservedAt})
			}
			require.NotNil(t, o.Decision, o.Hold)
			require.Equal(t, c.want, o.Decision.Vertices[1].Target, o.Decision.Vertices[1].Reason)
		})
	}
}

// TestSlotsPerTaskManagerFromTheCluster: the first sizing case (targets 2
// and 4, so 4 shared slots) on TaskManagers of 4 slots needs 1 TaskManager,
// not 4; the cluster tells, the policy sets nothing. A policy value wins.
func TestSlotsPerTaskManagerFromTheCluster(t *testing.T) {
	steady := Defaults()
	steady.ScaleUpDelay = 0
	fixed := steady
	fixed.Slots.PerTaskManager = 2
	tests := []struct {
		name      string
		cfg       Config
		perTM     int // snapshot's slotsPerTaskManager
		total     int // snapshot's slotsTotal on its 2 TaskManagers
		wantPerTM int
		wantTMs   int
	}{
		{"reported by the TaskManagers", steady, 4, 8, 4, 1},
		{"from the overview when not reported", steady, 0, 8, 4, 1},
		{"nothing known: 1", steady, 0, 0, 1, 4},
		{"the policy's value wins", fixed, 4, 8, 2, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			snap := func(s int) events.Snapshot {
				sn := growing(s, vtx("src", 2, 900, 41000, 41000), vtx("counter", 3, 1000, 41000, 0, "src"))
				sn.SlotsPerTaskManager, sn.SlotsTotal = tt.perTM, tt.total
				return sn
			}
			o := feed(t, tt.cfg, snap, snap)
			require.NotNil(t, o.Decision, o.Hold)
			require.Equal(t, tt.wantPerTM, o.Decision.Slots.PerTaskManager)
			require.Equal(t, tt.wantTMs, o.Decision.TaskManagers.Target)
		})
	}
}
