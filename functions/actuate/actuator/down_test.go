package actuator

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
)

// A job failed over (a lost TaskManager) and down, waiting for its slots,
// gets a scale-up: its requirements are declared before the TaskManagers
// are asked, so the graph it builds when it runs again is the decision's
// and the failover's restart is the only one. Declared after the new
// TaskManagers register, the job would first come back at its old
// requirements on the replacement and restart again for the new ones.
func TestScaleUpOfADownJobDeclaresFirst(t *testing.T) {
	// The job is down from the loss (5 s) until the replacement registers
	// (a minute later): it is seen down and acted on while it is.
	doc := strings.Replace(fmt.Sprintf(scenario, events.ModeAdaptive), "  taskManagerStartup: 2s\n  restart: 2s\n",
		"  taskManagerStartup: 1m\n  restart: 2s\n  resourceStabilizationTimeout: 10m\n  faults: {lostTaskManagerAt: [5s]}\n", 1)
	e := newEnvOf(t, doc, true, Options{SlotWait: 20 * time.Second, ParallelismWait: 20 * time.Second, Poll: 20 * time.Millisecond})
	e.await(t, func() bool { return e.sim.GroundTruth().State == flinksim.StateCreated }, 30*time.Second,
		"the lost TaskManager fails the job over")
	r, err := e.act.Actuate(context.Background(), e.decision(events.ModeAdaptive, 4, 4))
	require.NoError(t, err)
	require.Equal(t, events.OutcomeApplied, r.Outcome, "%v %s", stepNames(r), r.Error)
	require.Equal(t, []int{4, 4}, e.parallelism(t))
	require.Equal(t, 1, e.sim.GroundTruth().Restarts, "the failover's restart only: the job came back at the decision's parallelism")
	require.Equal(t, []string{"put-requirements:done", "scale-taskmanagers:done", "wait-slots:done", "put-requirements:done",
		"verify-requirements:done", "wait-parallelism:done"}, stepNames(r))
}

// A down job's scale-up whose new TaskManager never registers: the slot
// wait fails, and the early put is undone with the plan. Left declared, the
// decision's lower bounds would keep the job down, waiting for slots that
// do not come (in the bench, one run lagged for hours while every later
// decision waited the same way); declared again, the job's requirements are
// what they were and the TaskManagers roll back.
func TestScaleUpOfADownJobRollsItsEarlyPutBack(t *testing.T) {
	// Down from the loss until the stabilization timeout (10 min).
	doc := strings.Replace(fmt.Sprintf(scenario, events.ModeAdaptive), "  restart: 2s\n",
		"  restart: 2s\n  resourceStabilizationTimeout: 10m\n  taskManagerNeverRegisters: 0.999\n  faults: {lostTaskManagerAt: [5s]}\n", 1)
	e := newEnvOf(t, doc, true, Options{SlotWait: 2 * time.Second, ParallelismWait: 10 * time.Second, Poll: 20 * time.Millisecond})
	e.await(t, func() bool { return e.sim.GroundTruth().State == flinksim.StateCreated }, 30*time.Second,
		"the lost TaskManager fails the job over")
	before := e.sim.Requirements()
	r, err := e.act.Actuate(context.Background(), e.decision(events.ModeAdaptive, 4, 4))
	require.NoError(t, err)
	require.NotEqual(t, events.OutcomeApplied, r.Outcome, "%v", stepNames(r))
	require.Contains(t, stepNames(r), "rollback-requirements:rolled-back")
	require.Contains(t, stepNames(r), "rollback-taskmanagers:rolled-back")
	require.Equal(t, before, e.sim.Requirements(), "what the job declared before the plan")
}
