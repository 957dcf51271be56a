package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/bench"
)

// runBench runs scenarios in virtual time under every policy and reports
// the scorecards (docs/BENCHMARK.md): tables or JSON on stdout, progress on
// stderr, SVG plots with --out.
func runBench(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("bench", "bench [--json] [--out DIR] [--policies LIST] [FILE_OR_DIR ...]", stderr)
	asJSON := fs.Bool("json", false, `write {"results":[...]} on stdout instead of tables`)
	out := fs.String("out", "", "directory for one SVG plot per scenario (load, parallelism and lag of every policy)")
	list := fs.String("policies", "", "comma-separated policies to compare (default: all of "+fmt.Sprint(bench.Policies)+")")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	policies, err := bench.ParsePolicies(*list)
	if err != nil {
		fmt.Fprintln(stderr, err)
		return errUsage
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
	start := time.Now()
	results, err := bench.RunAll(ctx, scs, policies, bench.Options{}, func(r bench.Result, took time.Duration, done, total int) {
		fmt.Fprintf(stderr, "[%2d/%d] %-22s %-15s %6.1fs  rescales %d, SLO violation %.0fs, cost %.2f× oracle\n",
			done, total, r.Scenario, r.Policy, took.Seconds(), r.Summary.Rescales, r.Summary.SLOViolationSeconds, r.Summary.CostVsOracle)
		for _, e := range r.Errors {
			fmt.Fprintf(stderr, "        actuation failed: %s\n", e)
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
