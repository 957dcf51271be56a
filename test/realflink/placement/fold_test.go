package placement

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/functions/actuate/actuator"
	"github.com/flinkscaler/flinkscaler/functions/actuate/taskmanagers"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/events/eventstest"
	"github.com/flinkscaler/flinkscaler/internal/flink"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
	"github.com/flinkscaler/flinkscaler/internal/sandbox"
)

// TestFoldedScaleDownOnRealFlink: actuate scales a real Flink 1.20.5 job
// (a session cluster: the subtasks stay spread) from 16 to 4 subtasks and
// its TaskManagers from 8 to 2. Folding the removal into the rescale
// restarts the job once, always. Rescaling first and then removing the
// TaskManagers restarts it twice when the removal takes a TaskManager
// holding subtasks (the removal fails it over), and once when Flink
// happened to place the rescaled job's 4 slots on the TaskManagers that
// stay (the emulated owner removes TaskManagers without subtasks first):
// Flink does not promise the spread, so that run allows either. Both end
// RUNNING at 4 on 2 TaskManagers.
func TestFoldedScaleDownOnRealFlink(t *testing.T) {
	for _, tt := range []struct {
		fold                     bool
		minRestarts, maxRestarts int
	}{{false, 1, 2}, {true, 1, 1}} {
		t.Run(fmt.Sprintf("fold=%v", tt.fold), func(t *testing.T) {
			sb, fl, details := startPlacement(t, sandbox.Config{Flink: "1.20"})
			ctx := context.Background()

			nats := eventstest.Start(t)
			deps := actuator.Deps{Flink: map[string]actuator.Flink{"real": fl},
				TaskManagers: taskmanagers.NewEmulator(map[string]string{"real": sb.URL()}, nil),
				Actuations:   nats.KV(t, events.BucketActuations), Desired: nats.KV(t, events.BucketDesiredTMs)}
			opt := actuator.DefaultOptions()
			opt.FoldScaleDown, opt.MinInterval = tt.fold, 0
			act := actuator.New(deps, opt)
			decide := func(id string, p int) events.Result {
				d := events.Decision{DecisionID: id, Cluster: "real", JobID: sb.JobID(), JobName: "placement",
					Mode: events.ModeAdaptive, Slots: events.Slots{PerTaskManager: 2, Sharing: events.SlotSharingShared},
					Policy: "test", DecidedAt: time.Now().UTC()}
				for _, v := range details.Vertices {
					d.Vertices = append(d.Vertices, events.VertexDecision{ID: v.ID, Target: p, Reason: "test"})
				}
				r, err := act.Actuate(ctx, d)
				require.NoError(t, err)
				require.Equal(t, events.OutcomeApplied, r.Outcome, "%s: %s", id, r.Error)
				return r
			}
			decide("up", 16)
			time.Sleep(35 * time.Second) // past Flink 1.20's 30 s scaling cool-down
			before, err := sb.GroundTruth(ctx)
			require.NoError(t, err)
			r := decide("down", 4)
			time.Sleep(10 * time.Second) // a late failover would show
			after, err := sb.GroundTruth(ctx)
			require.NoError(t, err)
			for _, s := range r.Steps {
				t.Logf("  %s %s (%d ms): %s", s.Name, s.Status, s.DurationMs, s.Detail)
			}
			t.Logf("fold=%v: restarts %d → %d for one scale-down (16 → 4, TaskManagers 8 → 2); job %s at %v on %d TaskManagers",
				tt.fold, before.Restarts, after.Restarts, after.State, parallelism(after.Vertices), after.RegisteredTaskManagers)
			n := after.Restarts - before.Restarts
			assert.GreaterOrEqual(t, n, tt.minRestarts, "restarts for the scale-down")
			assert.LessOrEqual(t, n, tt.maxRestarts, "restarts for the scale-down")
			assert.Equal(t, flink.StateRunning, after.State)
			assert.Equal(t, []int{4, 4}, parallelism(after.Vertices))
			assert.Equal(t, 2, after.RegisteredTaskManagers)
		})
	}
}

func parallelism(vs []flinksim.VertexTruth) []int {
	out := make([]int, len(vs))
	for i, v := range vs {
		out[i] = v.Parallelism
	}
	return out
}
