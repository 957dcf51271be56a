package realflink

import (
	"testing"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/flink"
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

// TestRealFlinkReactiveFollowsTaskManagers: in reactive mode the real job
// grows to every slot when TaskManagers are added and shrinks when one is
// removed.
func TestRealFlinkReactiveFollowsTaskManagers(t *testing.T) {
	sb := StartSandbox(t, reactiveScenario, "1.20")
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
	Eventually(t, time.Minute, at(2), "the job does not run on the 2 initial slots")
	SetTaskManagers(t, sb, 4)
	Eventually(t, 90*time.Second, at(4), "the job did not grow to 4 TaskManagers' slots")
	SetTaskManagers(t, sb, 3)
	Eventually(t, 90*time.Second, at(3), "the job did not shrink to 3 after a TaskManager went")
}
