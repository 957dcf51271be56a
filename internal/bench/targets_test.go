package bench_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/bench"
)

// knownMisses are the targets our policy does not meet yet on the shipped
// scenarios (docs/BENCHMARK.md "Where ours loses"); none today. A target
// met today that regresses fails the test; a known miss that starts passing
// is logged so it can be removed from this list.
var knownMisses = map[[2]string]bool{}

// TestTargets runs every shipped scenario under every policy, in full, and
// checks the quality targets. Each scenario is a parallel subtest of a few
// seconds of CPU.
func TestTargets(t *testing.T) {
	scs, err := bench.LoadScenarios([]string{"../../scenarios"})
	require.NoError(t, err)
	for _, sc := range scs {
		t.Run(sc.Name, func(t *testing.T) {
			t.Parallel()
			var results []bench.Result
			for _, p := range bench.Policies {
				r, err := bench.Run(context.Background(), sc, p, bench.Options{})
				require.NoError(t, err)
				require.Empty(t, r.Errors, "%s: actuation failures", p)
				results = append(results, r)
			}
			for _, f := range bench.CheckTargets(results) {
				known := knownMisses[[2]string{f.Scenario, f.Target}]
				switch {
				case !f.Met && !known:
					t.Errorf("target %q missed: %s", f.Target, f.Detail)
				case f.Met && known:
					t.Logf("known miss now met, remove it from knownMisses: %q (%s)", f.Target, f.Detail)
				case !f.Met:
					t.Logf("known miss: %q: %s", f.Target, f.Detail)
				}
			}
		})
	}
}

// TestDeterministic: the same scenario and seed give the same numbers.
func TestDeterministic(t *testing.T) {
	scs, err := bench.LoadScenarios([]string{"../../scenarios/wordcount.yaml"})
	require.NoError(t, err)
	a, err := bench.Run(context.Background(), scs[0], "flinkscaler", bench.Options{})
	require.NoError(t, err)
	b, err := bench.Run(context.Background(), scs[0], "flinkscaler", bench.Options{})
	require.NoError(t, err)
	require.Equal(t, a.Summary, b.Summary)
	require.Positive(t, a.Summary.Decisions)
}
