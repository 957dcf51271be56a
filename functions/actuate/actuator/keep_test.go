package actuator

import (
	"context"
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
