package main

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// shortScenario: one source, a load step after 10 minutes, 20 minutes.
const shortScenario = `
name: short
duration: 20m
seed: 1
cluster:
  scaling: adaptive
  slotsPerTaskManager: 1
  slotSharing: shared
  initialTaskManagers: 1
  maxTaskManagers: 8
  taskManagerStartup: 5s
  restart: 5s
  checkpointInterval: 30s
job:
  name: short
  vertices:
    - name: "Source: s"
      parallelism: 1
      maxParallelism: 128
      capacity: 10000
load:
  pattern: step
  steps: [{at: 0s, rate: 8000}, {at: 10m, rate: 25000}]
slo:
  maxLagSeconds: 30
`

// bench --first-seed runs fresh seeds on every scenario and reports ours'
// targets, in the tables and in the JSON.
func TestBenchFirstSeedAndTargets(t *testing.T) {
	file := filepath.Join(t.TempDir(), "short.yaml")
	require.NoError(t, os.WriteFile(file, []byte(shortScenario), 0o600))
	args := []string{"bench", "--quick", "--seeds", "2", "--first-seed", "4001", "--policies", "flinkscaler,ds2"}

	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(context.Background(), append(args, file), &out, &errOut), errOut.String())
	require.Contains(t, out.String(), "scenario short (20m00s, 2 seeds)")
	require.Contains(t, out.String(), `targets of flinkscaler (docs/BENCHMARK.md "Targets")`)
	require.Regexp(t, `(?m)^short +(ok|MISS) `, out.String())
	require.Regexp(t, `(?m)^met on +\d of 1 `, out.String())

	out.Reset()
	require.Equal(t, 0, run(context.Background(), append(args, "--json", file), &out, &errOut), errOut.String())
	var doc struct {
		Results []struct {
			Seed int64 `json:"seed"`
		} `json:"results"`
		Targets []struct {
			Scenario, Target, Figure string
			Met                      bool
		} `json:"targets"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &doc))
	require.Len(t, doc.Results, 4)
	require.Equal(t, []int64{4001, 4002}, []int64{doc.Results[0].Seed, doc.Results[1].Seed})
	require.Len(t, doc.Targets, 8)
	require.Equal(t, "short", doc.Targets[0].Scenario)
	require.Equal(t, "not dominated on cost and p99 lag", doc.Targets[0].Target)
	require.NotEmpty(t, doc.Targets[0].Figure)

	errOut.Reset()
	require.Equal(t, 2, run(context.Background(), []string{"bench", "--first-seed", "-3", file}, &out, &errOut))
	require.Contains(t, errOut.String(), "--first-seed must be positive, got -3")

	errOut.Reset()
	require.Equal(t, 2, run(context.Background(), []string{"bench", "--taskmanagers", "hpa", file}, &out, &errOut))
	require.Contains(t, errOut.String(), `--taskmanagers must be emulator, kubernetes or keda, got "hpa"`)

	errOut.Reset()
	require.Equal(t, 2, run(context.Background(), []string{"bench", "--mark-pods=false", file}, &out, &errOut))
	require.Contains(t, errOut.String(), "--mark-pods=false needs --taskmanagers kubernetes or keda")

	// Kubernetes mode: the ReplicaSet picks the pods actuate marked.
	out.Reset()
	require.Equal(t, 0, run(context.Background(), []string{"bench", "--quick", "--seeds", "1", "--policies", "flinkscaler", "--taskmanagers", "kubernetes", file}, &out, &errOut), errOut.String())
	require.Contains(t, out.String(), "flinkscaler")
}
