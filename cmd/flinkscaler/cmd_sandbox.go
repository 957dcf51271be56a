package main

import (
	"context"
	"fmt"
	"io"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/flinksim"
	"github.com/flinkscaler/flinkscaler/internal/sandbox"
)

// runSandbox runs a scenario's job on a real Flink MiniCluster until Ctrl-C.
func runSandbox(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("sandbox", "sandbox --scenario FILE [--listen ADDR] [--flink 1.20|2] [--record-scale N] [-v] | sandbox --build-only [--flink 1.20|2]", stderr)
	scenario := fs.String("scenario", envOr("FLINKSCALER_SCENARIO", "scenarios/wordcount.yaml"), "scenario YAML file (env FLINKSCALER_SCENARIO)")
	listen := fs.String("listen", envOr("FLINKSCALER_LISTEN", "127.0.0.1:8081"), "address of the Flink REST API and the control endpoints (env FLINKSCALER_LISTEN)")
	flink := fs.String("flink", "1.20", "Flink line to run: 1.20 (1.20.5) or 2 (2.3.0)")
	scale := fs.Float64("record-scale", 0, "scenario records per real record (0 = pick one so the peak load fits the 2-core budget)")
	verbose := fs.Bool("v", false, "print the JVM's log (warnings and errors) on stderr")
	buildOnly := fs.Bool("build-only", false, "build (or find in the cache) the sandbox jar, print its path and exit")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	if *flink != "1.20" && *flink != "2" {
		fmt.Fprintf(stderr, "--flink must be 1.20 or 2, got %q\n", *flink)
		return errUsage
	}
	if *scale < 0 {
		fmt.Fprintf(stderr, "--record-scale must be 0 or positive, got %g\n", *scale)
		return errUsage
	}
	if *buildOnly {
		jar, err := sandbox.BuildJar(ctx, *flink, stderr)
		if err != nil {
			return err
		}
		fmt.Fprintln(stdout, jar)
		return nil
	}
	cfg := sandbox.Config{Scenario: *scenario, Listen: *listen, Flink: *flink, Progress: stderr, RecordScale: *scale}
	if *verbose {
		cfg.Log = stderr
	}
	fmt.Fprintf(stdout, "sandbox: starting Flink %s for %s …\n", *flink, *scenario)
	sb, err := sandbox.Start(ctx, cfg)
	if err != nil {
		return err
	}
	sc := sb.Scenario()
	base := sb.URL()
	fmt.Fprintf(stdout, "real Flink %s (MiniCluster): scenario %s (%s)\n", sb.FlinkVersion(), sc.Name, sc.Cluster.Scaling)
	fmt.Fprintf(stdout, "  REST API     %s  (also under %s/v1)\n", base, base)
	fmt.Fprintf(stdout, "  job          %s %q\n", sb.JobID(), sc.Job.Name)
	fmt.Fprintf(stdout, "  TaskManagers %s%staskmanagers  (PUT {\"replicas\":N})\n", base, flinksim.ControlPrefix)
	fmt.Fprintf(stdout, "  ground truth %s%sgroundtruth\n", base, flinksim.ControlPrefix)
	if sb.Scale() != 1 {
		fmt.Fprintf(stdout, "  records      one record stands for %g scenario records (rates and backlogs are in real records)\n", sb.Scale())
	}
	fmt.Fprintln(stdout, "  Ctrl-C stops it")
	report := minuteReporter(stdout, sc)
	tick := time.NewTicker(5 * time.Second)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			stop, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			fmt.Fprintln(stdout, "sandbox: stopping")
			return sb.Stop(stop)
		case <-sb.Done():
			return sb.Err()
		case <-tick.C:
			gt, err := sb.GroundTruth(ctx)
			if err == nil {
				report(gt)
			}
		}
	}
}
