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

// A running job that declares parallelism 3 but got only 2 slots runs at 2
// (Flink's adaptive scheduler after its resource stabilization timeout).
// Its scale-up to 4 pins the declared upper bounds to the 2 it runs at
// before asking for TaskManagers: otherwise, when the new TaskManagers
// register, Flink rescales the job to its old 3 on its own, and the
// decision's put restarts it again for 4. With the pin the put is the
// only restart, and the pin itself restarts nothing.
func TestScaleUpOfAJobBelowItsBoundsPinsWhatRuns(t *testing.T) {
	doc := fmt.Sprintf(scenario, events.ModeAdaptive)
	doc = strings.Replace(doc, "  taskManagerStartup: 2s\n", "  taskManagerStartup: 1s\n  resourceStabilizationTimeout: 2s\n", 1)
	doc = strings.ReplaceAll(doc, "parallelism: 2, maxParallelism", "parallelism: 3, maxParallelism")
	// Slot polls of 6 s on the emulator's clock (20× sped up): the new
	// TaskManagers register, and Flink fixes its own rescale, well before
	// the wait sees their slots, as on a cluster whose restarts outlast a
	// poll.
	e := newEnvOf(t, doc, true, Options{SlotWait: 30 * time.Second, ParallelismWait: 30 * time.Second, Poll: 300 * time.Millisecond})
	e.await(t, func() bool { return e.sim.GroundTruth().State == flinksim.StateRunning }, 30*time.Second,
		"the job runs on the 2 slots there are")
	require.Equal(t, []int{2, 2}, e.parallelism(t))
	before := e.sim.GroundTruth().Restarts

	r, err := e.act.Actuate(context.Background(), e.decision(events.ModeAdaptive, 4, 4))
	require.NoError(t, err)
	require.Equal(t, events.OutcomeApplied, r.Outcome, "%v %s", stepNames(r), r.Error)
	require.Equal(t, 1, e.sim.GroundTruth().Restarts-before, "one restart, for the decision's requirements")
	require.Equal(t, []string{"pin-requirements:done", "scale-taskmanagers:done", "wait-slots:done", "put-requirements:done",
		"verify-requirements:done", "wait-parallelism:done"}, stepNames(r))
	require.Contains(t, r.Steps[0].Detail, "the parallelism the job runs at")
	require.Equal(t, []int{4, 4}, e.parallelism(t))
}

// decide's first declaration of a job's bounds (a decision at the
// parallelism the job runs at, its TaskManagers kept) is requirements
// only: it restarts nothing, so it does not start --min-interval, and the
// job's next decision is not skipped as rate limited.
func TestBoundsOnlyDecisionStartsNoRateLimit(t *testing.T) {
	e := newEnv(t, "adaptive", true, Options{MinInterval: time.Hour, SlotWait: 10 * time.Second, ParallelismWait: 10 * time.Second, Poll: 20 * time.Millisecond})
	e.await(t, func() bool { return e.sim.GroundTruth().State == flinksim.StateRunning }, 30*time.Second, "the job runs")
	require.Equal(t, []int{2, 2}, e.parallelism(t))
	before := e.sim.GroundTruth().Restarts

	pin := e.decision(events.ModeAdaptive, 2, 2)
	pin.TaskManagers = events.Count{Current: 2, Target: 2}
	r, err := e.act.Actuate(context.Background(), pin)
	require.NoError(t, err)
	require.Equal(t, events.OutcomeApplied, r.Outcome, "%v %s", stepNames(r), r.Error)
	require.Equal(t, []string{"put-requirements:done", "verify-requirements:done", "wait-parallelism:done"}, stepNames(r))
	require.Equal(t, before, e.sim.GroundTruth().Restarts, "declaring what runs restarts nothing")

	r, err = e.act.Actuate(context.Background(), e.decision(events.ModeAdaptive, 3, 3))
	require.NoError(t, err)
	require.Equal(t, events.OutcomeApplied, r.Outcome, "not rate limited by the bounds-only decision: %v %s", stepNames(r), r.Error)
}
