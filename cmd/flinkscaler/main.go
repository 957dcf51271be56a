// Command flinkscaler is the one binary for people: the demo, the Flink
// emulator, the benchmark, a local NATS server, tools to watch and publish
// events, and the three functions as subcommands.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"os/signal"
	"syscall"

	"github.com/flinkscaler/flinkscaler/internal/function"
)

// command is one verb of the binary.
type command struct {
	name    string
	summary string
	run     func(ctx context.Context, args []string, stdout, stderr io.Writer) error
}

// commands is the explicit list of verbs, in the order --help shows them.
func commands() []command {
	return []command{
		{"demo", "run the whole system on an emulated Flink job and report how it scaled", runDemo},
		{"sim", "serve an emulated Flink JobManager REST API driven by a scenario file", runSim},
		{"sandbox", "run a scenario's job on a real Apache Flink (a MiniCluster in one JVM) behind the emulator's URLs", runSandbox},
		{"bench", "compare scaling policies on scenarios in virtual time", runBench},
		{"compare", "run a scenario under flinkscaler and under the Flink operator's autoscaler, side by side", runCompare},
		{"nats", "run a JetStream-enabled NATS server for small installs and local use", runNATS},
		{"watch", "print flinkscaler events as they flow", runWatch},
		{"publish", "publish a user metric event (io.flinkscaler.metric.v1)", runPublish},
		{"ingest", "run metrics-ingest: poll Flink JobManagers, publish snapshots", runIngest},
		{"decide", "run decide: turn snapshots into scaling decisions", runDecide},
		{"actuate", "run actuate: apply decisions to Kubernetes and Flink; KEDA external scaler", runActuate},
		{"policy", "get, set, pause, resume or dry-run one job's scaling policy", runPolicy},
		{"version", "print the version and build of this binary", runVersion},
	}
}

// errUsage marks a command-line error the verb has already printed.
var errUsage = errors.New("usage")

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	code := run(ctx, os.Args[1:], os.Stdout, os.Stderr)
	stop()
	os.Exit(code)
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) int {
	if len(args) > 0 && (args[0] == "--version" || args[0] == "-version") {
		args = []string{"version"}
	}
	if len(args) == 0 || args[0] == "-h" || args[0] == "--help" || args[0] == "help" {
		usage(stderr)
		if len(args) == 0 {
			return 2
		}
		return 0
	}
	for _, c := range commands() {
		if c.name != args[0] {
			continue
		}
		err := c.run(ctx, args[1:], stdout, stderr)
		if errors.Is(err, errUsage) {
			return 2 // already explained
		}
		return function.ExitCode(stderr, "flinkscaler "+c.name, err)
	}
	fmt.Fprintf(stderr, "flinkscaler: unknown command %q\n\n", args[0])
	usage(stderr)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "flinkscaler autoscales Apache Flink streaming jobs.")
	fmt.Fprintln(w, "\nUsage: flinkscaler <command> [flags]\n\nCommands:")
	for _, c := range commands() {
		fmt.Fprintf(w, "  %-8s %s\n", c.name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'flinkscaler <command> --help' for a command's flags.")
}

// newFlagSet returns the flag set of a verb: --help prints the usage line
// and its flags; parse it with parseFlags.
func newFlagSet(name, synopsis string, stderr io.Writer) *flag.FlagSet {
	return function.NewToolFlagSet("flinkscaler "+name, "flinkscaler "+synopsis, stderr)
}

// parseFlags parses args; an error is one line with a hint (function.ErrUsage).
func parseFlags(fs *flag.FlagSet, args []string) error {
	if fs.Name() == "flinkscaler bench" {
		return function.ParseWithArgs(fs, args, nil)
	}
	return function.Parse(fs, args, nil)
}

// envOr returns the environment variable key, or def when it is unset.
func envOr(key, def string) string {
	if v, ok := os.LookupEnv(key); ok && v != "" {
		return v
	}
	return def
}
