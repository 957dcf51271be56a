// Package tmlost loses a TaskManager in the middle of a rescale of a real
// Flink job driven by the whole pipeline (its own test binary: the real-Flink
// tests each take minutes).
package tmlost

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flink"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
	"github.com/flinkscaler/flinkscaler/test/realflink"
)

// lostScenario needs 3 subtasks of work from the start: decide scales up
// at once.
const lostScenario = `
name: real-lost
duration: 10m
seed: 12
cluster:
  scaling: adaptive
  slotsPerTaskManager: 1
  initialTaskManagers: 1
  maxTaskManagers: 6
  taskManagerStartup: 3s
  checkpointInterval: 5s
job:
  name: payments
  vertices:
    - {name: "Source: payments", parallelism: 1, maxParallelism: 16, capacity: 5000, partitions: 12}
    - {name: work, inputs: ["Source: payments"], keyed: true, parallelism: 1, maxParallelism: 12, capacity: 100}
load:
  pattern: constant
  rate: 250
slo:
  maxLagSeconds: 60
`

// TestTaskManagerLostMidRescale: while actuate waits for the TaskManagers
// of a scale-up, one of them is lost. The result says what happened, every
// decision gets a result, and the job converges (on the TaskManagers actuate
// kept, or by the next decision): it ends up RUNNING at the higher
// parallelism on the TaskManagers asked for.
func TestTaskManagerLostMidRescale(t *testing.T) {
	sb := realflink.StartSandbox(t, lostScenario, "1.20")
	p := realflink.StartPipeline(t, sb, func(c *policy.Config) { c.MinInterval = 20 * time.Second })
	// The first scale-up asks for TaskManagers: take one away as soon as
	// they are requested.
	var tms flinksim.GroundTruth
	realflink.Eventually(t, 3*time.Minute, func() bool {
		gt, err := sb.GroundTruth(context.Background())
		tms = gt
		return err == nil && gt.TaskManagers > gt.RegisteredTaskManagers && gt.TaskManagers > 1
	}, "actuate did not add TaskManagers")
	realflink.SetTaskManagers(t, sb, tms.TaskManagers-1)
	t.Logf("TaskManagers requested %d, one lost", tms.TaskManagers)

	t.Cleanup(func() {
		if t.Failed() {
			for _, d := range p.Decisions() {
				t.Logf("decision %s: TaskManagers %+v; %s", d.DecisionID, d.TaskManagers, d.Rationale)
			}
			for _, r := range p.Results() {
				t.Logf("result %s: %s %s", r.DecisionID, r.Outcome, r.Error)
			}
		}
	})
	realflink.Eventually(t, 7*time.Minute, func() bool {
		gt, err := sb.GroundTruth(context.Background())
		return err == nil && gt.State == flink.StateRunning && gt.Vertices[1].Parallelism >= 3 &&
			gt.RegisteredTaskManagers == gt.TaskManagers
	}, "the next decision did not converge: work not RUNNING at 3+ subtasks on the TaskManagers it asked for")
	realflink.Eventually(t, time.Minute, func() bool { return len(p.Results()) >= len(p.Decisions()) }, "decisions without a result")
	first := p.Results()[0]
	t.Logf("first result: %s %s", first.Outcome, first.Error)
	assert.NotEqual(t, events.OutcomeApplied, first.Outcome, "the result of the interrupted rescale does not say so")
	if rs := p.Results(); len(rs) > 1 {
		last := rs[len(rs)-1]
		assert.Equal(t, events.OutcomeApplied, last.Outcome, "the last decision did not apply: %s", last.Error)
	} else {
		// actuate kept the TaskManagers that registered and declared what
		// their slots allow: the job converged without another decision.
		assert.Contains(t, first.Error, "kept the", "one partial result that kept no TaskManagers, yet the job converged")
	}
}
