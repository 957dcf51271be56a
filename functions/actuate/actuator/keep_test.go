package actuator

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/functions/actuate/taskmanagers"
	"github.com/flinkscaler/flinkscaler/internal/events"
)

// stuckTMs is a TaskManager workload on the emulator whose pods beyond
// registers never register (a pod Kubernetes cannot schedule): the replicas
// say what was asked, the emulator runs at most registers of them.
type stuckTMs struct {
	emu       *taskmanagers.Emulator
	registers int
	mu        sync.Mutex
	replicas  int
}

func (s *stuckTMs) Replicas(ctx context.Context, cluster, workload string) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.replicas > 0 {
		return s.replicas, nil
	}
	return s.emu.Replicas(ctx, cluster, workload)
}

func (s *stuckTMs) Scale(ctx context.Context, cluster, workload string, n int) error {
	if err := s.emu.Scale(ctx, cluster, workload, min(n, s.registers)); err != nil {
		return err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.replicas = n
	return nil
}

// A scale-up 2 → 4 whose TaskManagers do not all register: with some new
// ones registered the plan keeps them and the job runs at what their slots
// allow (partial, saying so); with none, every new one is rolled back.
func TestScaleUpKeepsRegisteredTaskManagers(t *testing.T) {
	tests := []struct {
		name         string
		mode         string
		registers    int
		wantTMs      int
		wantP        []int
		wantSteps    []string
		wantError    string
		wantDetailOf string
		wantDetail   string
		wantDesired  int
	}{
		{"3 of 4 register: keep 3", events.ModeAdaptive, 3, 3, []int{3, 3},
			[]string{"scale-taskmanagers:done", "wait-slots:failed", "keep-taskmanagers:done", "put-requirements:done",
				"verify-requirements:done", "wait-parallelism:done"},
			"kept the 3 registered TaskManagers of 4 asked (2 before)", "keep-taskmanagers", "3 of 4 TaskManagers registered (3 slots): kept them, TaskManagers 4 → 3", 3},
		{"reactive, 3 of 4 register: keep 3", events.ModeReactive, 3, 3, []int{3, 3},
			[]string{"scale-taskmanagers:done", "wait-slots:failed", "keep-taskmanagers:done", "wait-parallelism:done"},
			"kept the 3 registered TaskManagers of 4 asked (2 before)", "wait-parallelism", "RUNNING", 3},
		{"none of the new register: roll back", events.ModeAdaptive, 2, 2, []int{2, 2},
			[]string{"scale-taskmanagers:rolled-back", "wait-slots:failed", "put-requirements:skipped",
				"verify-requirements:skipped", "wait-parallelism:skipped", "rollback-taskmanagers:rolled-back"},
			"timed out after", "rollback-taskmanagers", "TaskManagers 4 → 2", 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := newEnv(t, tt.mode, true, Options{SlotWait: time.Second, ParallelismWait: 5 * time.Second, Poll: 20 * time.Millisecond})
			tms := &stuckTMs{emu: taskmanagers.NewEmulator(map[string]string{"prod": e.url}, nil), registers: tt.registers}
			e.use(tms)
			r, err := e.act.Actuate(context.Background(), e.decision(tt.mode, 4, 4))
			require.NoError(t, err)
			require.Equal(t, events.OutcomePartial, r.Outcome, "%v %s", stepNames(r), r.Error)
			require.Equal(t, tt.wantSteps, stepNames(r))
			require.Contains(t, r.Error, tt.wantError)
			require.Contains(t, detailOf(r, tt.wantDetailOf), tt.wantDetail)
			got, err := tms.Replicas(context.Background(), "prod", "")
			require.NoError(t, err)
			require.Equal(t, tt.wantTMs, got, "TaskManager replicas")
			require.Equal(t, tt.wantP, e.parallelism(t))
			require.Equal(t, tt.wantDesired, e.desired(t).TaskManagers, "desired TaskManagers")
			if tt.mode == events.ModeAdaptive && tt.registers > 2 {
				put := detailOf(r, "put-requirements")
				require.Contains(t, put, "[3,3]", "the requirements declared fit the registered slots")
				require.NotContains(t, put, "[4,4]")
			}
		})
	}
}

// detailOf is the detail of r's step named name.
func detailOf(r events.Result, name string) string {
	for _, s := range r.Steps {
		if s.Name == name {
			return s.Detail
		}
	}
	return ""
}

// A scale-up 2 → 4 on the emulator, whose TaskManagers never register at
// random (taskManagerNeverRegisters 0.5; the seeds fix the draws): one new
// TaskManager registers, the other does not. When the slot wait runs out,
// actuate replaces the one that did not and waits once more: the
// replacement registers and the decision is applied at its targets (seed
// 2), or it does not either and the registered ones are kept as before
// (seed 12: partial). With the option off the registered ones are kept at
// once.
func TestScaleUpReplacesTaskManagersThatNeverRegister(t *testing.T) {
	tests := []struct {
		name        string
		seed        string
		off         bool
		wantOutcome string
		wantSteps   []string
		wantTMs     int
		wantP       []int
	}{
		{"the replacement registers", "2", false, events.OutcomeApplied,
			[]string{"scale-taskmanagers:done", "wait-slots:failed", "replace-taskmanagers:done", "wait-slots:done",
				"put-requirements:done", "verify-requirements:done", "wait-parallelism:done"}, 4, []int{4, 4}},
		{"the replacement does not register either: keep", "12", false, events.OutcomePartial,
			[]string{"scale-taskmanagers:done", "wait-slots:failed", "replace-taskmanagers:done", "wait-slots:failed",
				"keep-taskmanagers:done", "put-requirements:done", "verify-requirements:done", "wait-parallelism:done"}, 3, []int{3, 3}},
		{"option off: keep at once", "2", true, events.OutcomePartial,
			[]string{"scale-taskmanagers:done", "wait-slots:failed", "keep-taskmanagers:done", "put-requirements:done",
				"verify-requirements:done", "wait-parallelism:done"}, 3, []int{3, 3}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			doc := strings.Replace(fmt.Sprintf(scenario, events.ModeAdaptive), "seed: 11\n", "seed: "+tt.seed+"\n", 1)
			doc = strings.Replace(doc, "  restart: 2s\n", "  restart: 2s\n  taskManagerNeverRegisters: 0.5\n", 1)
			opt := Options{SlotWait: time.Second, ParallelismWait: 5 * time.Second, Poll: 20 * time.Millisecond, ReplaceUnregistered: !tt.off}
			e := newEnvOf(t, doc, true, opt)
			r, err := e.act.Actuate(context.Background(), e.decision(events.ModeAdaptive, 4, 4))
			require.NoError(t, err)
			require.Equal(t, tt.wantSteps, stepNames(r), "%s", r.Error)
			require.Equal(t, tt.wantOutcome, r.Outcome, "%s", r.Error)
			if !tt.off {
				require.Contains(t, detailOf(r, "replace-taskmanagers"),
					"3 of 4 TaskManagers registered (2 before) when the slot wait ran out: replaced the 1 that did not (emulator TaskManagers 4 → 3 → 4")
			}
			require.Equal(t, tt.wantTMs, e.sim.TaskManagers(), "TaskManagers")
			require.Equal(t, tt.wantP, e.parallelism(t))
		})
	}
}
