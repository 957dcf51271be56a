package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"runtime/debug"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/bench"
)

// Seeds per scenario of a full and of a --quick bench.
const (
	benchSeeds      = 10
	benchQuickSeeds = 3
)

// runBench runs scenarios in virtual time under every policy (and, in
// full, every value of each baseline's main knob) over several seeds and
// reports the scorecards (docs/BENCHMARK.md): tables or JSON on stdout,
// progress on stderr, SVG plots with --out.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", "bench [--quick] [--seeds N] [--first-seed S] [--json] [--out DIR] [--policies LIST] [--taskmanagers emulator|kubernetes|keda] [--mark-pods=false] [--fold-scale-down=false] [FILE_OR_DIR ...]", stderr)
	asJSON := fs.Bool("json", false, `write {"results":[...],"rows":[...],"pareto":{...}} on stdout instead of tables`)
	out := fs.String("out", "", "directory for SVG plots: per scenario the time series (first seed, default settings) and the cost/p99-lag Pareto plot")
	list := fs.String("policies", "", "comma-separated policies to compare (default: all of "+fmt.Sprint(bench.Policies)+")")
	quick := fs.Bool("quick", false, fmt.Sprintf("%d seeds per scenario and no knob sweep (baselines at their defaults)", benchQuickSeeds))
	seeds := fs.Int("seeds", 0, fmt.Sprintf("seeds per scenario: the scenario's seed, seed+1, … (default %d, %d with --quick)", benchSeeds, benchQuickSeeds))
	first := fs.Int64("first-seed", 0, "run seeds S, S+1, … on every scenario instead of each scenario's own seed and the next ones (fresh seeds; default: the scenario's)")
	verbose := fs.Bool("v", false, "one progress line per run (default: one per 10 % of the runs)")
	owner := fs.String("taskmanagers", "emulator", "who owns the TaskManager count: emulator (actuate sets it through the emulator, which removes TaskManagers without subtasks first), kubernetes (actuate scales a Deployment whose ReplicaSet picks the pods: not Ready, then the lowest pod-deletion-cost, then the newest), or keda (actuate declares it, an emulated HPA sets that Deployment's replicas every 15 s)")
	mark := fs.Bool("mark-pods", true, "with kubernetes or keda: actuate marks each TaskManager pod's deletion cost (the subtasks it runs) before a scale-down (false: the ReplicaSet removes the newest, busy or not)")
	fold := fs.Bool("fold-scale-down", true, "actuate's scale-down fold (false: the requirements first, the TaskManagers after the rescale)")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	policies, err := bench.ParsePolicies(*list)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return errUsage
	}
	if *seeds < 0 || *seeds > 1000 {
		fmt.Fprintf(stderr, "bench: --seeds must be between 1 and 1000, got %d\n", *seeds)
		return errUsage
	}
	if *first < 0 {
		fmt.Fprintf(stderr, "bench: --first-seed must be positive, got %d\n", *first)
		return errUsage
	}
	if *owner != "emulator" && *owner != "kubernetes" && *owner != "keda" {
		fmt.Fprintf(stderr, "bench: --taskmanagers must be emulator, kubernetes or keda, got %q\n", *owner)
		return errUsage
	}
	if !*mark && *owner == "emulator" {
		fmt.Fprintln(stderr, "bench: --mark-pods=false needs --taskmanagers kubernetes or keda (the emulator removes TaskManagers without subtasks first; no pods to mark)")
		return errUsage
	}
	n := *seeds
	if n == 0 {
		n = benchSeeds
		if *quick {
			n = benchQuickSeeds
		}
	}
	paths := fs.Args()
	if len(paths) == 0 {
		paths = []string{"scenarios"}
	}
	scs, err := bench.LoadScenarios(paths)
	if err != nil {
		if errors.Is(err, bench.ErrUsage) {
			fmt.Fprintln(stderr, err)
			return errUsage
		}
		return err
	}
	if os.Getenv("GOGC") == "" {
		// The runs allocate short-lived REST responses; a larger heap
		// target saves about a fifth of the CPU (docs/PERFORMANCE.md).
		debug.SetGCPercent(400)
	}
	settings := bench.Settings(policies, !*quick)
	start := time.Now()
	opt := bench.Options{Seeds: n, FirstSeed: *first, Series: *out != "", KEDA: *owner == "keda",
		Kubernetes: *owner == "kubernetes", Unmarked: !*mark, PlainScaleDown: !*fold}
	fmt.Fprintf(stderr, "%d scenarios × %d settings × %d seeds\n", len(scs), len(settings), n)
	results, err := bench.RunAll(ctx, scs, settings, opt, func(r bench.Result, took time.Duration, done, total int) {
		if *verbose || done == total || done*10/total != (done-1)*10/total {
			fmt.Fprintf(stderr, "[%d/%d] %s seed %d: %s %.1fs  rescales %d, p99 lag %.0fs, cost %.2f× oracle  (%.0fs elapsed)\n",
				done, total, r.Scenario, r.Seed, r.Setting, took.Seconds(), r.Summary.Rescales, r.Summary.LagP99Seconds,
				r.Summary.CostVsOracle, time.Since(start).Seconds())
		}
		for _, e := range r.Errors {
			fmt.Fprintf(stderr, "        %s seed %d %s: actuation failed: %s\n", r.Scenario, r.Seed, r.Setting, e)
		}
	})
	if err != nil {
		return err
	}
	fmt.Fprintf(stderr, "%d runs in %.1fs\n", len(results), time.Since(start).Seconds())
	if *out != "" {
		files, err := bench.WriteSVGs(*out, results)
		if err != nil {
			return err
		}
		for _, f := range files {
			fmt.Fprintf(stderr, "wrote %s\n", f)
		}
	}
	if *asJSON {
		return bench.WriteJSON(stdout, results)
	}
	return bench.WriteTables(stdout, results)
}
