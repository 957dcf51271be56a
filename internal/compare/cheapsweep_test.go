package compare

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/flinkscaler/flinkscaler/internal/bench"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
)

// TestCheapRestartsSweep runs ours on compare's fast scenario and tuning
// in the bench's loop with the real-Flink sandbox's cheap restarts (3 s
// ±60 %, TaskManagers in 1 s, Flink's metric timing): what a real-Flink
// compare would be on the emulator, over many seeds, without a JVM.
// Skipped unless CHEAP_SWEEP=file:duration,... (paths from the
// repository's root) is set; CHEAP_SEED (first seed; default the
// scenario's), CHEAP_SEEDS (default 1), CHEAP_RESTART (a restart, or
// "keep" for the scenario's own), CHEAP_PENDING_AFTER (the sources'
// pendingRecords registered that long after each start), CHEAP_V=1
// (print every decision), CHEAP_TRACE=1 (print the run's states from
// 1m20s to 3m20s). One line per seed and a MEAN line per scenario:
//
//	CHEAP_SWEEP=scenarios/wordcount-flatmap.yaml:10m CHEAP_SEED=134101 CHEAP_SEEDS=10 go test ./internal/compare -run TestCheapRestartsSweep -v
func TestCheapRestartsSweep(t *testing.T) {
	spec := os.Getenv("CHEAP_SWEEP")
	if spec == "" {
		t.Skip()
	}
	seed0, _ := strconv.ParseInt(os.Getenv("CHEAP_SEED"), 10, 64)
	n, _ := strconv.Atoi(os.Getenv("CHEAP_SEEDS"))
	if n == 0 {
		n = 1
	}
	restart := os.Getenv("CHEAP_RESTART")
	if restart == "" {
		restart = "3s"
	}
	verbose := os.Getenv("CHEAP_V") != ""
	for _, item := range strings.Split(spec, ",") {
		file, dur, _ := strings.Cut(item, ":")
		d, _ := time.ParseDuration(dur)
		dir := t.TempDir()
		path, _, err := compressScenario(filepath.Join("..", "..", file), dir, FastFactor)
		if err != nil {
			t.Fatal(err)
		}
		data, _ := os.ReadFile(path)
		var doc map[string]any
		if err := yaml.Unmarshal(data, &doc); err != nil {
			t.Fatal(err)
		}
		cl := doc["cluster"].(map[string]any)
		if restart != "keep" {
			cl["restart"] = restart
			cl["restartJitter"] = 0.6
			cl["taskManagerStartup"] = "1s"
			delete(cl, "stateRestore")
		}
		cl["realMetricTiming"] = true
		if pa := os.Getenv("CHEAP_PENDING_AFTER"); pa != "" {
			for _, v := range doc["job"].(map[string]any)["vertices"].([]any) {
				vm := v.(map[string]any)
				if _, ok := vm["inputs"]; !ok {
					vm["pendingRecordsAfter"] = pa
				}
			}
		}
		out, _ := yaml.Marshal(doc)
		if err := os.WriteFile(path, out, 0o644); err != nil {
			t.Fatal(err)
		}
		tunePolicy, _, _ := tuneOurs(TimingFast)
		var sum [6]float64
		for k := 0; k < n; k++ {
			sc, err := flinksim.LoadScenario(path)
			if err != nil {
				t.Fatal(err)
			}
			if seed0 > 0 {
				sc.Seed = seed0 + int64(k)
			}
			cfg := bench.ConfigFor(sc)
			tunePolicy(&cfg)
			res, err := bench.Run(context.Background(), sc, bench.Setting{Policy: "flinkscaler"}, bench.Options{Duration: d, Config: &cfg})
			if err != nil {
				t.Fatal(err)
			}
			s := res.Summary
			fmt.Printf("%s seed %d: x15 %.3f p99 %.0f viol %.0f flaps %d (all %d) rescales/change %.2f (%d/%d) restarts %d\n",
				sc.Name, sc.Seed, s.CostVsOracle15, s.LagP99Seconds, s.SLOViolationSeconds, s.DecidedFlaps, s.Flaps, s.RescalesPerLoadChange, s.ParallelismChanges, s.LoadChanges, s.Rescales)
			sum[0] += s.CostVsOracle15
			sum[1] += s.LagP99Seconds
			sum[2] += float64(s.DecidedFlaps)
			sum[3] += s.RescalesPerLoadChange
			sum[4] += s.SLOViolationSeconds
			sum[5] += s.LagBackMaxSeconds
			if os.Getenv("CHEAP_TRACE") != "" {
				prev := ""
				for _, x := range res.Series.Samples {
					line := fmt.Sprintf("%v tm %v p %v lag %.0f", x.State, x.TaskManagers, x.Parallelism, x.LagSeconds)
					if x.Elapsed >= 80*time.Second && x.Elapsed <= 200*time.Second && line != prev {
						fmt.Printf("    %6s %s\n", x.Elapsed, line)
					}
					prev = line
				}
			}
			if verbose {
				for _, m := range res.Series.Decisions {
					fmt.Printf("  %6s → %v\n      %s\n", m.Elapsed, m.Targets, m.Rationale)
				}
			}
		}
		f := float64(n)
		fmt.Printf("MEAN %s: x15 %.3f p99 %.1f flaps %.2f resc/change %.2f viol %.1f lagback %.1f\n", file, sum[0]/f, sum[1]/f, sum[2]/f, sum[3]/f, sum[4]/f, sum[5]/f)
	}
}
