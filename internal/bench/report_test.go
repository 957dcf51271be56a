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
	results, err := bench.RunAll(context.Background(), scs, []string{"flinkscaler", "ds2", "oracle"},
		bench.Options{Duration: 10 * time.Minute}, func(bench.Result, time.Duration, int, int) { progress++ })
	require.NoError(t, err)
	require.Len(t, results, 3)
	require.Equal(t, 3, progress)
	require.Equal(t, "oracle", results[2].Policy)
	require.Equal(t, 600.0, results[0].Summary.DurationSeconds)

	var buf bytes.Buffer
	require.NoError(t, bench.WriteJSON(&buf, results))
	var doc struct {
		Results []map[string]any `json:"results"`
	}
	require.NoError(t, json.Unmarshal(buf.Bytes(), &doc))
	require.Len(t, doc.Results, 3)
	for _, key := range []string{"scenario", "policy", "durationSeconds", "rescales", "convergeSeconds",
		"sloViolationSeconds", "maxLagSeconds", "slotSeconds", "costVsOracle", "downtimeSeconds"} {
		require.Contains(t, doc.Results[0], key)
	}
	require.Equal(t, "wordcount", doc.Results[0]["scenario"])

	buf.Reset()
	require.NoError(t, bench.WriteTables(&buf, results))
	require.Contains(t, buf.String(), "scenario wordcount")
	require.Equal(t, 1+1+3, strings.Count(buf.String(), "\n"))

	dir := t.TempDir()
	files, err := bench.WriteSVGs(dir, results)
	require.NoError(t, err)
	require.Equal(t, []string{filepath.Join(dir, "wordcount.svg")}, files)
	svg, err := os.ReadFile(files[0])
	require.NoError(t, err)
	require.True(t, strings.HasPrefix(string(svg), "<svg"))
	require.Contains(t, string(svg), "ds2")
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
