package bench_test

import (
	"context"
	"regexp"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/internal/bench"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
)

// trades are what every decision's rationale names in numbers: the
// restarts it costs, the seconds over the SLO or of lag it buys or risks,
// and the slots it adds or frees (slot-seconds per hour, or slots).
var trades = []struct {
	what string
	re   *regexp.Regexp
}{
	{"restarts", regexp.MustCompile(`\d+(\.\d+)? restarts?\b`)},
	{"seconds over the SLO or of lag", regexp.MustCompile(`\d+ s over the SLO|lag ~?\d+ s\b`)},
	{"slots", regexp.MustCompile(`[+-]?\d+ slot-s/h|\d+ slots\b`)},
}

// move is a vertex's change in a rationale's "→ scale name a→b, …".
var move = regexp.MustCompile(`(\d+)→(\d+)`)

// TestEveryDecisionNamesItsTrade: on every shipped scenario and every
// scenario of scenarios/fresh, on two seeds (the scenario's and a fixed
// fresh one), every decision ours publishes (scale-ups, scale-downs,
// failover folds, forecasts, decisions correcting a job that waits for
// slots, and those reporting a learned cycle's forecast) names what it
// traded in numbers: restarts, seconds over the SLO or of lag, and slots.
// A decision priced at a rise seen to repeat ("forecast: … priced at it
// now") comes only on a load whose shape repeats: never on a step, a
// random walk, a constant load or random spikes (a shape not seen repeat
// is never forecast; docs/policy.md "Forecast").
func TestEveryDecisionNamesItsTrade(t *testing.T) {
	if testing.Short() {
		t.Skip("runs every scenario twice")
	}
	if raceDetector {
		t.Skip("the race detector makes this tens of CPU minutes")
	}
	scs, err := bench.LoadScenarios([]string{"../../scenarios", "../../scenarios/fresh"})
	require.NoError(t, err)
	settings := bench.Settings([]string{policy.Name}, false)
	decisions := 0
	// kinds counts the decisions of each kind seen, so the test is known
	// to cover them.
	kinds := map[string]int{}
	kindOf := map[string]*regexp.Regexp{
		"failover fold":     regexp.MustCompile(`decided while the job is \w+ after a failover`),
		"cycle forecast":    regexp.MustCompile(`forecast: `), // reported; no scenario acts on one
		"waits for slots":   regexp.MustCompile(`for slots since it last ran`),
		"drain and release": regexp.MustCompile(`released to \d+ slots (once the lag drains|\d+m\d+s after it runs)`),
	}
	pattern := map[string]string{}
	for _, sc := range scs {
		pattern[sc.Name] = sc.Load.Pattern
	}
	ahead := regexp.MustCompile(`priced at it now, so a restart comes before the lag`)
	for _, first := range []int64{0, 45001} {
		results, err := bench.RunAll(context.Background(), scs, settings, bench.Options{Seeds: 1, FirstSeed: first, Series: true}, nil)
		require.NoError(t, err)
		for _, r := range results {
			for _, d := range r.Series.Decisions {
				decisions++
				for kind, re := range kindOf {
					if re.MatchString(d.Rationale) {
						kinds[kind]++
					}
				}
				if ahead.MatchString(d.Rationale) {
					kinds["forecast ahead"]++
					switch pattern[r.Scenario] {
					case flinksim.PatternStep, flinksim.PatternRandomWalk, flinksim.PatternConstant, flinksim.PatternSpikes:
						t.Errorf("%s seed %d at %s: a forecast on a %s load, whose shape does not repeat: %s", r.Scenario, r.Seed, d.Elapsed, pattern[r.Scenario], d.Rationale)
					}
				}
				up, down := false, false
				if i := strings.LastIndex(d.Rationale, "→ scale "); i >= 0 {
					for _, m := range move.FindAllStringSubmatch(d.Rationale[i:], -1) {
						from, _ := strconv.Atoi(m[1])
						to, _ := strconv.Atoi(m[2])
						up, down = up || to > from, down || to < from
					}
				}
				if up {
					kinds["scale-up"]++
				}
				if down {
					kinds["scale-down"]++
				}
				for _, tr := range trades {
					if !tr.re.MatchString(d.Rationale) {
						t.Errorf("%s seed %d at %s: the rationale names no %s: %s", r.Scenario, r.Seed, d.Elapsed, tr.what, d.Rationale)
					}
				}
			}
		}
	}
	for _, kind := range []string{"scale-up", "scale-down", "failover fold", "cycle forecast", "forecast ahead", "waits for slots", "drain and release"} {
		require.Positive(t, kinds[kind], "no %s decision among the runs: the test no longer covers it", kind)
	}
	t.Logf("%d decisions over %d scenarios × 2 seeds: %v", decisions, len(scs), kinds)
}
