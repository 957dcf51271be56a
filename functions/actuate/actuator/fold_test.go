package actuator

import (
	"context"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/functions/actuate/taskmanagers"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flink"
)

// spreadScenario: 4 TaskManagers of 2 slots, the job at 8/8 with its
// subtasks spread as Flink leaves them (the emulator's default placement),
// checkpoints every 10 s. A scale-down to 2/2 needs 1 TaskManager.
const spreadScenario = `
name: actuate-fold
duration: 1h
seed: 11
cluster:
  scaling: adaptive
  slotsPerTaskManager: 2
  initialTaskManagers: 4
  maxTaskManagers: 8
  taskManagerStartup: 2s
  restart: 2s
%s
job:
  name: orders
  vertices:
    - {name: "Source: orders", parallelism: 8, maxParallelism: 16, capacity: 50000, partitions: 16}
    - {name: enrich, inputs: ["Source: orders"], parallelism: 8, maxParallelism: 16, capacity: 20000}
load: {pattern: constant, rate: 1000}
`

// checkpoints is the scenario line of a job that checkpoints every 10 s.
const checkpoints = "  checkpointInterval: 10s"

func foldOptions(fold bool) Options {
	return Options{SlotWait: 10 * time.Second, ParallelismWait: 10 * time.Second, Poll: 20 * time.Millisecond,
		AlignCheckpoint: true, CheckpointWait: 30 * time.Second, FoldScaleDown: fold, ReleaseWait: time.Second}
}

func (e *env) restarts(t *testing.T) int {
	t.Helper()
	return e.sim.GroundTruth().Restarts
}

func (e *env) scaleDown(t *testing.T) (events.Result, int) {
	t.Helper()
	e.await(t, func() bool { return e.sim.GroundTruth().State == "RUNNING" }, 30*time.Second, "the job runs")
	before := e.restarts(t)
	d := e.decision(events.ModeAdaptive, 2, 2)
	d.Slots.PerTaskManager = 2
	r, err := e.act.Actuate(context.Background(), d)
	require.NoError(t, err)
	// Let a late failover show.
	e.settle(300 * time.Millisecond)
	return r, e.restarts(t) - before
}

// TestFoldedScaleDownRestartsOnce: with the subtasks spread (as real Flink
// 1.20 leaves them), removing TaskManagers after the rescale fails the job
// over a second time; folding the removal into the rescale restarts it
// once. Both end at 2/2 on 1 TaskManager.
func TestFoldedScaleDownRestartsOnce(t *testing.T) {
	for _, tt := range []struct {
		fold      bool
		restarts  int
		wantSteps []string
	}{
		{false, 2, []string{"wait-checkpoint:done", "put-requirements:done", "verify-requirements:done",
			"wait-parallelism:done", "scale-taskmanagers:done"}},
		{true, 1, []string{"wait-checkpoint:done", "scale-taskmanagers:done", "wait-released:done",
			"put-requirements:done", "verify-requirements:done", "wait-parallelism:done"}},
	} {
		t.Run(fmt.Sprintf("fold=%v", tt.fold), func(t *testing.T) {
			e := newEnvOf(t, fmt.Sprintf(spreadScenario, checkpoints), true, foldOptions(tt.fold))
			r, restarts := e.scaleDown(t)
			require.Equal(t, events.OutcomeApplied, r.Outcome, r.Error)
			assert.Equal(t, tt.wantSteps, stepNames(r))
			assert.Equal(t, tt.restarts, restarts, "restarts for one scale-down")
			assert.Equal(t, 1, e.replicas(t))
			assert.Equal(t, []int{2, 2}, e.parallelism(t))
			assert.Equal(t, 1, e.desired(t).TaskManagers)
		})
	}
}

func jmConfig(body string) fault {
	return func(r *http.Request) (int, string, bool) {
		return http.StatusOK, body, r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/jobmanager/config")
	}
}

// noCheckpointing answers every checkpoint config read as Flink does for a
// job without checkpointing.
func noCheckpointing() []fault {
	var fs []fault
	for range 20 {
		fs = append(fs, func(r *http.Request) (int, string, bool) {
			return http.StatusNotFound, `{"errors":["Checkpointing is not enabled for this job."]}`, strings.HasSuffix(r.URL.Path, "/checkpoints/config")
		})
	}
	return fs
}

// TestFoldOnlyWithUnboundedRestarts: a folded scale-down's failover counts
// against Flink's restart strategy, so actuate folds only when that
// strategy is unbounded and readable; otherwise it removes the
// TaskManagers after the rescale and the scale step says why.
func TestFoldOnlyWithUnboundedRestarts(t *testing.T) {
	for _, tt := range []struct {
		name       string
		checkpoint string
		faults     []fault
		folds      bool
		why        string
	}{
		{"Flink's default", checkpoints, nil, true, ""},
		{"fixed-delay without a bound", checkpoints, []fault{jmConfig(`[{"key":"restart-strategy.type","value":"fixed-delay"},` +
			`{"key":"restart-strategy.fixed-delay.attempts","value":"2147483647"}]`)}, true, ""},
		{"fixed-delay, 3 attempts", checkpoints, []fault{jmConfig(`[{"key":"restart-strategy.type","value":"fixed-delay"},` +
			`{"key":"restart-strategy.fixed-delay.attempts","value":"3"}]`)}, false, "allows 3 restart attempts"},
		{"fixed-delay, attempts unset (1)", checkpoints, []fault{jmConfig(`[{"key":"restart-strategy","value":"fixeddelay"}]`)},
			false, "allows 1 restart attempts"},
		{"failure-rate", checkpoints, []fault{jmConfig(`[{"key":"restart-strategy.type","value":"failure-rate"}]`)}, false, "failure-rate"},
		{"none", checkpoints, []fault{jmConfig(`[{"key":"restart-strategy.type","value":"none"}]`)}, false, "would fail the job"},
		{"configuration unreadable", checkpoints, []fault{func(r *http.Request) (int, string, bool) {
			return http.StatusInternalServerError, `{"errors":["boom"]}`, strings.HasSuffix(r.URL.Path, "/jobmanager/config")
		}}, false, "could not be read"},
		{"the job's own strategy", checkpoints, []fault{func(r *http.Request) (int, string, bool) {
			return http.StatusOK, `{"jid":"x","name":"orders","execution-config":{"restart-strategy":"Restart with fixed delay (1000 ms). #3 restart attempts."}}`,
				strings.HasSuffix(r.URL.Path, "/config") && !strings.Contains(r.URL.Path, "jobmanager") && !strings.Contains(r.URL.Path, "checkpoints")
		}}, false, "sets its own restart strategy"},
		{"no checkpointing", checkpoints, noCheckpointing(), false, "does not checkpoint"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnvOf(t, fmt.Sprintf(spreadScenario, tt.checkpoint), true, foldOptions(true))
			e.inject(tt.faults...)
			r, _ := e.scaleDown(t)
			require.Equal(t, events.OutcomeApplied, r.Outcome, r.Error)
			names := stepNames(r)
			assert.Equal(t, tt.folds, names[len(names)-1] != "scale-taskmanagers:done", "folded: %v", names)
			for _, s := range r.Steps {
				if s.Name == "scale-taskmanagers" {
					if tt.why == "" {
						assert.NotContains(t, s.Detail, "not with it")
					} else {
						assert.Contains(t, s.Detail, "removed after the rescale, not with it: ")
						assert.Contains(t, s.Detail, tt.why)
					}
				}
			}
			assert.Equal(t, 1, e.replicas(t))
			assert.Equal(t, []int{2, 2}, e.parallelism(t))
		})
	}
}

// TestIdleReleaseWaitsForNoCheckpoint: decide's release of idle
// TaskManagers (every vertex kept) declares the job's bounds at what runs
// (Flink's default lower bound 1 raised), which restarts nothing. It is not
// folded and waits for no checkpoint: on real Flink 2.3.0 such a release
// waited 39 s for one, holding a TaskManager it had decided to let go.
func TestIdleReleaseWaitsForNoCheckpoint(t *testing.T) {
	doc := strings.NewReplacer("slotsPerTaskManager: 2", "slotsPerTaskManager: 1", "parallelism: 8", "parallelism: 2").
		Replace(fmt.Sprintf(spreadScenario, "  checkpointInterval: 1m"))
	opt := foldOptions(true)
	opt.MinInterval = time.Hour
	e := newEnvOf(t, doc, true, opt)
	e.await(t, func() bool {
		gt := e.sim.GroundTruth()
		return gt.State == "RUNNING" && gt.IdleTaskManagers == 2
	}, 30*time.Second, "the job runs, 2 of its 4 TaskManagers idle")
	waitFirstCheckpoint(t, e)
	before, took := e.restarts(t), e.sim.Now()
	d := e.decision(events.ModeAdaptive, 2, 2)
	d.TaskManagers = events.Count{Current: 4, Target: 2}
	r, err := e.act.Actuate(context.Background(), d)
	require.NoError(t, err)
	require.Equal(t, events.OutcomeApplied, r.Outcome, r.Error)
	assert.Equal(t, []string{"put-requirements:done", "verify-requirements:done", "wait-parallelism:done", "scale-taskmanagers:done"},
		stepNames(r), "bounds at what runs, then the idle TaskManagers go")
	assert.Less(t, e.sim.Now().Sub(took), 20*time.Second, "no wait for the next checkpoint, a minute away")
	e.settle(300 * time.Millisecond)
	assert.Equal(t, before, e.restarts(t), "nothing restarted")
	assert.Equal(t, 2, e.replicas(t))
	req, err := flinkClient(t, e).GetResourceRequirements(context.Background(), e.jobID)
	require.NoError(t, err)
	assert.Equal(t, flink.Bounds{Lower: 2, Upper: 2}, req[e.vertex[0]])

	// it restarted nothing, so it starts no rate limit: the job's next
	// decision, well within --min-interval, is made
	up := e.decision(events.ModeAdaptive, 3, 3)
	up.TaskManagers = events.Count{Current: 2, Target: 3}
	r, err = e.act.Actuate(context.Background(), up)
	require.NoError(t, err)
	require.Equal(t, events.OutcomeApplied, r.Outcome, "not rate limited by the release: %v %s", stepNames(r), r.Error)
	assert.Equal(t, []int{3, 3}, e.parallelism(t))
}

// TestFoldedScaleDownFailures: what a folded scale-down does when a step
// meets trouble.
func TestFoldedScaleDownFailures(t *testing.T) {
	t.Run("removed TaskManagers still listed: declared anyway", func(t *testing.T) {
		e := newEnvOf(t, fmt.Sprintf(spreadScenario, checkpoints), true, foldOptions(true))
		for range 200 {
			e.inject(func(r *http.Request) (int, string, bool) {
				return http.StatusOK, `{"taskmanagers":4,"slots-total":8,"slots-available":0,"jobs-running":1,"flink-version":"1.20.5"}`,
					r.URL.Path == "/overview"
			})
		}
		r, _ := e.scaleDown(t)
		require.Equal(t, events.OutcomeApplied, r.Outcome, r.Error)
		for _, s := range r.Steps {
			if s.Name == "wait-released" {
				assert.Equal(t, "done", s.Status)
				assert.Contains(t, s.Detail, "declaring anyway: timed out after "+e.options.ReleaseWait.String()+": 4 TaskManagers registered, 1 kept")
			}
		}
		assert.Equal(t, []int{2, 2}, e.parallelism(t))
	})
	t.Run("requirements refused after the removal: partial, TaskManagers kept", func(t *testing.T) {
		e := newEnvOf(t, fmt.Sprintf(spreadScenario, checkpoints), true, foldOptions(true))
		e.inject(onPut(http.StatusInternalServerError, nonAdaptive))
		r, _ := e.scaleDown(t)
		require.Equal(t, events.OutcomePartial, r.Outcome)
		assert.Contains(t, r.Error, "adaptive scheduler")
		assert.Equal(t, []string{"wait-checkpoint:done", "scale-taskmanagers:done", "wait-released:done",
			"put-requirements:failed", "verify-requirements:skipped", "wait-parallelism:skipped"}, stepNames(r),
			"no rollback: the removal already restarted the job on the TaskManager left")
		assert.Equal(t, 1, e.replicas(t))
		assert.Equal(t, 1, e.desired(t).TaskManagers)
		e.await(t, func() bool {
			gt := e.sim.GroundTruth()
			return gt.State == "RUNNING" && gt.Vertices[0].Parallelism == 2
		}, 5*time.Second, "the job runs at what the 2 slots left allow")
	})
	t.Run("TaskManagers cannot be removed: nothing changed, retried", func(t *testing.T) {
		e := newEnvOf(t, fmt.Sprintf(spreadScenario, checkpoints), true, foldOptions(true))
		e.use(failingScale{TaskManagers: e.deps.TaskManagers})
		e.await(t, func() bool { return e.sim.GroundTruth().State == "RUNNING" }, 30*time.Second, "the job runs")
		d := e.decision(events.ModeAdaptive, 2, 2)
		d.Slots.PerTaskManager = 2
		_, err := e.act.Actuate(context.Background(), d)
		require.ErrorIs(t, err, ErrTransient)
		assert.Equal(t, 4, e.replicas(t))
		assert.Equal(t, []int{8, 8}, e.parallelism(t))
		req, err := flinkClient(t, e).GetResourceRequirements(context.Background(), e.jobID)
		require.NoError(t, err)
		assert.Equal(t, 8, req[e.vertex[0]].Upper, "requirements untouched")
	})
}

// failingScale is a TaskManager backend whose scaling is unreachable.
type failingScale struct{ TaskManagers }

func (failingScale) Scale(context.Context, string, string, int) error {
	return fmt.Errorf("%w: connection refused", taskmanagers.ErrUnreachable)
}

func flinkClient(t *testing.T, e *env) *flink.Client {
	t.Helper()
	fc, err := flink.New(e.url, flink.Options{})
	require.NoError(t, err)
	return fc
}

// TestReleaseWaitValidated: a folded scale-down needs a bound on its wait.
func TestReleaseWaitValidated(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Flink = map[string]string{"prod": "http://127.0.0.1:8081"}
	cfg.Options.ReleaseWait = 0
	err := cfg.Validate()
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--release-wait: 0s: want a positive duration with --fold-scale-down")
	cfg.Options.FoldScaleDown = false
	assert.NotContains(t, fmt.Sprint(cfg.Validate()), "release-wait", "not folding: the wait is never used")
}
