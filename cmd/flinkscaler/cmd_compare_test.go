package main

import (
	"bytes"
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestCompareBadInput: bad flags are usage errors naming the flag, and an
// unwritable --record or --record-ours fails before any run starts, and so
// do an --only that names no policy, a --peer-from without --only ours
// and one that cannot be read.
func TestCompareBadInput(t *testing.T) {
	var out, errOut bytes.Buffer
	require.Equal(t, 2, run(context.Background(), []string{"compare", "--engine", "k8s"}, &out, &errOut))
	require.Contains(t, errOut.String(), "--scenario: required")
	require.Contains(t, errOut.String(), `--engine "k8s"`)

	errOut.Reset()
	missing := filepath.Join(t.TempDir(), "no-such-dir", "stream.jsonl")
	code := run(context.Background(), []string{"compare", "--scenario", "../../scenarios/wordcount.yaml", "--record", missing, "--report", ""}, &out, &errOut)
	require.NotEqual(t, 0, code)
	require.Contains(t, errOut.String(), "--record")
	require.NotContains(t, out.String(), "flinkscaler compare: scenario", "nothing ran")

	errOut.Reset()
	code = run(context.Background(), []string{"compare", "--scenario", "../../scenarios/wordcount.yaml", "--record-ours", missing, "--report", ""}, &out, &errOut)
	require.NotEqual(t, 0, code)
	require.Contains(t, errOut.String(), "--record-ours")
	require.NotContains(t, out.String(), "flinkscaler compare: scenario", "nothing ran")

	errOut.Reset()
	require.Equal(t, 2, run(context.Background(), []string{"compare", "--scenario", "../../scenarios/wordcount.yaml", "--only", "both"}, &out, &errOut))
	require.Contains(t, errOut.String(), `--only "both"`)
	errOut.Reset()
	require.Equal(t, 2, run(context.Background(), []string{"compare", "--scenario", "../../scenarios/wordcount.yaml", "--peer-from", "../../scenarios/wordcount.yaml"}, &out, &errOut))
	require.Contains(t, errOut.String(), "--peer-from: only with --only ours")
	errOut.Reset()
	require.Equal(t, 2, run(context.Background(), []string{"compare", "--scenario", "../../scenarios/wordcount.yaml", "--only", "ours", "--peer-from", missing}, &out, &errOut))
	require.Contains(t, errOut.String(), "--peer-from")
	require.NotContains(t, out.String(), "flinkscaler compare: scenario", "nothing ran")
}
