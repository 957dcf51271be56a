package actuator

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flink"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
)

func TestAlignCheckpoint(t *testing.T) {
	noConfig := func(r *http.Request) (int, string, bool) {
		return http.StatusNotFound, `{"errors":["Checkpointing is not enabled for this job."]}`,
			strings.HasSuffix(r.URL.Path, "/checkpoints/config")
	}
	tests := []struct {
		name   string
		opt    Options
		faults []fault
		want   []string
	}{
		{"waits for a checkpoint right before the PUT", Options{AlignCheckpoint: true, CheckpointWait: 30 * time.Second}, nil,
			[]string{"scale-taskmanagers:done", "wait-slots:done", "wait-checkpoint:done", "put-requirements:done",
				"verify-requirements:done", "wait-parallelism:done"}},
		{"off", Options{}, nil,
			[]string{"scale-taskmanagers:done", "wait-slots:done", "put-requirements:done",
				"verify-requirements:done", "wait-parallelism:done"}},
		{"job without checkpointing: no wait", Options{AlignCheckpoint: true}, []fault{noConfig},
			[]string{"scale-taskmanagers:done", "wait-slots:done", "put-requirements:done",
				"verify-requirements:done", "wait-parallelism:done"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, "adaptive", true, tt.opt)
			e.inject(tt.faults...)
			waitFirstCheckpoint(t, e)
			r, err := e.act.Actuate(context.Background(), e.decision(events.ModeAdaptive, 3, 3))
			require.NoError(t, err)
			require.Equal(t, events.OutcomeApplied, r.Outcome, r.Error)
			require.Equal(t, tt.want, stepNames(r))
			require.Equal(t, []int{3, 3}, e.parallelism(t))
			for _, s := range r.Steps {
				if s.Name == "wait-checkpoint" {
					require.Regexp(t, `^(checkpoint \d+ completed|restart now: latest checkpoint completed)`, s.Detail)
					requireFreshRestore(t, e)
				}
			}
		})
	}
}

// waitFirstCheckpoint polls until the emulated job has completed a checkpoint.
func waitFirstCheckpoint(t *testing.T, e *env) {
	t.Helper()
	fc, err := flink.New(e.url, flink.Options{})
	require.NoError(t, err)
	e.await(t, func() bool {
		cp, err := fc.Checkpoints(context.Background(), e.jobID)
		return err == nil && cp.Latest.Completed != nil
	}, 20*time.Second, "a checkpoint completed")
}

// requireFreshRestore checks that the rescale restored a checkpoint that had
// completed shortly before (the emulator's time; its REST views refresh
// every few of its seconds).
func requireFreshRestore(t *testing.T, e *env) {
	t.Helper()
	fc, err := flink.New(e.url, flink.Options{})
	require.NoError(t, err)
	var cp flink.Checkpoints
	e.await(t, func() bool {
		cp, err = fc.Checkpoints(context.Background(), e.jobID)
		return err == nil && cp.Latest.Restored != nil
	}, 20*time.Second, "the rescale restored a checkpoint")
	var ack int64
	for _, c := range cp.History {
		if c.ID == cp.Latest.Restored.ID {
			ack = c.LatestAckTimestamp
		}
	}
	require.NotZero(t, ack, "restored checkpoint %d in the history", cp.Latest.Restored.ID)
	age := time.Duration(cp.Latest.Restored.RestoreTimestamp-ack) * time.Millisecond
	require.Less(t, age, 20*time.Second, "restart %s after the checkpoint it restored", age)
}

// On Flink 2 a running job rescales for new requirements on its next
// completed checkpoint, so actuate puts at once: a put declared after a
// checkpoint completes would land on the one after, an interval later.
func TestFlink2PutWaitsForNoCheckpoint(t *testing.T) {
	doc := strings.Replace(fmt.Sprintf(scenario, "adaptive"), "  restart: 2s\n", "  restart: 2s\n  flinkVersion: \"2.0\"\n", 1)
	e := newEnvOf(t, doc, true, Options{AlignCheckpoint: true, CheckpointWait: 30 * time.Second})
	waitFirstCheckpoint(t, e)
	before, ok := e.sim.LatestCheckpoint()
	require.True(t, ok)
	r, err := e.act.Actuate(context.Background(), e.decision(events.ModeAdaptive, 3, 3))
	require.NoError(t, err)
	require.Equal(t, events.OutcomeApplied, r.Outcome, r.Error)
	require.Equal(t, []string{"scale-taskmanagers:done", "wait-slots:done", "put-requirements:done",
		"verify-requirements:done", "wait-parallelism:done"}, stepNames(r))
	require.Equal(t, []int{3, 3}, e.parallelism(t))
	landed, ok := e.sim.LatestCheckpoint()
	require.True(t, ok)
	interval := time.Minute
	require.Less(t, landed-before, interval+interval/2, "landed on the checkpoint after the put, not the one after that")
}

// flink2Doc is the harness scenario on Flink 2 with checkpoints every
// interval.
func flink2Doc(interval string) string {
	return strings.Replace(fmt.Sprintf(scenario, "adaptive"), "  restart: 2s\n",
		"  restart: 2s\n  flinkVersion: \"2.0\"\n  checkpointInterval: "+interval+"\n", 1)
}

// With --trigger-checkpoint actuate asks a Flink 2 job for a checkpoint
// right after its new requirements, so it rescales on that one, not on
// the periodic one 10 minutes later; a job that just restarted is asked
// once it has run past the scheduler's cooldown, or the checkpoint would
// land nothing. Refused, the rescale waits for the periodic checkpoint and
// the plan goes on.
func TestTriggerCheckpointLandsFlink2Rescale(t *testing.T) {
	opt := Options{AlignCheckpoint: true, TriggerCheckpoint: true, CheckpointWait: 30 * time.Second, ParallelismWait: 15 * time.Minute / speed}
	t.Run("lands within seconds", func(t *testing.T) {
		e := newEnvOf(t, flink2Doc("10m"), true, opt)
		e.await(t, func() bool {
			return e.sim.Elapsed() > 40*time.Second && e.sim.GroundTruth().State == flinksim.StateRunning
		},
			20*time.Second, "the job runs past its cooldown")
		_, ok := e.sim.LatestCheckpoint()
		require.False(t, ok, "no periodic checkpoint yet")
		before := e.sim.Elapsed()
		r, err := e.act.Actuate(context.Background(), e.decision(events.ModeAdaptive, 3, 3))
		require.NoError(t, err)
		require.Equal(t, events.OutcomeApplied, r.Outcome, r.Error)
		require.Equal(t, []string{"scale-taskmanagers:done", "wait-slots:done", "put-requirements:done",
			"verify-requirements:done", "trigger-checkpoint:done", "wait-parallelism:done"}, stepNames(r))
		require.Contains(t, r.Steps[4].Detail, "checkpoint requested (trigger ")
		require.Equal(t, []int{3, 3}, e.parallelism(t))
		require.Less(t, e.sim.Elapsed()-before, time.Minute, "landed on the triggered checkpoint, not the periodic one 10 min on")
	})
	t.Run("after the cooldown", func(t *testing.T) {
		e := newEnvOf(t, flink2Doc("10m"), true, opt)
		e.await(t, func() bool {
			return e.sim.Elapsed() > 5*time.Second && e.sim.GroundTruth().State == flinksim.StateRunning
		}, 20*time.Second, "the job runs")
		r, err := e.act.Actuate(context.Background(), e.decision(events.ModeAdaptive, 3, 3))
		require.NoError(t, err)
		require.Equal(t, events.OutcomeApplied, r.Outcome, r.Error)
		require.Regexp(t, `checkpoint requested \(trigger [0-9a-f]{32}\): Flink rescales on its completion, asked \S+ later, once the job had run 30s`, r.Steps[4].Detail)
		require.Less(t, e.sim.Elapsed(), 2*time.Minute)
	})
	t.Run("refused", func(t *testing.T) {
		e := newEnvOf(t, flink2Doc("1m"), true, opt)
		e.inject(func(r *http.Request) (int, string, bool) {
			return http.StatusMethodNotAllowed, `{"errors":["Not found: /jobs/x/checkpoints"]}`,
				r.Method == http.MethodPost && strings.HasSuffix(r.URL.Path, "/checkpoints")
		})
		waitFirstCheckpoint(t, e)
		r, err := e.act.Actuate(context.Background(), e.decision(events.ModeAdaptive, 3, 3))
		require.NoError(t, err)
		require.Equal(t, events.OutcomeApplied, r.Outcome, r.Error)
		require.Contains(t, r.Steps[4].Detail, "not triggered, the rescale waits for the periodic checkpoint")
		require.Equal(t, []int{3, 3}, e.parallelism(t))
	})
}
