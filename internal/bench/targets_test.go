package bench_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/internal/bench"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
)

// targetSeeds is how many seeds TestTargets runs each scenario with; the
// full bench runs 10 (docs/BENCHMARK.md has its table).
const targetSeeds = 2

// knownFailures are the invariants today's policy does not hold, by
// scenario and invariant, with the reason (docs/BENCHMARK.md "Targets").
// Such a failure skips its subtest, naming the invariant and the measured
// figures; a known failure that starts holding is logged so it can be
// removed; any other failure fails the test. Whoever changes the decide
// policy updates this list from `go test -v -run TestTargets ./internal/bench/`.
var knownFailures = map[[2]string]string{
	{"faults", bench.TargetNoFailed}: "the scenario's TaskManagers never register 5 % of the time (taskManagerNeverRegisters): a decision that adds one can draw it and actuate's slot wait times out; which decisions draw it depends on their timing",
}

// TestTargets runs every shipped scenario (a subtest each: -run
// 'TestTargets/faults') under every policy and every baseline knob setting
// over targetSeeds seeds, and checks the invariants
// (bench.CheckTargets) on the aggregated rows: ours never dominated on cost
// and p99 lag, no failed actuation, lag recovery after restarts bounded.
func TestTargets(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every scenario under every policy setting over several seeds")
	}
	if raceDetector {
		t.Skip("the race detector makes this tens of CPU minutes; .ci/run runs it without -race (go test -run TestTargets ./internal/bench/)")
	}
	scs, err := bench.LoadScenarios([]string{"../../scenarios"})
	require.NoError(t, err)
	settings := bench.Settings(bench.Policies, true)
	for _, sc := range scs {
		t.Run(sc.Name, func(t *testing.T) {
			results, err := bench.RunAll(context.Background(), []*flinksim.Scenario{sc}, settings, bench.Options{Seeds: targetSeeds}, nil)
			require.NoError(t, err)
			for _, f := range bench.CheckTargets(bench.Aggregate(results)) {
				t.Run(f.Target, func(t *testing.T) {
					reason, known := knownFailures[[2]string{f.Scenario, f.Target}]
					switch {
					case !f.Met && known:
						t.Skipf("known failure (%s): invariant %q: %s", reason, f.Target, f.Detail)
					case !f.Met:
						t.Errorf("invariant %q does not hold: %s", f.Target, f.Detail)
					case known:
						t.Logf("known failure now holds, remove it from knownFailures: %q (%s)", f.Target, f.Detail)
					default:
						t.Logf("%s", f.Detail)
					}
				})
			}
		})
	}
}

// TestDeterministic: the same scenario and seed give the same numbers.
func TestDeterministic(t *testing.T) {
	scs, err := bench.LoadScenarios([]string{"../../scenarios/wordcount.yaml"})
	require.NoError(t, err)
	a, err := bench.Run(context.Background(), scs[0], bench.Setting{Policy: policy.Name}, bench.Options{})
	require.NoError(t, err)
	b, err := bench.Run(context.Background(), scs[0], bench.Setting{Policy: policy.Name}, bench.Options{})
	require.NoError(t, err)
	require.Equal(t, a.Summary, b.Summary)
	require.Positive(t, a.Summary.Decisions)
}
