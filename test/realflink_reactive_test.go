package test

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/flink"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
	"github.com/flinkscaler/flinkscaler/internal/sandbox"
)

const reactiveScenario = `
name: real-reactive
duration: 10m
seed: 2
cluster:
  scaling: reactive
  slotsPerTaskManager: 1
  initialTaskManagers: 2
  maxTaskManagers: 4
  taskManagerStartup: 0s
  checkpointInterval: 5s
job:
  name: reactive
  vertices:
    - {name: "Source: clicks", maxParallelism: 4, capacity: 2000, partitions: 8}
    - {name: sessions, inputs: ["Source: clicks"], keyed: true, maxParallelism: 4, capacity: 400}
load:
  pattern: constant
  rate: 200
`

// setTaskManagers PUTs the control endpoint, as actuate's emulator driver
// does.
func setTaskManagers(t *testing.T, sb *sandbox.Sandbox, n int) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPut, sb.URL()+flinksim.ControlPrefix+"taskmanagers", bytes.NewBufferString(fmt.Sprintf(`{"replicas":%d}`, n)))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	resp.Body.Close()
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// TestRealFlinkReactiveFollowsTaskManagers: in reactive mode the real job
// grows to every slot when TaskManagers are added and shrinks when one is
// removed.
func TestRealFlinkReactiveFollowsTaskManagers(t *testing.T) {
	sb := startSandbox(t, reactiveScenario, "1.20", nil)
	at := func(p int) func() bool {
		return func() bool {
			gt, err := sb.GroundTruth(t.Context())
			if err != nil || gt.State != flink.StateRunning {
				return false
			}
			for _, v := range gt.Vertices {
				if v.Parallelism != p {
					return false
				}
			}
			return gt.RegisteredTaskManagers == p
		}
	}
	eventually(t, time.Minute, at(2), "the job does not run on the 2 initial slots")
	setTaskManagers(t, sb, 4)
	eventually(t, 90*time.Second, at(4), "the job did not grow to 4 TaskManagers' slots")
	setTaskManagers(t, sb, 3)
	eventually(t, 90*time.Second, at(3), "the job did not shrink to 3 after a TaskManager went")
}
