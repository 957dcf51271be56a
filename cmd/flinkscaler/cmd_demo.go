package main

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/demo"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
	"github.com/flinkscaler/flinkscaler/internal/sandbox"
	"github.com/flinkscaler/flinkscaler/scenarios"
)

// runDemo runs the whole system on an emulated Flink job, sped up, and
// reports how it scaled.
func runDemo(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("demo", "demo [--scenario FILE] [--engine emulator|flink [--flink 1.20|2]] [--speed N] [--duration D] [--report FILE] [--json] [--nats-listen ADDR] [--flink-listen ADDR] [--keda-listen ADDR] [--verbose]", stderr)
	scenario := fs.String("scenario", "", "scenario YAML file (default: the built-in scenarios/wordcount.yaml)")
	speed := fs.Float64("speed", 30, "simulated seconds per real second (at most 1000; always 1 with --engine flink)")
	engine := fs.String("engine", "emulator", "run the job on the Flink emulator (emulator) or on a real Apache Flink MiniCluster in real time (flink; needs java and mvn, builds its jar on first use)")
	flinkLine := fs.String("flink", "1.20", "with --engine flink: the Flink line, 1.20 or 2")
	duration := fs.Duration("duration", 0, "simulated time to run (default: the scenario's duration)")
	report := fs.String("report", "demo-report.html", "HTML report to write at the end (empty: none)")
	asJSON := fs.Bool("json", false, "print the summary as JSON on stdout; progress goes to stderr")
	natsListen := fs.String("nats-listen", "", "expose the embedded NATS server on ADDR (host:port) so 'flinkscaler watch --nats nats://ADDR' can follow along (default: a free loopback port)")
	flinkListen := fs.String("flink-listen", "", "serve the Flink REST API (emulated, or the real sandbox's) on ADDR (default: a free loopback port)")
	kedaListen := fs.String("keda-listen", "", "serve actuate's KEDA external scaler (gRPC) on ADDR; ScaledObject metadata cluster=demo, job=<job name>")
	verbose := fs.Bool("verbose", false, "print the functions' logs on stderr")
	if err := parseFlags(fs, args); err != nil {
		return err
	}
	sc, err := demoScenario(*scenario)
	if err != nil {
		return err
	}
	progress := stdout
	if *asJSON {
		progress = stderr
	}
	switch *engine {
	case "emulator":
	case "flink":
		if flagSet(fs, "speed") && *speed != 1 {
			fmt.Fprintf(stderr, "--speed %g: a real Flink runs in real time (--speed 1)\n", *speed)
			return errUsage
		}
		*speed = 1
	default:
		fmt.Fprintf(stderr, "--engine must be emulator or flink, got %q\n", *engine)
		return errUsage
	}
	cfg := demo.Config{
		Scenario: sc, Speed: *speed, Duration: *duration, Progress: progress,
		NATSListen: *natsListen, FlinkListen: *flinkListen, KEDAListen: *kedaListen,
	}
	if *verbose {
		cfg.Log = slog.New(slog.NewTextHandler(stderr, nil))
	}
	if err := cfg.Validate(); err != nil {
		fmt.Fprintln(stderr, err)
		return errUsage
	}
	if *engine == "flink" {
		if *flinkLine != "1.20" && *flinkLine != "2" {
			fmt.Fprintf(stderr, "--flink must be 1.20 or 2, got %q\n", *flinkLine)
			return errUsage
		}
		sb, err := startDemoSandbox(ctx, sc, *flinkListen, *flinkLine, progress, stderr, *verbose)
		if err != nil {
			return err
		}
		defer stopSandbox(sb)
		cfg.FlinkListen = "" // the sandbox serves the REST API
		cfg.External = &demo.External{URL: sb.URL(), JobID: sb.JobID(), Truth: sb.ScenarioTruth}
	}
	out, runErr := demo.Run(ctx, cfg)
	if out == nil {
		return runErr
	}
	sum := out.Summary(*report)
	if *report != "" {
		if err := writeReport(*report, out, sum); err != nil {
			return err
		}
	}
	if *asJSON {
		enc := json.NewEncoder(stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(sum); err != nil {
			return fmt.Errorf("write summary: %w", err)
		}
	} else {
		sum.Print(stdout)
	}
	return runErr
}

// demoScenario loads path, or the built-in default scenario when empty.
func demoScenario(path string) (*flinksim.Scenario, error) {
	if path != "" {
		return flinksim.LoadScenario(path)
	}
	sc, err := flinksim.ParseScenario(scenarios.Wordcount, ".")
	if err != nil {
		return nil, fmt.Errorf("built-in %s: %w", scenarios.WordcountName, err)
	}
	return sc, nil
}

// writeReport writes the HTML report to path, through a temporary file so a
// failed write leaves no half report.
func writeReport(path string, out *demo.Outcome, sum demo.Summary) error {
	return writeFileAtomic(path, func(w io.Writer) error { return demo.WriteReport(w, out, sum) })
}

// writeFileAtomic writes path through a temporary file in its directory,
// renamed into place once complete, readable by all (a report is for
// sharing).
func writeFileAtomic(path string, write func(io.Writer) error) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), ".report-*.tmp")
	if err != nil {
		return fmt.Errorf("report: %w", err)
	}
	defer os.Remove(tmp.Name()) // gone after the rename; cleans up after a failure
	if err := write(tmp); err != nil {
		tmp.Close()
		return fmt.Errorf("report: %w", err)
	}
	if err := tmp.Chmod(0o644); err != nil { // CreateTemp's 0600 is for secrets
		tmp.Close()
		return fmt.Errorf("report: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("report: %w", err)
	}
	return nil
}

// flagSet reports whether the command line set the flag name.
func flagSet(fs *flag.FlagSet, name string) bool {
	set := false
	fs.Visit(func(f *flag.Flag) { set = set || f.Name == name })
	return set
}

// startDemoSandbox starts the real-Flink sandbox for the demo's scenario.
func startDemoSandbox(ctx context.Context, sc *flinksim.Scenario, listen, line string, progress, stderr io.Writer, verbose bool) (*sandbox.Sandbox, error) {
	fmt.Fprintf(progress, "starting a real Flink %s (the first run builds the sandbox jar with Maven)\n", line)
	cfg := sandbox.Config{Loaded: sc, Listen: listen, Flink: line, Progress: stderr}
	if verbose {
		cfg.Log = stderr
	}
	sb, err := sandbox.Start(ctx, cfg)
	if err != nil {
		return nil, err
	}
	fmt.Fprintf(progress, "real Flink %s at %s, job %s; one record stands for %g scenario records\n", sb.FlinkVersion(), sb.URL(), sb.JobID(), sb.Scale())
	return sb, nil
}

func stopSandbox(sb *sandbox.Sandbox) {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	_ = sb.Stop(ctx) // the run is over; Stop kills a JVM that does not exit
}
