package bench_test

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/bench"
)

func TestRunAllReports(t *testing.T) {
	scs, err := bench.LoadScenarios([]string{"../../scenarios/wordcount.yaml"})
	require.NoError(t, err)
	var progress int
	settings := bench.Settings([]string{"flinkscaler", "ds2", "oracle"}, true)
	require.Len(t, settings, 5) // ds2's over-provisioning swept over three values
	results, err := bench.RunAll(context.Background(), scs, settings,
		bench.Options{Duration: 10 * time.Minute, Seeds: 2, Series: true}, func(bench.Result, time.Duration, int, int) { progress++ })
	require.NoError(t, err)
	require.Len(t, results, 10)
	require.Equal(t, 10, progress)
	require.Equal(t, "oracle", results[9].Policy)
	require.Equal(t, scs[0].Seed+1, results[9].Seed)
	require.Equal(t, 600.0, results[0].Summary.DurationSeconds)
	require.NotEmpty(t, results[0].Series.Samples, "first seed of a default setting keeps its series")
	require.Empty(t, results[1].Series.Samples, "later seeds keep only their summary")
	require.NotEmpty(t, results[2].Series.Samples, "ds2 overprovision=0 is ds2's default")
	require.Empty(t, results[4].Series.Samples, "swept settings keep only their summary")

	rows := bench.Aggregate(results)
	require.Len(t, rows, 5)
	require.Equal(t, 2, rows[0].Seeds)
	require.Equal(t, "ds2 overprovision=0.1", rows[2].Name)
	front := 0
	for _, r := range rows {
		if r.Front {
			front++
		}
		for _, o := range rows {
			if r.Front && o.Setting.Policy != "oracle" {
				require.False(t, bench.Dominates(o, r), "%s on the front but dominated by %s", r.Name, o.Name)
			}
		}
	}
	require.Positive(t, front)
	require.False(t, rows[4].Front, "the oracle is not on the front")

	var buf bytes.Buffer
	require.NoError(t, bench.WriteJSON(&buf, results))
	var doc struct {
		Results []map[string]any    `json:"results"`
		Rows    []map[string]any    `json:"rows"`
		Pareto  map[string][]string `json:"pareto"`
		Targets []bench.Finding     `json:"targets"`
	}
	require.NoError(t, json.Unmarshal(buf.Bytes(), &doc))
	require.Len(t, doc.Results, 10)
	require.Len(t, doc.Rows, 5)
	for _, key := range []string{"scenario", "policy", "setting", "seed", "durationSeconds", "rescales", "convergeSeconds",
		"sloViolationSeconds", "maxLagSeconds", "slotSeconds", "costVsOracle", "costVsOracle15", "downtimeSeconds",
		"lagP50Seconds", "lagP95Seconds", "lagP99Seconds", "latencyP99Seconds", "lagIntegral", "steadyLagSeconds",
		"recoverySeconds", "busyHighSeconds", "headroomP5", "oscillations", "flaps", "decidedOscillations", "decidedFlaps", "failedActuations", "timedOutActuations",
		"steadyLagP99Seconds", "lagBackMaxSeconds", "slowRecoveries", "parallelismChanges", "rescalesPerLoadChange"} {
		require.Contains(t, doc.Results[0], key)
	}
	for _, key := range []string{"lagP99Seconds", "costVsOracle", "costVsOracle15", "failedActuations", "rescalesPerLoadChange", "slowRecoveries"} {
		require.Contains(t, doc.Rows[0]["mean"], key)
		require.Contains(t, doc.Rows[0]["p95"], key)
	}
	require.Equal(t, "wordcount", doc.Results[0]["scenario"])
	require.NotEmpty(t, doc.Pareto["wordcount"])
	require.Len(t, doc.Targets, len(bench.Targets), "ours' targets on the one scenario")
	require.Equal(t, 2.0, doc.Rows[0]["seeds"])

	buf.Reset()
	require.NoError(t, bench.WriteTables(&buf, results))
	require.Contains(t, buf.String(), "scenario wordcount (10m00s, 2 seeds)")
	require.Contains(t, buf.String(), "Pareto front (cost vs p99 lag): ")
	// Title, head, 5 settings, front; a blank line, then ours' targets:
	// title, 6 lines of legend, head, the scenario, the count.
	require.Equal(t, 1+1+5+1+1+1+6+1+1+1, strings.Count(buf.String(), "\n"))
	require.Contains(t, buf.String(), `targets of flinkscaler (docs/BENCHMARK.md "Targets")`)
	require.Regexp(t, `(?m)^wordcount +(ok|MISS) .*(ok|MISS) `, buf.String())

	dir := t.TempDir()
	files, err := bench.WriteSVGs(dir, results)
	require.NoError(t, err)
	require.Equal(t, []string{filepath.Join(dir, "wordcount.svg"), filepath.Join(dir, "wordcount-pareto.svg")}, files)
	for _, f := range files {
		svg, err := os.ReadFile(f)
		require.NoError(t, err)
		require.True(t, strings.HasPrefix(string(svg), "<svg"))
		require.Contains(t, string(svg), "ds2")
	}
}

func TestBadInput(t *testing.T) {
	_, err := bench.ParsePolicies("flinkscaler,nope")
	require.ErrorIs(t, err, bench.ErrUsage)
	_, err = bench.LoadScenarios([]string{"does-not-exist.yaml"})
	require.ErrorIs(t, err, bench.ErrUsage)
	_, err = bench.LoadScenarios([]string{t.TempDir()})
	require.ErrorIs(t, err, bench.ErrUsage)
	bad := filepath.Join(t.TempDir(), "bad.yaml")
	require.NoError(t, os.WriteFile(bad, []byte("name: x\nbogus: 1\n"), 0o600))
	_, err = bench.LoadScenarios([]string{bad})
	require.ErrorIs(t, err, bench.ErrUsage)
	all, err := bench.ParsePolicies("")
	require.NoError(t, err)
	require.Equal(t, bench.Policies, all)
}
