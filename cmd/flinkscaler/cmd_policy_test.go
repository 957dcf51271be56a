package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/functions/decide/decider"
	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/events/eventstest"
)

// TestPolicyDayTwo walks a job's policy through the CLI as an operator
// would, and checks each step as decide reads it from the bucket.
func TestPolicyDayTwo(t *testing.T) {
	env := eventstest.Start(t)
	const jobID = "0123456789abcdef0123456789abcdef"
	policies := decider.KVPolicies{KV: env.KV(t, events.BucketPolicy)}
	effective := func() policy.Config {
		raw, err := policies.Overrides(context.Background(), "prod", jobID, "Word Count")
		require.NoError(t, err)
		cfg, err := policy.Merge(policy.Defaults(), raw)
		require.NoError(t, err)
		return cfg
	}
	cli := func(want int, args ...string) string {
		t.Helper()
		var out, errOut bytes.Buffer
		code := run(context.Background(), append([]string{"policy"}, append(args, "--nats", env.URL)...), &out, &errOut)
		require.Equal(t, want, code, "stdout %s\nstderr %s", out.String(), errOut.String())
		return out.String() + errOut.String()
	}

	require.Contains(t, cli(0, "get", "prod", "Word Count"), "no overrides")
	require.Contains(t, cli(0, "pause", "prod", "Word Count"), "paused prod/Word Count (key prod.Word_Count")
	require.True(t, effective().Paused)
	require.Contains(t, cli(0, "dry-run", "prod", "Word Count", "on"), "set dry-run of prod/Word Count")
	cfg := effective()
	require.True(t, cfg.Paused && cfg.DryRun, "a patch keeps the other fields")
	require.Contains(t, cli(0, "get", "prod", "Word Count"), "paused: true")
	cli(0, "resume", "prod", "Word Count")
	require.False(t, effective().Paused)

	file := filepath.Join(t.TempDir(), "p.yaml")
	require.NoError(t, os.WriteFile(file, []byte("utilization: {max: 0.8}\nmaxTaskManagers: 12\n"), 0o600))
	require.Contains(t, cli(0, "set", "prod", "Word Count", file), "set prod/Word Count")
	cfg = effective()
	require.Equal(t, 12, cfg.MaxTaskManagers)
	require.InDelta(t, 0.8, cfg.Utilization.Max, 0)
	require.False(t, cfg.DryRun, "set replaces the overrides")

	// Bad input: refused with the field, nothing written.
	require.NoError(t, os.WriteFile(file, []byte("utilization: {max: 1.5}\n"), 0o600))
	require.Contains(t, cli(1, "set", "prod", "Word Count", file), "utilization.max")
	require.NoError(t, os.WriteFile(file, []byte("utilisation: {max: 0.5}\n"), 0o600))
	require.Contains(t, cli(1, "set", "prod", "Word Count", file), "utilisation")
	require.Equal(t, 12, effective().MaxTaskManagers)
	require.Contains(t, cli(1, "dry-run", "prod", "Word Count", "yes"), `"yes": want on or off`)
	require.Contains(t, cli(1, "pause", "prod.x", "Word Count"), "prod.x")
	require.Contains(t, cli(2, "pause", "prod"), "want 2 arguments")
	require.Contains(t, cli(2, "frobnicate", "prod", "x"), "want a verb")

	// By job id: a different key, which decide prefers.
	cli(0, "pause", "prod", jobID)
	require.True(t, effective().Paused)
	cli(0, "clear", "prod", jobID)
	cli(0, "clear", "prod", "Word Count")
	require.Contains(t, cli(0, "get", "prod", "Word Count"), "no overrides")
	require.Equal(t, policy.Defaults(), effective())
}

func TestVersion(t *testing.T) {
	var out, errOut bytes.Buffer
	require.Equal(t, 0, run(context.Background(), []string{"version"}, &out, &errOut))
	require.Regexp(t, `^flinkscaler \S+ \(revision \S+.*\) go1\.\d+`, out.String())
	out.Reset()
	require.Equal(t, 0, run(context.Background(), []string{"--version"}, &out, &errOut))
	require.Contains(t, out.String(), "flinkscaler ")
}
