package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/jobpolicy"
)

const policySynopsis = `policy VERB CLUSTER JOB [ARG] [--nats URL --nats-user U ...]

Day-two control of one job through its policy overrides (the KV bucket
flinkscaler_policy that decide and actuate read), with the same NATS flags
and environment as the functions:

  get      CLUSTER JOB            print the job's overrides
  set      CLUSTER JOB FILE|-     replace them with a YAML or JSON file (- = stdin)
  pause    CLUSTER JOB            stop decisions and actuations for the job
  resume   CLUSTER JOB            undo pause
  dry-run  CLUSTER JOB on|off     decide and plan, but change nothing
  clear    CLUSTER JOB            remove every override (decide's base policy applies)

JOB is the job's name or 32-hex id. Every write is validated as decide
would merge it, and made with compare-and-set.`

func runPolicy(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	fs := newFlagSet("policy", policySynopsis, stderr)
	conn := natsFlags(fs, "policy")
	pos, err := parseInterleaved(fs, args)
	if err != nil {
		return err
	}
	verb, rest := "", []string(nil)
	if len(pos) > 0 {
		verb, rest = pos[0], pos[1:]
	}
	want := map[string]int{"get": 2, "set": 3, "pause": 2, "resume": 2, "dry-run": 3, "clear": 2}
	n, ok := want[verb]
	if !ok {
		fmt.Fprintf(stderr, "flinkscaler policy: want a verb: get, set, pause, resume, dry-run or clear (got %q)\n", verb)
		return errUsage
	}
	if len(rest) != n {
		fmt.Fprintf(stderr, "flinkscaler policy %s: want %d arguments (CLUSTER JOB%s), got %d\n", verb, n, map[bool]string{true: " ARG", false: ""}[n == 3], len(rest))
		return errUsage
	}
	cluster, job := rest[0], rest[1]
	if _, err := jobpolicy.Key(cluster, job); err != nil {
		return err
	}
	var input []byte
	if verb == "set" {
		if input, err = readInput(rest[2]); err != nil {
			return err
		}
		if err := jobpolicy.Validate(input); err != nil {
			return fmt.Errorf("%s: %w", rest[2], err)
		}
	}
	if verb == "dry-run" && rest[2] != "on" && rest[2] != "off" {
		return fmt.Errorf("dry-run: %q: want on or off", rest[2])
	}
	nc, js, err := events.Connect(*conn)
	if err != nil {
		return err
	}
	defer nc.Close()
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	kv, err := js.KeyValue(ctx, events.BucketPolicy)
	if errors.Is(err, jetstream.ErrBucketNotFound) {
		return fmt.Errorf("no bucket %s on %s: start decide or actuate once (they create it)", events.BucketPolicy, nc.ConnectedUrlRedacted())
	}
	if err != nil {
		return fmt.Errorf("open %s: %w", events.BucketPolicy, err)
	}
	return policyVerb(ctx, kv, verb, cluster, job, rest, input, stdout)
}

func policyVerb(ctx context.Context, kv jetstream.KeyValue, verb, cluster, job string, rest []string, input []byte, stdout io.Writer) error {
	var e jobpolicy.Entry
	var err error
	switch verb {
	case "get":
		if e, err = jobpolicy.Get(ctx, kv, cluster, job); err == nil && e.Revision == 0 {
			fmt.Fprintf(stdout, "# %s/%s: no overrides; decide applies its base policy (decide --print-policy shows it)\n", cluster, job)
			return nil
		}
		if err == nil {
			fmt.Fprintf(stdout, "# %s/%s overrides (key %s, revision %d)\n%s", cluster, job, e.Key, e.Revision, e.YAML())
		}
		return err
	case "set":
		e, err = jobpolicy.Set(ctx, kv, cluster, job, input)
	case "pause":
		e, err = jobpolicy.Patch(ctx, kv, cluster, job, "paused", true)
	case "resume":
		e, err = jobpolicy.Patch(ctx, kv, cluster, job, "paused", false)
	case "dry-run":
		e, err = jobpolicy.Patch(ctx, kv, cluster, job, "dryRun", rest[2] == "on")
	case "clear":
		if err := jobpolicy.Clear(ctx, kv, cluster, job); err != nil {
			return err
		}
		fmt.Fprintf(stdout, "cleared %s/%s: decide applies its base policy\n", cluster, job)
		return nil
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "%s %s/%s (key %s, revision %d): %s\n", pastTense[verb], cluster, job, e.Key, e.Revision, effect[verb])
	return nil
}

var pastTense = map[string]string{"set": "set", "pause": "paused", "resume": "resumed", "dry-run": "set dry-run of"}

var effect = map[string]string{
	"set":     "decide uses it from its next snapshot of the job",
	"pause":   "decide makes no decisions and actuate applies none until 'flinkscaler policy resume'",
	"resume":  "decisions and actuations go on",
	"dry-run": "decisions are still made and planned; with on, nothing in Flink or Kubernetes changes",
}

func readInput(path string) ([]byte, error) {
	if path == "-" {
		return io.ReadAll(os.Stdin)
	}
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	return b, nil
}

// parseInterleaved parses flags anywhere among the positional arguments and
// returns the positional ones.
func parseInterleaved(fs *flag.FlagSet, args []string) ([]string, error) {
	var pos []string
	for {
		if err := fs.Parse(args); err != nil {
			if errors.Is(err, flag.ErrHelp) {
				return nil, err
			}
			return nil, errUsage
		}
		args = fs.Args()
		if len(args) == 0 {
			return pos, nil
		}
		if strings.HasPrefix(args[0], "-") && args[0] != "-" {
			continue
		}
		pos, args = append(pos, args[0]), args[1:]
	}
}
