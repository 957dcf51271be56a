package policy_test

import (
	"context"
	"fmt"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/internal/bench"
	"github.com/flinkscaler/flinkscaler/internal/scorecard"
)

// TestSweepKnobs sweeps the policy's pricing knobs (slo.weight,
// disturbances, and the lag's share of the SLO price) on the scorecard, one
// at a time around the defaults, and prints mean and p95 over seeds and
// scenarios (docs/BENCHMARK.md "Knobs of the policy"). It runs only when
// FLINKSCALER_SWEEP names the number of seeds:
//
//	FLINKSCALER_SWEEP=10 go test -run TestSweepKnobs -v ./functions/decide/policy/
//
// FLINKSCALER_SWEEP_SEED sets the first seed (default: each scenario's
// own, as the bench), FLINKSCALER_SWEEP_SCENARIOS a comma-separated list of
// scenario files, relative to the repository's root (default: the subset
// below), FLINKSCALER_SWEEP_ONLY=1 the
// defaults alone (fresh seeds and scenarios), FLINKSCALER_SWEEP_POLICY
// another policy than flinkscaler (flinkscaler-v1: old against new).
func TestSweepKnobs(t *testing.T) {
	seeds, _ := strconv.Atoi(os.Getenv("FLINKSCALER_SWEEP"))
	if seeds <= 0 {
		t.Skip("set FLINKSCALER_SWEEP=<seeds> to sweep the policy's knobs")
	}
	files := []string{"chains-windows", "faults", "keyed-aggregation", "skewed-sources", "spikes-dedicated", "wordcount", "wordcount-flatmap"}
	for i, f := range files {
		files[i] = filepath.Join("..", "..", "..", "scenarios", f+".yaml")
	}
	if s := os.Getenv("FLINKSCALER_SWEEP_SCENARIOS"); s != "" {
		files = strings.Split(s, ",")
		for i, f := range files {
			files[i] = fromRoot(f)
		}
	}
	scs, err := bench.LoadScenarios(files)
	require.NoError(t, err)
	type setting struct {
		name string
		set  func(*policy.Config) func()
	}
	none := func() {}
	settings := []setting{{"defaults", func(*policy.Config) func() { return none }}}
	if os.Getenv("FLINKSCALER_SWEEP_ONLY") == "" {
		for _, w := range []float64{5, 10, 40, 80} {
			settings = append(settings, setting{fmt.Sprintf("slo.weight=%g", w), func(c *policy.Config) func() { c.SLO.Weight = w; return none }})
		}
		for _, d := range []float64{0, 0.5, 1} {
			settings = append(settings, setting{fmt.Sprintf("disturbances=%g", d), func(c *policy.Config) func() { c.Disturbances = d; return none }})
		}
		for _, l := range []float64{0.1, 0.3} {
			settings = append(settings, setting{fmt.Sprintf("lagShare=%g", l), func(*policy.Config) func() { return policy.SetLagShare(l) }})
		}
	}
	first, _ := strconv.Atoi(os.Getenv("FLINKSCALER_SWEEP_SEED"))
	name := policy.Name
	if p := os.Getenv("FLINKSCALER_SWEEP_POLICY"); p != "" {
		name = p
	}
	fmt.Printf("%-18s %12s %12s %12s %10s %8s %10s\n", "setting", "×oracle15", "p99 lag s", "SLO viol s", "resc/chg", "osc", "recov>10")
	for _, s := range settings {
		var all []scorecard.Summary
		var perChange []float64
		for _, sc := range scs {
			var rs, lc float64
			for k := range seeds {
				run := *sc
				run.Seed = sc.Seed + int64(k)
				if first > 0 {
					run.Seed = int64(first + k)
				}
				cfg := bench.ConfigFor(&run)
				restore := s.set(&cfg)
				res, err := bench.Run(context.Background(), &run, bench.Setting{Policy: name}, bench.Options{Config: &cfg})
				restore()
				require.NoError(t, err)
				all = append(all, res.Summary)
				rs += float64(res.Summary.Rescales)
				lc += float64(res.Summary.LoadChanges)
			}
			perChange = append(perChange, rs/math.Max(lc, 1))
			if os.Getenv("FLINKSCALER_SWEEP_ONLY") != "" {
				fmt.Printf("  %-22s %s\n", sc.Name, scenarioLine(all[len(all)-seeds:], rs/math.Max(lc, 1)))
			}
		}
		col := func(f func(scorecard.Summary) float64) string {
			xs := make([]float64, len(all))
			for i, x := range all {
				xs[i] = f(x)
			}
			return meanP95(xs)
		}
		recov := 0
		for i, x := range all {
			if x.RecoveryMaxSeconds > bench.RecoveryBoundSLOs*scs[i/seeds].SLO.MaxLagSeconds {
				recov++
			}
		}
		fmt.Printf("%-18s %12s %12s %12s %10s %8s %10d\n", s.name,
			col(func(x scorecard.Summary) float64 { return x.CostVsOracle15 }),
			col(func(x scorecard.Summary) float64 { return x.LagP99Seconds }),
			col(func(x scorecard.Summary) float64 { return x.SLOViolationSeconds }),
			meanP95(perChange), col(func(x scorecard.Summary) float64 { return float64(x.Oscillations) }), recov)
	}
}

// scenarioLine is one scenario's means and p95s over its seeds.
func scenarioLine(xs []scorecard.Summary, perChange float64) string {
	col := func(f func(scorecard.Summary) float64) string {
		v := make([]float64, len(xs))
		for i, x := range xs {
			v[i] = f(x)
		}
		return meanP95(v)
	}
	return fmt.Sprintf("×oracle15 %s  p99 lag %s  SLO viol %s  rescales/change %.2f  osc %s  recovery max %s",
		col(func(x scorecard.Summary) float64 { return x.CostVsOracle15 }),
		col(func(x scorecard.Summary) float64 { return x.LagP99Seconds }),
		col(func(x scorecard.Summary) float64 { return x.SLOViolationSeconds }), perChange,
		col(func(x scorecard.Summary) float64 { return float64(x.Oscillations) }),
		col(func(x scorecard.Summary) float64 { return x.RecoveryMaxSeconds }))
}

// meanP95 formats the mean and the 95th percentile of xs as "mean/p95".
func meanP95(xs []float64) string {
	s := slices.Clone(xs)
	slices.Sort(s)
	sum := 0.0
	for _, x := range s {
		sum += x
	}
	p := s[min(len(s)-1, int(math.Ceil(0.95*float64(len(s))))-1)]
	return fmt.Sprintf("%.2f/%.2f", sum/float64(len(s)), p)
}
