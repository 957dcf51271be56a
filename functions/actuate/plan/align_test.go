package plan

import (
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

func TestAlignCheckpoint(t *testing.T) {
	one := events.Slots{PerTaskManager: 1, Sharing: "shared"}
	const (
		scale, slots, put, verify = KindScaleTaskManagers, KindWaitSlots, KindPutRequirements, KindVerifyRequirements
		wait, ckpt                = KindWaitParallelism, KindWaitCheckpoint
	)
	tests := []struct {
		name     string
		d        events.Decision
		cur      Current
		align    bool
		interval time.Duration
		want     []Kind
	}{
		{"adaptive up: after the slots, before put", decision(events.ModeAdaptive, one, 4, 2),
			Current{TaskManagers: 2, Requirements: reqs(2, 2)}, true, time.Minute,
			[]Kind{scale, slots, ckpt, put, verify, wait}},
		{"adaptive down: first", decision(events.ModeAdaptive, one, 1, 1),
			Current{TaskManagers: 2, Requirements: reqs(2, 2)}, true, time.Minute,
			[]Kind{ckpt, put, verify, wait, scale}},
		{"adaptive down, requirements unchanged: no restart, no wait", decision(events.ModeAdaptive, one, 2, 2),
			Current{TaskManagers: 3, Requirements: reqs(2, 2)}, true, time.Minute,
			[]Kind{wait, scale}},
		{"keda level", decision(events.ModeKEDA, one, 2, 1),
			Current{TaskManagers: 2, Requirements: reqs(2, 2)}, true, time.Minute,
			[]Kind{ckpt, put, verify, wait}},
		{"session", decision(events.ModeSession, one, 3, 3),
			Current{TaskManagers: 2, Requirements: reqs(2, 2)}, true, time.Minute,
			[]Kind{ckpt, put, verify, wait}},
		{"reactive down: before scale", decision(events.ModeReactive, one, 1),
			Current{TaskManagers: 3}, true, time.Minute,
			[]Kind{ckpt, scale, wait}},
		{"reactive up: the restart follows the slots, no wait", decision(events.ModeReactive, one, 4),
			Current{TaskManagers: 3}, true, time.Minute,
			[]Kind{scale, slots, wait}},
		{"alignment off", decision(events.ModeAdaptive, one, 4, 2),
			Current{TaskManagers: 2, Requirements: reqs(2, 2)}, false, time.Minute,
			[]Kind{scale, slots, put, verify, wait}},
		{"no checkpointing", decision(events.ModeAdaptive, one, 4, 2),
			Current{TaskManagers: 2, Requirements: reqs(2, 2)}, true, 0,
			[]Kind{scale, slots, put, verify, wait}},
		{"nothing to do", decision(events.ModeAdaptive, one, 2, 2),
			Current{TaskManagers: 2, Requirements: reqs(2, 2)}, true, time.Minute, nil},
		// decide's pin of a job's bounds before its first decision: Flink's
		// default lower bound 1 raised to what runs restarts nothing
		{"bounds declared at what runs: no restart, no wait", decision(events.ModeAdaptive, one, 3, 1),
			Current{TaskManagers: 3, Requirements: map[string]Bounds{"a": {Lower: 1, Upper: 3}, "b": {Lower: 1, Upper: 1}},
				Parallelism: map[string]int{"a": 3, "b": 1}}, true, time.Minute,
			[]Kind{put, verify, wait}},
		// Flink 2 rescales a running job on its next completed checkpoint:
		// a put waits for none, a restart by removed TaskManagers does
		{"flink 2 adaptive up: no wait before put", decision(events.ModeAdaptive, one, 4, 2),
			Current{TaskManagers: 2, Requirements: reqs(2, 2), RescalesOnCheckpoint: true}, true, time.Minute,
			[]Kind{scale, slots, put, verify, wait}},
		{"flink 2 adaptive down: no wait before put", decision(events.ModeAdaptive, one, 1, 1),
			Current{TaskManagers: 2, Requirements: reqs(2, 2), RescalesOnCheckpoint: true}, true, time.Minute,
			[]Kind{put, verify, wait, scale}},
		{"flink 2 reactive down: before scale", decision(events.ModeReactive, one, 1),
			Current{TaskManagers: 3, RescalesOnCheckpoint: true}, true, time.Minute,
			[]Kind{ckpt, scale, wait}},
		// decide's release of idle TaskManagers: every vertex kept, its
		// bounds declared at what runs
		{"idle TaskManagers released, bounds at what runs: no restart, no wait", releasing(decision(events.ModeAdaptive, one, 2, 1), 4, 2),
			Current{TaskManagers: 4, Requirements: defaultLower(2, 1), Parallelism: map[string]int{"a": 2, "b": 1}}, true, time.Minute,
			[]Kind{put, verify, wait, scale}},
		{"idle TaskManagers released with a vertex lowered: waits", releasing(decision(events.ModeAdaptive, one, 1, 1), 4, 2),
			Current{TaskManagers: 4, Requirements: defaultLower(2, 1), Parallelism: map[string]int{"a": 2, "b": 1}}, true, time.Minute,
			[]Kind{ckpt, put, verify, wait, scale}},
		{"bounds declared at what a down job ran at: it restarts", decision(events.ModeAdaptive, one, 3, 1),
			Current{TaskManagers: 3, Requirements: map[string]Bounds{"a": {Lower: 1, Upper: 3}, "b": {Lower: 1, Upper: 1}},
				Down: true}, true, time.Minute,
			[]Kind{ckpt, put, verify, wait}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cur.CheckpointInterval = tt.interval
			p, err := For(tt.d, tt.cur, Options{OwnsTaskManagers: tt.d.Mode != events.ModeKEDA, AlignCheckpoint: tt.align})
			require.NoError(t, err)
			require.Equal(t, tt.want, kinds(p))
			for _, s := range p.Steps {
				if s.Kind == KindWaitCheckpoint {
					require.Equal(t, tt.interval, s.CheckpointInterval)
				}
			}
		})
	}
}

func TestCheckpointWait(t *testing.T) {
	const s = time.Second
	tests := []struct {
		name                 string
		age, interval, limit time.Duration
		want                 time.Duration
	}{
		{"fresh: restart now", 5 * s, 60 * s, 90 * s, 0},
		{"just past fresh: until the next one", 7 * s, 60 * s, 90 * s, 59 * s},
		{"half way", 30 * s, 60 * s, 90 * s, 36 * s},
		{"none yet: one interval", -1, 60 * s, 90 * s, 66 * s},
		{"late: until the next on the schedule", 70 * s, 60 * s, 90 * s, 56 * s},
		{"late by intervals: the next on the schedule", 170 * s, 60 * s, 90 * s, 16 * s},
		{"late, the next beyond the limit: a fresh window", 70 * s, 60 * s, 30 * s, 6 * s},
		{"next one beyond the limit: restart now", 60 * s, 10 * 60 * s, 2 * 60 * s, 0},
		{"capped by the limit", 10 * s, 60 * s, 52 * s, 52 * s},
		{"no checkpointing", 10 * s, 0, 90 * s, 0},
		{"alignment limit zero", 10 * s, 60 * s, 0, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, CheckpointWait(tt.age, -1, tt.interval, tt.limit))
			if tt.age >= 0 {
				require.Equal(t, tt.want, CheckpointWait(tt.age, tt.age+s, tt.interval, tt.limit), "running since before the checkpoint")
			}
		})
	}
	// The schedule starts anew with the job's run: a restart 100 s after a
	// checkpoint taken 157 s ago (3 min interval) has the next one due
	// 123 s from now, not 23 s.
	require.Equal(t, 123*s+18*s, CheckpointWait(157*s, 57*s, 180*s, 198*s))
	require.Equal(t, time.Duration(0), CheckpointWait(157*s, 57*s, 180*s, 30*s), "beyond a scale-up's bound: restart now")
	require.Equal(t, 18*s, CheckpointWait(-1, 200*s, 180*s, 198*s), "none yet, late since the run began")
	require.Equal(t, 18*s, CheckpointWait(400*s, 200*s, 180*s, 198*s), "none this run, late since the run began")
	// hourly-batch-dedup (6-minute checkpoints, 3 % of them fail): a
	// scale-down decided 9m43s after the last completion, the one due at
	// 6m failed. The next completes at 12m: wait 2m17s and the fresh
	// margin (36 s), within the patient bound (6m36s), not 36 s and a
	// restart that replays from the checkpoint 10 minutes back.
	require.Equal(t, 137*s+36*s, CheckpointWait(583*s, 1700*s, 360*s, 396*s))
}

// A decision that raises no vertex gets a patient wait-checkpoint step, which
// may wait a whole interval (60 s + 6 s fresh margin) beyond actuate's 30 s
// bound; one that raises any vertex keeps the bound.
func TestPatientCheckpointWait(t *testing.T) {
	one := events.Slots{PerTaskManager: 1, Sharing: "shared"}
	cur := Current{TaskManagers: 3, Requirements: reqs(3, 3), CheckpointInterval: time.Minute}
	mk := func(targets ...int) events.Decision {
		d := decision(events.ModeAdaptive, one, targets...)
		for i := range d.Vertices {
			d.Vertices[i].Current = 3
		}
		return d
	}
	for _, tt := range []struct {
		name    string
		d       events.Decision
		patient bool
		limit   time.Duration
	}{
		{"scale-down", mk(2, 1), true, 66 * time.Second},
		{"one vertex down, one up", mk(2, 4), false, 30 * time.Second},
		{"scale-up", mk(4, 4), false, 30 * time.Second},
	} {
		t.Run(tt.name, func(t *testing.T) {
			p, err := For(tt.d, cur, Options{OwnsTaskManagers: true, AlignCheckpoint: true})
			require.NoError(t, err)
			i := slices.IndexFunc(p.Steps, func(s Step) bool { return s.Kind == KindWaitCheckpoint })
			require.GreaterOrEqual(t, i, 0, "%v", kinds(p))
			require.Equal(t, tt.patient, p.Steps[i].Patient)
			require.Equal(t, tt.limit, CheckpointLimit(p.Steps[i], 30*time.Second))
		})
	}
	require.Equal(t, 2*time.Minute, CheckpointLimit(Step{Kind: KindWaitCheckpoint, CheckpointInterval: time.Minute, Patient: true}, 2*time.Minute),
		"a configured bound above the interval stands")
}

// A job that rescales only on a completed checkpoint (Flink 2) gets a
// trigger-checkpoint step right before the wait for its new parallelism,
// when a put or a reactive scale-up's slots change it and the job runs;
// a failover's restart (a folded scale-down, a job that is down) gets
// none.
func TestTriggerCheckpoint(t *testing.T) {
	one := events.Slots{PerTaskManager: 1, Sharing: "shared"}
	const (
		scale, slots, put, verify = KindScaleTaskManagers, KindWaitSlots, KindPutRequirements, KindVerifyRequirements
		wait, trig, released      = KindWaitParallelism, KindTriggerCheckpoint, KindWaitReleased
	)
	flink2 := func(c Current) Current {
		c.CheckpointInterval, c.RescalesOnCheckpoint = 5*time.Minute, true
		return c
	}
	opt := Options{OwnsTaskManagers: true, TriggerCheckpoint: true}
	tests := []struct {
		name string
		d    events.Decision
		cur  Current
		opt  Options
		want []Kind
	}{
		{"adaptive up", decision(events.ModeAdaptive, one, 4, 2), flink2(Current{TaskManagers: 2, Requirements: reqs(2, 2)}), opt,
			[]Kind{scale, slots, put, verify, trig, wait}},
		{"adaptive down", decision(events.ModeAdaptive, one, 1, 1), flink2(Current{TaskManagers: 2, Requirements: reqs(2, 2)}), opt,
			[]Kind{put, verify, trig, wait, scale}},
		{"reactive up", decision(events.ModeReactive, one, 4), flink2(Current{TaskManagers: 3}), opt,
			[]Kind{scale, slots, trig, wait}},
		{"reactive down: a failover", decision(events.ModeReactive, one, 1), flink2(Current{TaskManagers: 3}), opt,
			[]Kind{scale, wait}},
		{"folded down: a failover", decision(events.ModeAdaptive, one, 1, 1), flink2(Current{TaskManagers: 2, Requirements: reqs(2, 2)}),
			Options{OwnsTaskManagers: true, TriggerCheckpoint: true, FoldScaleDown: true},
			[]Kind{scale, released, put, verify, wait}},
		{"idle TaskManagers released, bounds at what runs: nothing to rescale", releasing(decision(events.ModeAdaptive, one, 2, 1), 4, 2),
			flink2(Current{TaskManagers: 4, Requirements: defaultLower(2, 1), Parallelism: map[string]int{"a": 2, "b": 1}}),
			Options{OwnsTaskManagers: true, TriggerCheckpoint: true, FoldScaleDown: true},
			[]Kind{put, verify, wait, scale}},
		{"job down", decision(events.ModeAdaptive, one, 4, 2), flink2(Current{TaskManagers: 2, Requirements: reqs(2, 2), Down: true}), opt,
			[]Kind{put, scale, slots, put, verify, wait}},
		{"flink 1.x", decision(events.ModeAdaptive, one, 4, 2), Current{TaskManagers: 2, Requirements: reqs(2, 2), CheckpointInterval: time.Minute}, opt,
			[]Kind{scale, slots, put, verify, wait}},
		{"trigger off", decision(events.ModeAdaptive, one, 4, 2), flink2(Current{TaskManagers: 2, Requirements: reqs(2, 2)}), Options{OwnsTaskManagers: true},
			[]Kind{scale, slots, put, verify, wait}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := For(tt.d, tt.cur, tt.opt)
			require.NoError(t, err)
			require.Equal(t, tt.want, kinds(p))
		})
	}
}

// defaultLower is the requirements Flink declares for a job submitted at
// parallelisms ps: lower bound 1, upper bound the parallelism.
func defaultLower(ps ...int) map[string]Bounds {
	m := map[string]Bounds{}
	for i, p := range ps {
		m[vid(i)] = Bounds{Lower: 1, Upper: p}
	}
	return m
}

// releasing is d as decide's releaseIdle makes it: the TaskManager count
// moved from from to to.
func releasing(d events.Decision, from, to int) events.Decision {
	d.TaskManagers = events.Count{Current: from, Target: to}
	return d
}
