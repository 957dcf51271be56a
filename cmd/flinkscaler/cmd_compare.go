package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/compare"
	"github.com/flinkscaler/flinkscaler/internal/flinkautoscaler"
)

// runCompare runs a scenario twice, once scaled by flinkscaler and once by
// the Flink Kubernetes operator's autoscaler, and prints both scorecards.
func runCompare(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("compare", "compare --scenario FILE [--engine flink|emulator] [--timing default|fast] [--duration D] [--peer-version V] [--json] [--report FILE] [--record FILE] [--record-ours FILE] [--only ours|peer [--peer-from FILE]] [--verbose]", stderr)
	scenario := fs.String("scenario", "", "scenario YAML file (required), e.g. scenarios/wordcount.yaml")
	engine := fs.String("engine", compare.EngineEmulator, "where the job runs: emulator (flinksim) or flink (the real-Flink sandbox: Flink 2.3.0 for a scenario on flinkVersion 2.0, 1.20.5 otherwise)")
	timing := fs.String("timing", compare.TimingDefault, fmt.Sprintf("default: both autoscalers at their shipped defaults; fast: the scenario's timeline and both autoscalers' windows and waits divided by %d (the report lists every changed option)", compare.FastFactor))
	duration := fs.Duration("duration", 0, "job time to run each policy (default: the scenario's, after --timing); runs are real time")
	version := fs.String("peer-version", flinkautoscaler.DefaultVersion, "Flink Kubernetes operator release whose autoscaler is the peer (resolved from Maven Central, cached)")
	asJSON := fs.Bool("json", false, "print one JSON object per run on stdout (policy, status, scorecard, ours' targets, and each decision with its time, targets and rationale); progress goes to stderr")
	report := fs.String("report", "compare-report.html", "HTML report with both runs overlaid (empty: none)")
	record := fs.String("record", "", "write the peer run's metric stream (snapshots as metrics-ingest reads them, every 10 s) and the original's rescales to FILE as JSON lines, replayable against our flink-operator baseline (empty: none)")
	recordOurs := fs.String("record-ours", "", "write ours' run to FILE as JSON lines: the policy configuration decide ran with, every snapshot metrics-ingest published (decide's input), then ours' decisions; compare.ReplayOurs replays the snapshots through today's decide (empty: none)")
	only := fs.String("only", "", "run one policy only: ours or peer (empty: both); on real Flink a whole-length run of a long scenario then fits in two JVM holds")
	peerFrom := fs.String("peer-from", "", "with --only ours: a previous compare's --json output whose peer run ours' targets are checked against (\"ahead of the peer\"); empty: none")
	verbose := fs.Bool("verbose", false, "print both runs' logs (the functions' at debug, with decide's holds and their reasons; the autoscaler JVM's) on stderr")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	progress := stdout
	if *asJSON {
		progress = stderr
	}
	cfg := compare.Config{
		ScenarioPath: *scenario, Engine: *engine, Timing: *timing, Duration: *duration,
		PeerVersion: *version, Progress: progress, Only: *only,
	}
	if *peerFrom != "" {
		b, err := os.ReadFile(*peerFrom)
		if err != nil {
			fmt.Fprintf(stderr, "--peer-from: %v\n", err)
			return errUsage
		}
		cfg.PeerFrom = bytes.NewReader(b)
	}
	if *verbose {
		cfg.Log = stderr
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(stderr, err)
		return errUsage
	}
	if *record != "" {
		f, done, err := createRecord("--record", *record, stderr)
		if err != nil {
			return err
		}
		defer done()
		cfg.Record = f
	}
	if *recordOurs != "" {
		f, done, err := createRecord("--record-ours", *recordOurs, stderr)
		if err != nil {
			return err
		}
		defer done()
		cfg.RecordOurs = f
	}
	began := time.Now()
	res, err := compare.Compare(ctx, cfg)
	if errors.Is(err, compare.ErrConfig) {
		fmt.Fprintln(stderr, err)
		return errUsage
	}
	if err != nil {
		return err
	}
	if *report != "" {
		if err := writeFileAtomic(*report, res.WriteReport); err != nil {
			return err
		}
	}
	if *asJSON {
		if err := res.WriteJSON(stdout); err != nil {
			return fmt.Errorf("write results: %w", err)
		}
	} else {
		res.Print(stdout)
		fmt.Fprintf(stdout, "took %s", time.Since(began).Round(time.Second))
		if *report != "" {
			fmt.Fprintf(stdout, "; report: %s", *report)
		}
		fmt.Fprintln(stdout)
	}
	for _, run := range res.Runs {
		if run.Status == compare.StatusFailed || run.Status == compare.StatusNotRun {
			return fmt.Errorf("%s run %s: %s", run.Policy, run.Status, run.Error)
		}
	}
	return nil
}

// createRecord creates path for the stream a --record flag names; done
// syncs it, says on stderr if that failed, and closes it (written by
// Compare; a close error after a sync changes nothing).
func createRecord(flag, path string, stderr io.Writer) (f *os.File, done func(), err error) {
	f, err = os.Create(path)
	if err != nil {
		return nil, nil, fmt.Errorf("%s: %w", flag, err)
	}
	return f, func() {
		if err := f.Sync(); err != nil {
			fmt.Fprintf(stderr, "%s %s: %v\n", flag, path, err)
		}
		_ = f.Close()
	}, nil
}
