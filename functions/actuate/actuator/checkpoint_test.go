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
