package plan

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

func decision(mode string, s events.Slots, targets ...int) events.Decision {
	d := events.Decision{DecisionID: "d1", Mode: mode, Slots: s}
	for i, t := range targets {
		d.Vertices = append(d.Vertices, events.VertexDecision{ID: vid(i), Target: t})
	}
	return d
}

func vid(i int) string { return string(rune('a' + i)) }

func reqs(ps ...int) map[string]Bounds {
	m := map[string]Bounds{}
	for i, p := range ps {
		m[vid(i)] = Bounds{Lower: p, Upper: p}
	}
	return m
}

func TestTaskManagers(t *testing.T) {
	tests := []struct {
		name    string
		d       events.Decision
		wantTMs int
	}{
		{"(4,2) shared at 1 slot per TM", decision(events.ModeAdaptive, events.Slots{PerTaskManager: 1, Sharing: "shared"}, 4, 2), 4},
		{"(4,2) dedicated at 1 slot per TM", decision(events.ModeAdaptive, events.Slots{PerTaskManager: 1, Sharing: "dedicated"}, 4, 2), 6},
		{"p=8 at 4 slots per TM", decision(events.ModeReactive, events.Slots{PerTaskManager: 4}, 8), 2},
		{"p=8 at 8 slots per TM with 1 standby", decision(events.ModeAdaptive, events.Slots{PerTaskManager: 8, Standby: 1}, 8), 2},
		{"groups add their maxima", decision(events.ModeKEDA, events.Slots{PerTaskManager: 2, Groups: map[string]string{"c": "g2"}}, 3, 5, 4), 5},
		{"reactive ignores dedicated slots: one parallelism", decision(events.ModeReactive, events.Slots{PerTaskManager: 1, Sharing: "dedicated"}, 4, 2), 4},
		{"upper bound counts, not target", func() events.Decision {
			d := decision(events.ModeAdaptive, events.Slots{PerTaskManager: 1}, 2)
			d.Vertices[0].Lower, d.Vertices[0].Upper = 1, 6
			return d
		}(), 6},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, _, err := TaskManagers(tt.d)
			require.NoError(t, err)
			require.Equal(t, tt.wantTMs, got)
		})
	}
}

func kinds(p Plan) []Kind {
	var k []Kind
	for _, s := range p.Steps {
		k = append(k, s.Kind)
	}
	return k
}

func TestFor(t *testing.T) {
	one := events.Slots{PerTaskManager: 1}
	put := []Kind{KindPutRequirements, KindVerifyRequirements, KindWaitParallelism}
	tests := []struct {
		name    string
		d       events.Decision
		cur     Current
		owns    bool
		wantDir string
		want    []Kind
	}{
		{"adaptive up: TMs, slots, then requirements", decision(events.ModeAdaptive, one, 4, 2),
			Current{TaskManagers: 2, Requirements: reqs(2, 2)}, true, DirectionUp,
			append([]Kind{KindScaleTaskManagers, KindWaitSlots}, put...)},
		{"adaptive up while the job is down: requirements first, then TMs, slots and requirements again", decision(events.ModeAdaptive, one, 4, 2),
			Current{TaskManagers: 2, Requirements: reqs(2, 2), Down: true}, true, DirectionUp,
			append([]Kind{KindPutRequirements, KindScaleTaskManagers, KindWaitSlots}, put...)},
		{"keda up while the job is down: requirements before the declare", decision(events.ModeKEDA, one, 6),
			Current{TaskManagers: 2, Requirements: reqs(2), Down: true}, false, DirectionUp,
			append([]Kind{KindPutRequirements, KindDeclareTaskManagers, KindWaitSlots}, put...)},
		{"adaptive up while down, requirements already declared: TMs first", decision(events.ModeAdaptive, one, 4, 2),
			Current{TaskManagers: 2, Requirements: reqs(4, 2), Down: true}, true, DirectionUp,
			append([]Kind{KindScaleTaskManagers, KindWaitSlots}, put...)},
		{"adaptive down while the job is down: unchanged order", decision(events.ModeAdaptive, one, 2, 2),
			Current{TaskManagers: 4, Requirements: reqs(4, 2), Down: true}, true, DirectionDown,
			append(put, KindScaleTaskManagers)},
		{"adaptive up of a job running below its bounds: pin, then TMs, slots and requirements", decision(events.ModeAdaptive, one, 4, 4),
			Current{TaskManagers: 2, Requirements: reqs(3, 3), Parallelism: map[string]int{"a": 2, "b": 2}}, true, DirectionUp,
			append([]Kind{KindPinRequirements, KindScaleTaskManagers, KindWaitSlots}, put...)},
		{"keda up of a job running below its bounds: pin before the declare", decision(events.ModeKEDA, one, 6),
			Current{TaskManagers: 2, Requirements: reqs(4), Parallelism: map[string]int{"a": 2}}, false, DirectionUp,
			append([]Kind{KindPinRequirements, KindDeclareTaskManagers, KindWaitSlots}, put...)},
		{"adaptive up of a job running at its bounds: no pin", decision(events.ModeAdaptive, one, 4, 4),
			Current{TaskManagers: 2, Requirements: reqs(2, 2), Parallelism: map[string]int{"a": 2, "b": 2}}, true, DirectionUp,
			append([]Kind{KindScaleTaskManagers, KindWaitSlots}, put...)},
		{"adaptive up below its bounds, requirements already the decision's: Flink's own rescale is the one restart", decision(events.ModeAdaptive, one, 4, 2),
			Current{TaskManagers: 2, Requirements: reqs(4, 2), Parallelism: map[string]int{"a": 2, "b": 2}}, true, DirectionUp,
			append([]Kind{KindScaleTaskManagers, KindWaitSlots}, put...)},
		{"adaptive level below its bounds: no new slots, no pin", decision(events.ModeAdaptive, one, 2, 2),
			Current{TaskManagers: 2, Requirements: reqs(3, 3), Parallelism: map[string]int{"a": 2, "b": 2}}, true, DirectionLevel, put},
		{"adaptive down: requirements, wait, then TMs", decision(events.ModeAdaptive, one, 2, 2),
			Current{TaskManagers: 4, Requirements: reqs(4, 2)}, true, DirectionDown,
			append(put, KindScaleTaskManagers)},
		{"adaptive down with requirements already lowered still waits", decision(events.ModeAdaptive, one, 2, 2),
			Current{TaskManagers: 4, Requirements: reqs(2, 2)}, true, DirectionDown,
			[]Kind{KindWaitParallelism, KindScaleTaskManagers}},
		{"adaptive level: requirements only", decision(events.ModeAdaptive, one, 4, 2),
			Current{TaskManagers: 4, Requirements: reqs(4, 4)}, true, DirectionLevel, put},
		{"adaptive at target", decision(events.ModeAdaptive, one, 4, 2),
			Current{TaskManagers: 4, Requirements: reqs(4, 2)}, true, DirectionNone, nil},
		{"adaptive without a TM backend: requirements only", decision(events.ModeAdaptive, one, 4, 2),
			Current{TaskManagers: 2, Requirements: reqs(2, 2)}, false, DirectionLevel, put},
		{"keda up declares instead of scaling", decision(events.ModeKEDA, one, 6),
			Current{TaskManagers: 2, Requirements: reqs(2)}, false, DirectionUp,
			append([]Kind{KindDeclareTaskManagers, KindWaitSlots}, put...)},
		{"keda down declares last", decision(events.ModeKEDA, one, 1),
			Current{TaskManagers: 2, Requirements: reqs(2)}, false, DirectionDown,
			append(put, KindDeclareTaskManagers)},
		{"reactive up", decision(events.ModeReactive, events.Slots{PerTaskManager: 4}, 8),
			Current{TaskManagers: 1}, true, DirectionUp,
			[]Kind{KindScaleTaskManagers, KindWaitSlots, KindWaitParallelism}},
		{"reactive down", decision(events.ModeReactive, events.Slots{PerTaskManager: 4}, 4),
			Current{TaskManagers: 2}, true, DirectionDown,
			[]Kind{KindScaleTaskManagers, KindWaitParallelism}},
		{"reactive without a TM backend", decision(events.ModeReactive, one, 8),
			Current{TaskManagers: 2}, false, DirectionNone, nil},
		{"session: requirements only whatever the TMs", decision(events.ModeSession, events.Slots{}, 3),
			Current{TaskManagers: 9, Requirements: reqs(1)}, true, DirectionLevel, put},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := For(tt.d, tt.cur, Options{OwnsTaskManagers: tt.owns})
			require.NoError(t, err)
			require.Equal(t, tt.wantDir, p.Direction)
			require.Equal(t, tt.want, kinds(p))
			if p.Direction == DirectionNone {
				require.NotEmpty(t, p.Reason)
			}
		})
	}
}

// The pin lowers only the vertices running below their upper bounds, to
// what they run at (lower bounds kept at or below it), and a checkpoint
// wait goes before the decision's put, which restarts the job, not before
// the pin, which does not.
func TestForPinsWhatRuns(t *testing.T) {
	d := decision(events.ModeAdaptive, events.Slots{PerTaskManager: 2}, 4, 6, 2)
	cur := Current{TaskManagers: 2, Parallelism: map[string]int{"a": 1, "b": 3, "c": 2}, CheckpointInterval: time.Minute,
		Requirements: map[string]Bounds{"a": {Lower: 1, Upper: 4}, "b": {Lower: 4, Upper: 4}, "c": {Lower: 2, Upper: 2}}}
	p, err := For(d, cur, Options{OwnsTaskManagers: true, AlignCheckpoint: true})
	require.NoError(t, err)
	require.Equal(t, []Kind{KindPinRequirements, KindScaleTaskManagers, KindWaitSlots, KindWaitCheckpoint,
		KindPutRequirements, KindVerifyRequirements, KindWaitParallelism}, kinds(p))
	require.Equal(t, Step{Kind: KindPinRequirements,
		Requirements: map[string]Bounds{"a": {Lower: 1, Upper: 1}, "b": {Lower: 3, Upper: 3}, "c": {Lower: 2, Upper: 2}},
		Pinned:       map[string]Bounds{"a": {Lower: 1, Upper: 4}, "b": {Lower: 4, Upper: 4}}}, p.Steps[0])
	require.Equal(t, map[string]Bounds{"a": {Lower: 4, Upper: 4}, "b": {Lower: 6, Upper: 6}, "c": {Lower: 2, Upper: 2}}, p.Steps[4].Requirements)

	cur.Parallelism = nil // not RUNNING: nothing to pin
	p, err = For(d, cur, Options{OwnsTaskManagers: true})
	require.NoError(t, err)
	require.Equal(t, KindScaleTaskManagers, p.Steps[0].Kind)
}

func TestForStepContents(t *testing.T) {
	d := decision(events.ModeAdaptive, events.Slots{PerTaskManager: 2}, 6, 3)
	d.Vertices[1].Lower, d.Vertices[1].Upper = 1, 3
	p, err := For(d, Current{TaskManagers: 1, Requirements: reqs(2, 2)}, Options{OwnsTaskManagers: true})
	require.NoError(t, err)
	require.Equal(t, events.Count{Current: 1, Target: 3}, p.TaskManagers)
	require.Equal(t, 6, p.Slots)
	require.Equal(t, Step{Kind: KindScaleTaskManagers, TaskManagers: 3}, p.Steps[0])
	require.Equal(t, Step{Kind: KindWaitSlots, Slots: 6}, p.Steps[1])
	want := map[string]Bounds{"a": {6, 6}, "b": {1, 3}}
	require.Equal(t, want, p.Steps[2].Requirements)
	require.Equal(t, map[string]int{"a": 6, "b": 3}, p.Steps[4].Parallelism)
}

func TestReactiveParallelismCappedByMaxParallelism(t *testing.T) {
	d := decision(events.ModeReactive, events.Slots{PerTaskManager: 4}, 8, 8)
	p, err := For(d, Current{TaskManagers: 1, MaxParallelism: map[string]int{"b": 5}}, Options{OwnsTaskManagers: true})
	require.NoError(t, err)
	require.Equal(t, map[string]int{"a": 8, "b": 5}, p.Steps[2].Parallelism)
}

func TestForInvalid(t *testing.T) {
	one := events.Slots{PerTaskManager: 1}
	tests := []struct {
		name string
		d    events.Decision
		cur  Current
	}{
		{"unknown mode", decision("turbo", one, 2), Current{}},
		{"no vertices", decision(events.ModeAdaptive, one), Current{}},
		{"zero target", decision(events.ModeAdaptive, one, 0), Current{Requirements: reqs(1)}},
		{"zero slots per TM", decision(events.ModeAdaptive, events.Slots{}, 2), Current{Requirements: reqs(1)}},
		{"unknown sharing", decision(events.ModeAdaptive, events.Slots{PerTaskManager: 1, Sharing: "some"}, 2), Current{}},
		{"unknown vertex", decision(events.ModeAdaptive, one, 2, 2), Current{Requirements: reqs(1)}},
		{"lower above upper", func() events.Decision {
			d := decision(events.ModeSession, one, 2)
			d.Vertices[0].Lower, d.Vertices[0].Upper = 3, 2
			return d
		}(), Current{Requirements: reqs(1)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := For(tt.d, tt.cur, Options{OwnsTaskManagers: true})
			require.ErrorIs(t, err, ErrInvalid)
		})
	}
}

// TestKEDAOwnsTaskManagers: with KEDA as the owner (actuate's setting) every
// mode's TaskManager step is a declaration, so decide's default mode works
// unchanged.
func TestKEDAOwnsTaskManagers(t *testing.T) {
	one := events.Slots{PerTaskManager: 1}
	put := []Kind{KindPutRequirements, KindVerifyRequirements, KindWaitParallelism}
	keda := Options{DeclareTaskManagers: true, Tolerance: 0.1}
	tests := []struct {
		name    string
		d       events.Decision
		cur     Current
		wantDir string
		wantTMs int
		want    []Kind
	}{
		{"adaptive up declares", decision(events.ModeAdaptive, one, 5, 4), Current{TaskManagers: 2, Requirements: reqs(2, 2)},
			DirectionUp, 5, append([]Kind{KindDeclareTaskManagers, KindWaitSlots}, put...)},
		{"adaptive down declares last", decision(events.ModeAdaptive, one, 2, 1), Current{TaskManagers: 5, Requirements: reqs(5, 4)},
			DirectionDown, 2, append(put, KindDeclareTaskManagers)},
		{"reactive up declares", decision(events.ModeReactive, events.Slots{PerTaskManager: 2}, 8), Current{TaskManagers: 2},
			DirectionUp, 4, []Kind{KindDeclareTaskManagers, KindWaitSlots, KindWaitParallelism}},
		{"+1 at 10 TMs is declared beyond the HPA's band", decision(events.ModeAdaptive, one, 11), Current{TaskManagers: 10, Requirements: reqs(10)},
			DirectionUp, 12, append([]Kind{KindDeclareTaskManagers, KindWaitSlots}, put...)},
		{"-1 at 10 TMs keeps the TMs, lowers requirements", decision(events.ModeAdaptive, one, 9), Current{TaskManagers: 10, Requirements: reqs(10)},
			DirectionLevel, 10, put},
		{"session ignores the owner", decision(events.ModeSession, events.Slots{}, 3), Current{TaskManagers: 9, Requirements: reqs(1)},
			DirectionLevel, 9, put},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := For(tt.d, tt.cur, keda)
			require.NoError(t, err)
			require.Equal(t, tt.wantDir, p.Direction)
			require.Equal(t, tt.want, kinds(p))
			require.Equal(t, tt.wantTMs, p.TaskManagers.Target)
			for _, s := range p.Steps {
				require.NotEqual(t, KindScaleTaskManagers, s.Kind, "KEDA owns the replicas")
				if s.Kind == KindDeclareTaskManagers {
					require.Equal(t, tt.wantTMs, s.TaskManagers)
				}
			}
		})
	}
}

func TestKEDADecisionRefusedWhenActuateOwnsTaskManagers(t *testing.T) {
	_, err := For(decision(events.ModeKEDA, events.Slots{PerTaskManager: 1}, 4), Current{TaskManagers: 2, Requirements: reqs(2)},
		Options{OwnsTaskManagers: true})
	require.ErrorIs(t, err, ErrInvalid)
	require.ErrorContains(t, err, "set decide's policy mode to adaptive")
	require.ErrorContains(t, err, "--taskmanagers keda")
}

// TestOutsideTolerance checks the HPA arithmetic: with AverageValue target 1
// the HPA moves from current to value replicas only when
// |value/current − 1| > tolerance.
func TestOutsideTolerance(t *testing.T) {
	tests := []struct {
		name                 string
		target, current, out int
		tol                  float64
	}{
		{"no tolerance", 11, 10, 11, 0},
		{"a large step leaves the band", 5, 2, 5, 0.1},
		{"+1 at 10 goes to 12", 11, 10, 12, 0.1},
		{"+1 at 9 is 11 % and stays", 10, 9, 10, 0.1},
		{"+1 at 30 goes to 34", 31, 30, 34, 0.1},
		{"+3 at 30 (exactly 10 %) goes to 34", 33, 30, 34, 0.1},
		{"-1 at 10 stays at 10", 9, 10, 10, 0.1},
		{"-2 at 10 leaves the band", 8, 10, 8, 0.1},
		{"from nothing", 3, 0, 3, 0.1},
		{"equal", 7, 7, 7, 0.1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := OutsideTolerance(tt.target, tt.current, tt.tol)
			require.Equal(t, tt.out, got)
			if tt.tol > 0 && got != tt.current && tt.current > 0 {
				ratio := float64(got) / float64(tt.current)
				require.Greater(t, math.Abs(ratio-1), tt.tol, "the HPA would ignore %d at %d replicas", got, tt.current)
			}
		})
	}
}

// TestFoldScaleDown: a folded adaptive scale-down removes the TaskManagers
// first, waits for them to leave, then declares; the checkpoint wait comes
// before the removal, which is the restart. KEDA's declared counts, a
// TaskManager-only removal and every other direction keep their order.
func TestFoldScaleDown(t *testing.T) {
	one := events.Slots{PerTaskManager: 1}
	fold := Options{OwnsTaskManagers: true, FoldScaleDown: true, AlignCheckpoint: true}
	cur := Current{TaskManagers: 4, Requirements: reqs(4, 2), CheckpointInterval: 10e9}
	put := []Kind{KindPutRequirements, KindVerifyRequirements, KindWaitParallelism}

	p, err := For(decision(events.ModeAdaptive, one, 2, 2), cur, fold)
	require.NoError(t, err)
	require.Equal(t, DirectionDown, p.Direction)
	require.Equal(t, append([]Kind{KindWaitCheckpoint, KindScaleTaskManagers, KindWaitReleased}, put...), kinds(p))
	require.Equal(t, 2, p.Steps[1].TaskManagers)
	require.Equal(t, 2, p.Steps[2].TaskManagers, "wait until 2 TaskManagers are left")

	flink2 := cur
	flink2.RescalesOnCheckpoint = true
	p, err = For(decision(events.ModeAdaptive, one, 2, 2), flink2, fold)
	require.NoError(t, err)
	require.Equal(t, append([]Kind{KindWaitCheckpoint, KindScaleTaskManagers, KindWaitReleased}, put...), kinds(p),
		"Flink 2: the removal fails the job over, which waits for no checkpoint, so the wait stays")

	keda := fold
	keda.OwnsTaskManagers, keda.DeclareTaskManagers = false, true
	p, err = For(decision(events.ModeAdaptive, one, 2, 2), cur, keda)
	require.NoError(t, err)
	require.Equal(t, append([]Kind{KindWaitCheckpoint, KindDeclareTaskManagers, KindWaitReleased}, put...), kinds(p),
		"KEDA: the lower count is served first, the requirements go while the job restarts on the pods left")
	require.Equal(t, 2, p.Steps[1].TaskManagers)

	keda.MarkPods = true
	p, err = For(decision(events.ModeAdaptive, one, 2, 2), cur, keda)
	require.NoError(t, err)
	require.Equal(t, append([]Kind{KindMarkTaskManagers, KindWaitCheckpoint, KindDeclareTaskManagers, KindWaitReleased}, put...), kinds(p),
		"the pods are marked before the checkpoint wait, which goes right before the count drops")
	require.Equal(t, 2, p.Steps[0].TaskManagers, "2 TaskManagers stay")

	keda.FoldScaleDown = false
	p, err = For(decision(events.ModeAdaptive, one, 2, 2), cur, keda)
	require.NoError(t, err)
	require.Equal(t, []Kind{KindWaitCheckpoint, KindPutRequirements, KindVerifyRequirements, KindWaitParallelism, KindMarkTaskManagers, KindDeclareTaskManagers}, kinds(p),
		"not folded: marked after the rescale, from where Flink left the subtasks")

	owned := fold
	owned.MarkPods = true
	p, err = For(decision(events.ModeAdaptive, one, 2, 2), cur, owned)
	require.NoError(t, err)
	require.Equal(t, append([]Kind{KindMarkTaskManagers, KindWaitCheckpoint, KindScaleTaskManagers, KindWaitReleased}, put...), kinds(p),
		"actuate scaling the Deployment: its ReplicaSet picks the pods too, so they are marked before the checkpoint wait and the scale")
	owned.FoldScaleDown = false
	p, err = For(decision(events.ModeAdaptive, one, 2, 2), cur, owned)
	require.NoError(t, err)
	require.Equal(t, []Kind{KindWaitCheckpoint, KindPutRequirements, KindVerifyRequirements, KindWaitParallelism, KindMarkTaskManagers, KindScaleTaskManagers}, kinds(p),
		"not folded: marked after the rescale, right before the scale")
	p, err = For(decision(events.ModeAdaptive, one, 4, 2), Current{TaskManagers: 6, Requirements: reqs(4, 2)}, owned)
	require.NoError(t, err)
	require.Equal(t, []Kind{KindWaitParallelism, KindMarkTaskManagers, KindScaleTaskManagers}, kinds(p),
		"removing spare TaskManagers: the idle ones are marked to go")
	p, err = For(decision(events.ModeReactive, one, 2, 2), cur, owned)
	require.NoError(t, err)
	require.NotContains(t, kinds(p), KindMarkTaskManagers, "reactive mode runs on every TaskManager: no idle one to mark")

	p, err = For(decision(events.ModeAdaptive, one, 6, 2), cur, keda)
	require.NoError(t, err)
	require.NotContains(t, kinds(p), KindMarkTaskManagers, "a scale-up removes no pod")

	p, err = For(decision(events.ModeAdaptive, one, 4, 2), Current{TaskManagers: 6, Requirements: reqs(4, 2)}, fold)
	require.NoError(t, err)
	require.Equal(t, []Kind{KindWaitParallelism, KindScaleTaskManagers}, kinds(p), "requirements unchanged: removing spare TaskManagers restarts nothing to fold into")

	p, err = For(decision(events.ModeAdaptive, one, 6, 2), cur, fold)
	require.NoError(t, err)
	require.Equal(t, append([]Kind{KindScaleTaskManagers, KindWaitSlots, KindWaitCheckpoint}, put...), kinds(p), "a scale-up is not folded")

	idle := Current{TaskManagers: 6, Requirements: defaultLower(4, 2), Parallelism: map[string]int{"a": 4, "b": 2}, CheckpointInterval: 10e9}
	release := decision(events.ModeAdaptive, one, 4, 2)
	release.TaskManagers = events.Count{Current: 6, Target: 4}
	p, err = For(release, idle, fold)
	require.NoError(t, err)
	require.Equal(t, append(put, KindScaleTaskManagers), kinds(p),
		"idle TaskManagers released with the bounds declared at what runs: no restart to fold into, no checkpoint to wait for")
	idle.Parallelism = map[string]int{"a": 3, "b": 2}
	p, err = For(release, idle, fold)
	require.NoError(t, err)
	require.Equal(t, append([]Kind{KindWaitCheckpoint, KindScaleTaskManagers, KindWaitReleased}, put...), kinds(p),
		"a vertex running below the declared target: the put rescales it, so the removal is folded into that restart")
}
