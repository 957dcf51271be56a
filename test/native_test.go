package test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/functions/actuate/actuator"
	"github.com/flinkscaler/flinkscaler/functions/decide/decider"
	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/function"
	"github.com/flinkscaler/flinkscaler/internal/natsserver"
)

// nativeResourceManager plays Flink's ResourceManager in native Kubernetes
// mode: it keeps the TaskManagers at what the declared requirements need
// (one slot-sharing group: the largest upper bound, in TaskManagers of
// slotsPerTaskManager slots), as Flink requests and releases pods itself.
func nativeResourceManager(e *emulator) func(ctx context.Context) error {
	perTM := e.sim.Scenario().Cluster.SlotsPerTaskManager
	return func(ctx context.Context) error {
		tick := time.NewTicker(20 * time.Millisecond)
		defer tick.Stop()
		for {
			need := 0
			for _, b := range e.sim.Requirements() {
				need = max(need, b.Upper)
			}
			if tms := (need + perTM - 1) / perTM; tms > 0 && tms != e.sim.TaskManagers() {
				e.sim.SetTaskManagers(tms)
			}
			select {
			case <-ctx.Done():
				return nil
			case <-tick.C:
			}
		}
	}
}

// TestNativeModeScalesByRequirementsAlone: with --taskmanagers flink (a
// native-mode cluster, as the Flink Kubernetes operator runs by default)
// and decide's default policy, a load step is answered by declaring
// requirements only; Flink's ResourceManager brings the TaskManagers and the
// job runs at the new parallelism. actuate never scales or declares
// TaskManagers.
func TestNativeModeScalesByRequirementsAlone(t *testing.T) {
	e := startEmulator(t, stepScenario, 60, nil)
	goRun(t, "resource manager", nativeResourceManager(e))
	srv, err := natsserver.Start(natsserver.Config{})
	require.NoError(t, err)
	t.Cleanup(srv.Shutdown)
	acfg := actuateConfig(t, e, srv.ClientURL())
	acfg.TaskManagers = actuator.BackendFlink
	require.NoError(t, acfg.Validate())
	startActuate(t, acfg, testLog(t, "actuate"))
	c := &kedaChain{e: e, natsURL: srv.ClientURL()}
	_, next := c.results(t)
	decision := decisionsSeen(t, c.natsURL)
	startIngest(t, e, ingestConfig(e, srv.ClientURL()), events.ConnOptions{URL: srv.ClientURL(), Name: "ingest"}, testLog(t, "ingest"))
	startDecide(t, decider.Config{Common: function.Common{NATS: events.ConnOptions{URL: srv.ClientURL(), Name: decider.Function}}, Policy: policy.Defaults()}, testLog(t, "decide"))

	applied := nextAppliedChange(t, next, decision, 3*time.Minute)
	var names []string
	for _, s := range applied.Steps {
		names = append(names, s.Name)
	}
	require.Contains(t, names, "put-requirements")
	require.Contains(t, names, "wait-parallelism")
	require.False(t, slices.Contains(names, "scale-taskmanagers") || slices.Contains(names, "declare-taskmanagers"),
		"requirements alone: %v", names)
	gt := e.sim.GroundTruth()
	require.Greater(t, gt.RegisteredTaskManagers, 2, "Flink started TaskManagers for the requirements")
	raised := false
	for _, v := range gt.Vertices {
		raised = raised || v.Parallelism > 2
	}
	require.True(t, raised, "the job runs at a higher parallelism: %+v", gt.Vertices)
}
