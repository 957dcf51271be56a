package bench_test

import (
	"context"
	"fmt"
	"os"
	"sort"
	"testing"
	"time"

	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/internal/bench"
)

// TestKnobsMoveFigures is an audit, not a check: it runs ours on every
// shipped and fresh scenario (each at its own seed) with each policy knob
// moved, one at a time, and prints which scenarios' restarts, slot-seconds
// or p99 lag moved (docs/policy.md "Fields": a knob that moves nothing
// here is either unused by ours or unexercised by the scenarios). It runs
// only when FLINKSCALER_KNOB_AUDIT is set (about 15 min on a busy 2-core
// machine):
//
//	FLINKSCALER_KNOB_AUDIT=1 go test -run TestKnobsMoveFigures -v -timeout 60m ./internal/bench/
func TestKnobsMoveFigures(t *testing.T) {
	if os.Getenv("FLINKSCALER_KNOB_AUDIT") == "" {
		t.Skip("set FLINKSCALER_KNOB_AUDIT=1 to move each knob and see what moves")
	}
	scs, err := bench.LoadScenarios([]string{"../../scenarios", "../../scenarios/fresh"})
	if err != nil {
		t.Fatal(err)
	}
	knobs := map[string]func(*policy.Config){
		"slots.sharing=dedicated": func(c *policy.Config) { c.Slots.Sharing = "dedicated" },
		"slots.standby=1":         func(c *policy.Config) { c.Slots.Standby = 1 },
		"slots.perTaskManager=1":  func(c *policy.Config) { c.Slots.PerTaskManager = 1 },
		"maxStepFactor=2":         func(c *policy.Config) { c.MaxStepFactor = 2 },
		"slo.maxLag×2":            func(c *policy.Config) { c.SLO.MaxLag *= 2 },
		"slo.weight=40":           func(c *policy.Config) { c.SLO.Weight = 40 },
		"slo.recovery=6m":         func(c *policy.Config) { c.SLO.Recovery = 6 * time.Minute },
		"disturbances=1":          func(c *policy.Config) { c.Disturbances = 1 },
		"forecast=0":              func(c *policy.Config) { c.Forecast = 0 },
		"settle=10s":              func(c *policy.Config) { c.Settle = 10 * time.Second },
		"rateWindow=2m":           func(c *policy.Config) { c.RateWindow = 2 * time.Minute },
		"metricWindow=20m":        func(c *policy.Config) { c.MetricWindow = 20 * time.Minute },
		"maxSamples=30":           func(c *policy.Config) { c.MaxSamples = 30 },
		"scaleUpDelay=60s":        func(c *policy.Config) { c.ScaleUpDelay = time.Minute },
		"scaleDownWindow=15m":     func(c *policy.Config) { c.ScaleDownWindow = 15 * time.Minute },
		"restartDowntime=2m":      func(c *policy.Config) { c.RestartDowntime = 2 * time.Minute },
		"replay=2m":               func(c *policy.Config) { c.Replay = 2 * time.Minute },
		"rescaleTimeout=1m":       func(c *policy.Config) { c.RescaleTimeout = time.Minute },
		"minInterval=5m":          func(c *policy.Config) { c.MinInterval = 5 * time.Minute },
		"efficiency.prior=0.6":    func(c *policy.Config) { c.Efficiency.Prior = 0.6 },
		"efficiency.min=0.8":      func(c *policy.Config) { c.Efficiency.Min = 0.8 },
		"efficiency.max=0.95":     func(c *policy.Config) { c.Efficiency.Max = 0.95 },
		"utilization.max=0.5(v1)": func(c *policy.Config) { c.Utilization.Max = 0.5; c.Utilization.Min = 0.4 },
		"catchUp=1m(v1)":          func(c *policy.Config) { c.CatchUp = time.Minute },
		"backlog=5m(v1)":          func(c *policy.Config) { c.Backlog = 5 * time.Minute },
	}
	base := map[string]bench.Result{}
	for _, sc := range scs {
		r, err := bench.Run(context.Background(), sc, bench.Setting{Policy: policy.Name}, bench.Options{})
		if err != nil {
			t.Fatal(err)
		}
		base[sc.Name] = r
	}
	names := make([]string, 0, len(knobs))
	for k := range knobs {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		moved := []string{}
		for _, sc := range scs {
			cfg := bench.ConfigFor(sc)
			knobs[k](&cfg)
			r, err := bench.Run(context.Background(), sc, bench.Setting{Policy: policy.Name}, bench.Options{Config: &cfg})
			if err != nil {
				t.Logf("%s %s: %v", k, sc.Name, err)
				continue
			}
			b := base[sc.Name].Summary
			if r.Summary.Rescales != b.Rescales || r.Summary.SlotSeconds != b.SlotSeconds || r.Summary.LagP99Seconds != b.LagP99Seconds {
				moved = append(moved, fmt.Sprintf("%s(%d→%d rst, ×o15 %.2f→%.2f, p99 %.0f→%.0f)", sc.Name, b.Rescales, r.Summary.Rescales, b.CostVsOracle15, r.Summary.CostVsOracle15, b.LagP99Seconds, r.Summary.LagP99Seconds))
			}
		}
		t.Logf("%s moves %d of %d scenarios: %v", k, len(moved), len(scs), moved)
	}
}
