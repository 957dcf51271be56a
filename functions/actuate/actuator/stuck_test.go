package actuator

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// stuckEnv is the emulator's job down with no slot registered: its 2
// TaskManagers lost and the 2 that replace them never registering
// (taskManagerNeverRegisters 0.5; the seed fixes the draws), the job
// waiting for them.
func stuckEnv(t *testing.T, seed string, opt Options) *env {
	t.Helper()
	doc := strings.Replace(fmt.Sprintf(scenario, events.ModeAdaptive), "seed: 11\n", "seed: "+seed+"\n", 1)
	doc = strings.Replace(doc, "  restart: 2s\n", "  restart: 2s\n  taskManagerNeverRegisters: 0.5\n", 1)
	e := newEnvOf(t, doc, true, opt)
	e.settle(5 * time.Second)
	e.sim.SetTaskManagers(0)
	e.sim.SetTaskManagers(2)
	e.settle(time.Minute)
	return e
}

// A decision at the size the job has, for a job down with no slot
// registered (its 2 TaskManagers lost, the 2 that replace them never
// registering): actuate replaces the TaskManagers that have not registered
// and waits for their slots before the plan. The replacements register
// and the decision is applied (seed 5); they do not either and the result
// is partial, saying so (seed 6); with the option off nothing is replaced
// and the job stays CREATED (the wait for its parallelism times out).
func TestDownJobWithNoSlotReplacesTaskManagersThatNeverRegister(t *testing.T) {
	tests := []struct {
		name        string
		seed        string
		off         bool
		wantOutcome string
		wantSteps   []string
		wantError   string
	}{
		{"the replacements register", "5", false, events.OutcomeApplied,
			[]string{"replace-taskmanagers:done", "wait-slots:done", "put-requirements:done", "verify-requirements:done", "wait-parallelism:done"}, ""},
		{"the replacements do not register either", "6", false, events.OutcomePartial,
			[]string{"replace-taskmanagers:done", "wait-slots:failed"}, "the 2 replaced TaskManagers did not register either"},
		{"option off: nothing replaced", "5", true, events.OutcomePartial,
			[]string{"put-requirements:done", "verify-requirements:done", "wait-parallelism:failed"}, "job CREATED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			opt := Options{SlotWait: time.Second, ParallelismWait: 5 * time.Second, Poll: 20 * time.Millisecond, ReplaceUnregistered: !tt.off}
			e := stuckEnv(t, tt.seed, opt)
			for _, tm := range e.sim.TaskManagerStatuses() {
				require.False(t, tm.Registered, "the TaskManager %s registered before the decision", tm.ID)
			}
			r, err := e.act.Actuate(context.Background(), e.decision(events.ModeAdaptive, 2, 2))
			require.NoError(t, err)
			require.Equal(t, tt.wantSteps, stepNames(r), "%s", r.Error)
			require.Equal(t, tt.wantOutcome, r.Outcome, "%s", r.Error)
			require.Contains(t, r.Error, tt.wantError)
			if !tt.off {
				require.Contains(t, detailOf(r, "replace-taskmanagers"),
					"the job is down with no slot registered and 2 of 2 TaskManagers not registered: replaced them (emulator TaskManagers 2 → 0 → 2")
			}
			require.Equal(t, 2, e.replicas(t), "TaskManager replicas")
		})
	}
}
