package policy

import (
	"encoding/json"
	"fmt"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// gateJob is a two-vertex job at sec seconds, running since t0, the source
// at parallelism p.
func gateJob(sec, p int) events.Snapshot {
	return snapAt(sec, vtx("src", p, 500, 1000, 1000), vtx("dst", 2, 500, 1000, 0, "src"))
}

// gateHistory is the state the documented gates leave after gateJob
// snapshots every 10 s from 10 s to sec.
func gateHistory(t *testing.T, cfg Config, sec int) State {
	t.Helper()
	var st State
	for s := 10; s <= sec; s += 10 {
		snap := gateJob(s, 2)
		st, _ = accept(gateInput{snap: &snap, cfg: cfg, now: snap.ObservedAt}, st, oursGates)
	}
	require.Len(t, st.Window, sec/10)
	return st
}

// gateCase is one order contract: the gates in their documented order on
// st and snap must leave a state and hold that check accepts ("" when
// right).
type gateCase struct {
	name  string
	cfg   func(*Config)
	st    func(t *testing.T, cfg Config) State
	snap  events.Snapshot
	check func(in, out State, h *hold) string
}

func wantHold(h *hold, kind string) string {
	switch {
	case h == nil && kind != "":
		return "no hold, want " + kind
	case h != nil && h.kind != kind:
		return fmt.Sprintf("hold %s (%s), want %q", h.kind, h.msg, kind)
	}
	return ""
}

func gateCases() []gateCase {
	at := func(sec int) time.Time { return t0.Add(time.Duration(sec) * time.Second) }
	history := func(sec int) func(*testing.T, Config) State {
		return func(t *testing.T, cfg Config) State { return gateHistory(t, cfg, sec) }
	}
	// decided: the history to 190 s with a decision made at sec (applied
	// at 190 s when applied) for src at parallelism p.
	decided := func(sec, p int, applied bool) func(*testing.T, Config) State {
		return func(t *testing.T, cfg Config) State {
			st := gateHistory(t, cfg, 190)
			st.Rescale = &Rescale{DecisionID: "d", At: at(sec), Targets: map[string]int{"src": p}}
			if applied {
				st.Rescale.Applied = at(190)
			}
			st.UpSince = at(100)
			return st
		}
	}
	invalid := gateJob(200, 2)
	invalid.Vertices[1].BusyMsPerSecond = &events.AvgMax{Avg: math.NaN(), Max: math.NaN()}
	cyclic := gateJob(200, 2)
	cyclic.Vertices[0].Inputs = []events.Input{{ID: "dst"}}
	restarted := gateJob(200, 3)
	restarted.RunningSince = ptr(at(195))
	young := gateJob(80, 2)
	return []gateCase{{
		name: "order before validate: an invalid snapshot moves LastObservedAt, so its redelivery is a duplicate",
		st:   history(190), snap: invalid,
		check: func(_, out State, h *hold) string {
			if s := wantHold(h, HoldInvalid); s != "" {
				return s
			}
			if !out.LastObservedAt.Equal(at(200)) {
				return "LastObservedAt not moved to the invalid snapshot"
			}
			return ""
		},
	}, {
		name: "order before record: a duplicate is not recorded again",
		st:   history(200), snap: gateJob(200, 2),
		check: func(in, out State, h *hold) string {
			if s := wantHold(h, HoldDuplicate); s != "" {
				return s
			}
			if len(out.Window) != len(in.Window) {
				return "duplicate recorded"
			}
			return ""
		},
	}, {
		name: "validate before topology: an invalid snapshot never becomes the topology",
		st:   history(190), snap: cyclic,
		check: func(in, out State, h *hold) string {
			if s := wantHold(h, HoldInvalid); s != "" {
				return s
			}
			if out.Topology != in.Topology || len(out.Window) != len(in.Window) {
				return "an invalid snapshot reset the history"
			}
			return ""
		},
	}, {
		name: "validate before record: an invalid snapshot is not recorded",
		st:   history(190), snap: invalid,
		check: func(in, out State, h *hold) string {
			if len(out.Window) != len(in.Window) {
				return "invalid snapshot recorded"
			}
			return ""
		},
	}, {
		name: "topology before epoch: a new history's epoch is the run's start",
		st:   func(*testing.T, Config) State { return State{} }, snap: young,
		check: func(_, out State, h *hold) string {
			if !out.Epoch.Equal(t0) {
				return fmt.Sprintf("epoch %s, want the run's start", out.Epoch)
			}
			return ""
		},
	}, {
		name: "epoch before record: the sample belongs to the run it was taken in",
		st:   history(190), snap: restarted,
		check: func(_, out State, h *hold) string {
			if n := len(out.Window); n == 0 || !out.Window[n-1].Epoch.Equal(at(195)) {
				return "the sample is not in the new run"
			}
			return ""
		},
	}, {
		name: "record before in-flight: a snapshot taken while waiting is kept",
		st:   decided(150, 4, false),
		snap: gateJob(200, 2),
		check: func(_, out State, h *hold) string {
			if s := wantHold(h, HoldInFlight); s != "" {
				return s
			}
			if n := len(out.Window); n == 0 || !out.Window[n-1].At.Equal(at(200)) {
				return "the snapshot was not recorded"
			}
			return ""
		},
	}, {
		name: "in-flight before paused: a rescale is seen applied while paused",
		cfg:  func(c *Config) { c.Paused = true },
		st:   decided(150, 2, false),
		snap: gateJob(200, 2),
		check: func(_, out State, h *hold) string {
			if s := wantHold(h, HoldPaused); s != "" {
				return s
			}
			if out.Rescale == nil || !out.Rescale.Applied.Equal(at(200)) {
				return "the rescale was not seen applied"
			}
			return ""
		},
	}, {
		name: "paused before cooldown: a paused job says it is paused and forgets its scale-up signal",
		cfg:  func(c *Config) { c.Paused, c.MinInterval = true, time.Minute },
		st:   decided(180, 2, true),
		snap: gateJob(200, 2),
		check: func(_, out State, h *hold) string {
			if s := wantHold(h, HoldPaused); s != "" {
				return s
			}
			if !out.UpSince.IsZero() {
				return "UpSince kept while paused"
			}
			return ""
		},
	}, {
		name:  "cooldown before settle: the decision's cooldown is the wait named",
		cfg:   func(c *Config) { c.MinInterval = time.Minute },
		st:    decided(170, 3, true),
		snap:  restarted,
		check: func(_, _ State, h *hold) string { return wantHold(h, HoldCooldown) },
	}, {
		name: "record before settle: the sample just taken counts as fresh",
		st:   history(190), snap: gateJob(200, 2),
		check: func(_, _ State, h *hold) string { return wantHold(h, "") },
	}, {
		name: "paused before settle: a young paused job says it is paused",
		cfg:  func(c *Config) { c.Paused = true },
		st:   history(70), snap: young,
		check: func(_, _ State, h *hold) string { return wantHold(h, HoldPaused) },
	}}
}

// TestGateOrder checks each order contract of the gates on ours' and V1's
// (sharedGates, then settle) documented order, and that swapping any two
// gates breaks at least one contract: every pair's order matters and is
// checked.
func TestGateOrder(t *testing.T) {
	names := map[string][]string{
		"ours": {"order", "validate", "topology", "epoch", "record", "in-flight", "paused", "cooldown", "settle"},
		"v1":   {"order", "validate", "topology", "epoch", "record", "in-flight", "paused", "cooldown", "settle"},
	}
	for _, tc := range []struct {
		name    string
		gates   []gate
		lenient bool
	}{{"ours", oursGates, true}, {"v1", v1Gates, false}} {
		run := func(t *testing.T, gates []gate, c gateCase) string {
			cfg := Defaults()
			cfg.Settle = MeterSettle
			if c.cfg != nil {
				c.cfg(&cfg)
			}
			in := c.st(t, cfg)
			snap := c.snap
			out, h := accept(gateInput{snap: &snap, cfg: cfg, now: snap.ObservedAt, lenient: tc.lenient}, in, gates)
			return c.check(in, out, h)
		}
		t.Run(tc.name, func(t *testing.T) {
			require.Len(t, tc.gates, len(names[tc.name]))
			for _, c := range gateCases() {
				require.Empty(t, run(t, tc.gates, c), c.name)
			}
			for i := range tc.gates {
				for j := i + 1; j < len(tc.gates); j++ {
					swapped := append([]gate(nil), tc.gates...)
					swapped[i], swapped[j] = swapped[j], swapped[i]
					broken := 0
					for _, c := range gateCases() {
						if run(t, swapped, c) != "" {
							broken++
						}
					}
					require.Positive(t, broken, "%s swapped with %s breaks no contract", names[tc.name][i], names[tc.name][j])
				}
			}
		})
	}
}

// FuzzGates drives the gates of ours, V1 and the flink-operator baseline
// with a snapshot stream the fuzzer shapes (each 4 bytes: a time step that
// may be zero, negative or a clock jump; the job's state; a restart, a
// parallelism or topology change, a broken metric; a decision of ours in
// flight; paused) and checks the invariants every order must keep:
//   - the gates are pure: the same input gives the same output, and the
//     input state is not changed;
//   - LastObservedAt never goes back; the window is strictly ordered,
//     bounded, and never ahead of an accepted snapshot;
//   - a duplicate, out-of-order or timeless snapshot changes nothing;
//   - a job that is not running or is paused has no scale-up signal;
//   - a snapshot that passes every gate is recorded in the current run of
//     the current topology, with no decision in flight, out of its
//     cooldown and, where settle is a gate, settled.
func FuzzGates(f *testing.F) {
	f.Add([]byte{10, 0, 0, 0, 10, 0, 0, 0, 10, 0, 0, 0, 10, 0, 0, 0, 10, 0, 0, 0, 10, 0, 0, 0, 10, 0, 0, 0, 10, 0, 0, 0, 10, 0, 0, 0})
	f.Add([]byte{10, 0, 0, 0, 0, 0, 0, 0, 246, 0, 0, 0, 10, 1, 0, 0, 10, 2, 0, 0, 10, 0, 4, 0, 10, 0, 8, 1, 10, 0, 0, 2})
	f.Add([]byte{127, 0, 0, 0, 127, 3, 0, 0, 10, 0, 16, 0, 10, 0, 32, 1, 128, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := Defaults()
		cfg.Settle = MeterSettle
		cfg.MinInterval = 30 * time.Second
		cfg.MaxSamples = 8
		ops := FlinkOperator{Stabilization: 20 * time.Second, Window: 40 * time.Second}
		policies := []struct {
			name            string
			gates           []gate
			settle, lenient bool
		}{{"ours", oursGates, true, true}, {"v1", v1Gates, true, false}, {"operator", []gate{gateOrder, gateValidate,
			gateTopology, gateEpoch, gateRecord, ops.inFlight, gatePaused, ops.gate}, false, true}}
		for _, pol := range policies {
			var st State
			sec, p := 0, 2
			running := t0
			for k := 0; k+4 <= len(data) && k < 400; k += 4 {
				step, flags, change, ctl := int8(data[k]), data[k+1], data[k+2], data[k+3]
				switch {
				case step == -128:
					sec += int(maxJump/time.Second) + 60
				default:
					sec += int(step)
				}
				if change&1 != 0 {
					running = t0.Add(time.Duration(sec-int(change>>4)) * time.Second)
				}
				if change&2 != 0 {
					p = 1 + int(change>>2)%6
				}
				snap := snapAt(0, vtx("src", p, 500, 1000, 1000), vtx("dst", 2, 500, 1000, 0, "src"))
				snap.ObservedAt = t0.Add(time.Duration(sec) * time.Second)
				snap.RunningSince = ptr(running)
				if flags&1 != 0 {
					snap.JobState = "RESTARTING"
				}
				if flags&2 != 0 {
					snap.Vertices[1].BusyMsPerSecond.Avg = math.NaN()
				}
				if change&4 != 0 {
					snap.Vertices = append(snap.Vertices, vtx("sink", 1, 100, 1000, 0, "dst"))
				}
				if change&8 != 0 {
					st.Rescale = &Rescale{DecisionID: "d", At: snap.ObservedAt.Add(-time.Duration(ctl>>2) * time.Second),
						Targets: map[string]int{"src": 1 + int(ctl>>4)%6}}
				}
				c := cfg
				c.Paused = ctl&1 != 0
				g := gateInput{snap: &snap, cfg: c, now: snap.ObservedAt, lenient: pol.lenient}
				if flags&4 != 0 {
					g.now = time.Time{}
					snap.ObservedAt = time.Time{}
				}
				st = checkGates(t, pol.name, pol.gates, pol.settle, g, st)
			}
		}
	})
}

// checkGates runs gates twice on st and checks FuzzGates' invariants.
func checkGates(t *testing.T, name string, gates []gate, settle bool, g gateInput, st State) State {
	t.Helper()
	before, err := json.Marshal(st)
	require.NoError(t, err)
	out, h := accept(g, st, gates)
	again, h2 := accept(g, st, gates)
	after, err := json.Marshal(st)
	require.NoError(t, err)
	require.JSONEq(t, string(before), string(after), "%s: the gates changed their input state", name)
	require.Equal(t, out, again, "%s: not pure", name)
	require.Equal(t, h, h2, "%s: not pure", name)

	require.False(t, out.LastObservedAt.Before(st.LastObservedAt), "%s: LastObservedAt went back", name)
	for i, s := range out.Window {
		require.False(t, h == nil && s.At.After(g.now), "%s: a sample ahead of an accepted snapshot", name)
		if i > 0 {
			require.True(t, s.At.After(out.Window[i-1].At), "%s: window not strictly ordered", name)
		}
	}
	require.LessOrEqual(t, len(out.Window), max(g.cfg.MaxSamples, 1000), name)
	if h != nil {
		switch h.kind {
		case HoldDuplicate, HoldOutOfOrder:
			want := st
			want.Version = StateVersion
			require.Equal(t, want, out, "%s: %s changed the state", name, h.kind)
		case HoldNotRunning, HoldPaused:
			require.True(t, out.UpSince.IsZero(), "%s: %s kept a scale-up signal", name, h.kind)
		}
		return out
	}
	require.False(t, g.cfg.Paused, "%s: paused yet accepted", name)
	require.Equal(t, fingerprint(g.snap), out.Topology, name)
	n := len(out.Window)
	require.Positive(t, n, name)
	require.Equal(t, g.now, out.Window[n-1].At, "%s: not recorded", name)
	require.Equal(t, out.Epoch, out.Window[n-1].Epoch, "%s: recorded outside the current run", name)
	require.False(t, out.Epoch.IsZero() || out.Epoch.After(g.now), "%s: epoch %s", name, out.Epoch)
	if rs := out.Rescale; rs != nil {
		require.False(t, rs.Applied.IsZero() && name != "operator", "%s: accepted with a decision in flight", name)
		if name != "operator" {
			since := rs.At
			if out.Epoch.After(since) {
				since = out.Epoch
			}
			require.GreaterOrEqual(t, g.now.Sub(since), g.cfg.MinInterval, "%s: accepted within the cooldown", name)
		}
	}
	if settle {
		require.GreaterOrEqual(t, g.now.Sub(out.Epoch), g.cfg.Settle, "%s: accepted before settling", name)
	}
	return out
}

// After a gap longer than maxJump (decide or the job down for 7 h), the
// first snapshot resets the history and the next close after it is
// accepted, for every policy, also when a source is a legacy one (no busy
// time, no pendingRecords) that ours and the flink-operator baseline
// accept: the lone sample kept from the jump must be judged as the
// policy judges snapshots, or every later snapshot is a jump again.
func TestResumesAfterLongGap(t *testing.T) {
	mk := func(sec int, legacy bool) events.Snapshot {
		s := gateJob(sec, 2)
		if legacy {
			s.Vertices[0].BusyMsPerSecond, s.Vertices[0].PendingRecords = nil, nil
			s.Vertices[0].Incomplete = []string{"busyMsPerSecond", "pendingRecords"}
			s.Complete, s.Incomplete = false, []string{"busyMsPerSecond", "pendingRecords"}
		}
		s.RunningSince = ptr(t0)
		return s
	}
	gap := int((7 * time.Hour).Seconds())
	for _, legacy := range []bool{false, true} {
		for _, pol := range []struct {
			name    string
			gates   []gate
			lenient bool
		}{{"ours", oursGates, true}, {"v1", v1Gates, false}, {"operator", []gate{gateOrder, gateValidate}, true}} {
			if legacy && !pol.lenient {
				continue
			}
			t.Run(fmt.Sprintf("%s legacy=%v", pol.name, legacy), func(t *testing.T) {
				cfg := Defaults()
				var st State
				var h *hold
				for _, sec := range []int{10, 20, gap, gap + 10} {
					snap := mk(sec, legacy)
					st, h = accept(gateInput{snap: &snap, cfg: cfg, now: snap.ObservedAt, lenient: pol.lenient}, st, pol.gates[:2])
					if sec == gap {
						require.NotNil(t, h)
						require.Equal(t, HoldTimeJump, h.kind)
					}
				}
				require.Nil(t, h, "the snapshot after the jump is accepted")
			})
		}
	}
}

// checkDAG judges a job alike whether it is searched in place or through
// a map (more than smallJob vertices), and marks the vertices that feed
// another.
func TestCheckDAG(t *testing.T) {
	chain := func(n int) events.Snapshot {
		vs := []events.VertexSnapshot{vtx("v0", 1, 0, 0, 0)}
		for i := 1; i < n; i++ {
			vs = append(vs, vtx(fmt.Sprintf("v%d", i), 1, 0, 0, 0, fmt.Sprintf("v%d", i-1)))
		}
		return snapAt(0, vs...)
	}
	for _, n := range []int{3, smallJob, smallJob + 5} {
		for _, c := range []struct {
			name  string
			spoil func(vs []events.VertexSnapshot)
			err   string
		}{
			{"a chain", func([]events.VertexSnapshot) {}, ""},
			{"no id", func(vs []events.VertexSnapshot) { vs[2].ID = "" }, "vertex 2 has no id"},
			{"id twice", func(vs []events.VertexSnapshot) { vs[2].ID = "v0" }, "vertex id v0 appears twice"},
			{"input downstream", func(vs []events.VertexSnapshot) { vs[1].Inputs[0].ID = "v2" }, "vertex v1: input v2 is unknown or not upstream"},
			{"input itself", func(vs []events.VertexSnapshot) { vs[1].Inputs[0].ID = "v1" }, "vertex v1: input v1 is unknown or not upstream"},
			{"input unknown", func(vs []events.VertexSnapshot) { vs[2].Inputs[0].ID = "x" }, "vertex v2: input x is unknown or not upstream"},
		} {
			t.Run(fmt.Sprintf("%d vertices, %s", n, c.name), func(t *testing.T) {
				s := chain(n)
				c.spoil(s.Vertices)
				feeds := make([]bool, n)
				err := checkDAG(&s, feeds)
				if c.err != "" {
					require.EqualError(t, err, c.err)
					return
				}
				require.NoError(t, err)
				for i := range n {
					require.Equal(t, i < n-1, feeds[i], "vertex %d", i)
				}
			})
		}
	}
}
