package bench_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/internal/bench"
)

// BenchmarkRun is one bench run: the nexmark-q1 scenario (2 simulated
// hours, a snapshot through the emulator's REST API every 10 s, as
// metrics-ingest polls it) under the default policy. Most of a full
// `flinkscaler bench` is this loop (docs/PERFORMANCE.md "bench").
func BenchmarkRun(b *testing.B) {
	scs, err := bench.LoadScenarios([]string{"../../scenarios/nexmark-q1.yaml"})
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		_, err := bench.Run(context.Background(), scs[0], bench.Setting{Policy: policy.Name}, bench.Options{})
		require.NoError(b, err)
	}
}

// BenchmarkSuite is one seed of `flinkscaler bench --quick`: every shipped
// scenario under every policy at its defaults (77 runs, about 26 simulated
// hours each policy), on all cores.
func BenchmarkSuite(b *testing.B) {
	scs, err := bench.LoadScenarios([]string{"../../scenarios"})
	require.NoError(b, err)
	settings := bench.Settings(bench.Policies, false)
	for b.Loop() {
		_, err := bench.RunAll(context.Background(), scs, settings, bench.Options{Seeds: 1}, nil)
		require.NoError(b, err)
	}
}
