package flinksim

import (
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// placementDoc is the job real Flink was measured with
// (test/realflink/placement): one slot-sharing group on 8 TaskManagers of
// 2 slots.
const placementDoc = `
name: placement
duration: 1h
seed: 3
cluster:
  scaling: adaptive
  slotsPerTaskManager: 2
  initialTaskManagers: 8
  maxTaskManagers: 8
  taskManagerStartup: 1s
  restart: 2s
  checkpointInterval: 5s
  flinkVersion: "1.20"
%s
job:
  name: placement
  vertices:
    - {name: "Source: events", parallelism: 1, maxParallelism: 16, capacity: 5000, partitions: 16}
    - {name: work, inputs: ["Source: events"], keyed: true, parallelism: 1, maxParallelism: 16, capacity: 2000}
load: {pattern: constant, rate: 200}
`

// TestPlacementAfterScaleDown: what real Flink 1.20.5 showed (a session
// cluster, and execution.target embedded as application mode sets it):
// after 16 → 4 subtasks on 8 TaskManagers of 2 slots the job stays spread
// over more TaskManagers than its 2 slots' worth, unless placement is
// packed; removing 6 TaskManagers then fails a spread job over (a second
// restart) and leaves a packed one running.
func TestPlacementAfterScaleDown(t *testing.T) {
	for _, tt := range []struct {
		placement  string
		wantBusy   int
		wantExtras int // restarts after the removal
	}{
		{"", 4, 1},
		{"  taskManagerPlacement: spread", 4, 1},
		{"  taskManagerPlacement: packed", 2, 0},
	} {
		t.Run(fmt.Sprintf("%q", tt.placement), func(t *testing.T) {
			sc, err := ParseScenario(fmt.Appendf(nil, placementDoc, tt.placement), ".")
			require.NoError(t, err)
			c, url := startREST(t, sc)
			rescale := func(p int) {
				req := map[string]Bounds{}
				for _, id := range c.VertexIDs() {
					req[id] = Bounds{Lower: 1, Upper: p}
				}
				require.NoError(t, c.PutRequirements(req))
				for range 600 {
					c.Step()
					if gt := c.GroundTruth(); gt.State == StateRunning && gt.Vertices[1].Parallelism == p {
						return
					}
				}
				t.Fatalf("not running at %d", p)
			}
			c.Advance(10 * time.Second)
			rescale(16)
			c.Advance(time.Minute) // past the 1.20 scaling cool-down
			rescale(4)
			busy := 0
			c.tmSlots(func(_ *taskManager, free int) {
				if free < sc.Cluster.SlotsPerTaskManager {
					busy++
				}
			})
			assert.Equal(t, tt.wantBusy, busy, "TaskManagers running subtasks after 16 → 4")
			before := c.GroundTruth().Restarts
			c.SetTaskManagers(2)
			c.Advance(30 * time.Second)
			gt := c.GroundTruth()
			assert.Equal(t, tt.wantExtras, gt.Restarts-before, "restarts caused by removing 6 of 8 TaskManagers")
			assert.Equal(t, StateRunning, gt.State)
			assert.Equal(t, 4, gt.Vertices[1].Parallelism, "the job runs at 4 on the 4 slots left")

			// The REST view shows the same placement: /taskmanagers' free slots.
			status, body := call(t, http.MethodGet, url+"/taskmanagers", "")
			require.Equal(t, http.StatusOK, status)
			assert.Contains(t, string(body), `"freeSlots":0`)
		})
	}
}
