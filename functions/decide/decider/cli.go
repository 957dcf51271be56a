package decider

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/internal/function"
)

const (
	synopsis = "flinkscaler decide [--policy FILE] [--dry-run] [--nats URL] [--http-listen ADDR] [flags]"
	summary  = "decide turns job snapshots and user metrics into scaling decisions."
)

// cli is decide's command line before it becomes a Config.
type cli struct {
	common      function.Common
	policyFile  string
	sources     string
	dryRun      bool
	printPolicy bool
}

func (c *cli) bind(fs *flag.FlagSet) {
	c.common.Bind(fs)
	fs.StringVar(&c.policyFile, "policy", "", "YAML policy file applied to every job over the defaults (see --print-policy; every field, why it exists and what moving it trades: docs/policy.md)")
	fs.StringVar(&c.sources, "metric-sources", "", "comma-separated CloudEvents source prefixes allowed to send user metric events; empty allows all")
	fs.BoolVar(&c.dryRun, "dry-run", false, "change nothing in Flink or Kubernetes: decisions are made and published, marked dry run, and actuate only plans them")
	fs.BoolVar(&c.printPolicy, "print-policy", false, "print the policy every job starts from (defaults, then --policy, validated) as YAML and exit")
}

// ParseArgs parses decide's command line and environment (getenv) into a
// validated Config; --help goes to help. printPolicy reports
// --print-policy.
func ParseArgs(args []string, getenv func(string) string, help io.Writer) (cfg Config, printPolicy bool, err error) {
	c := cli{common: function.Defaults(Function, function.HTTPDecide)}
	fs := function.NewFlagSet("flinkscaler decide", synopsis, summary, help)
	c.bind(fs)
	if err := function.Parse(fs, args, getenv); err != nil {
		return Config{}, false, err
	}
	c.common.NATS.Password = getenv("FLINKSCALER_NATS_PASSWORD")
	cfg, err = c.load()
	return cfg, c.printPolicy, err
}

// load builds the Config: defaults, then the policy file, then flags; it
// validates and reports every problem.
func (c cli) load() (Config, error) {
	errs := c.common.Problems()
	pol := policy.Defaults()
	if c.policyFile != "" {
		file, err := os.Open(c.policyFile)
		if err != nil {
			return Config{}, fmt.Errorf("--policy: %w", err)
		}
		defer file.Close()
		if pol, err = policy.Load(file, pol); err != nil {
			return Config{}, fmt.Errorf("--policy %s: %w", c.policyFile, err)
		}
	}
	if c.dryRun {
		pol.DryRun = true
	}
	if err := pol.Validate(); err != nil {
		errs = append(errs, fmt.Errorf("policy: %w", err))
	}
	if len(errs) > 0 {
		return Config{}, errors.Join(errs...)
	}
	cfg := Config{Common: c.common, Policy: pol}
	for s := range strings.SplitSeq(c.sources, ",") {
		if s = strings.TrimSpace(s); s != "" {
			cfg.MetricSources = append(cfg.MetricSources, s)
		}
	}
	return cfg, nil
}

// Command is decide as a command (flinkscaler decide, functions/decide):
// it parses args and the environment, then runs until ctx ends.
func Command(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	cfg, printPolicy, err := ParseArgs(args, os.Getenv, stderr)
	if err != nil {
		return err
	}
	if printPolicy {
		out, err := yaml.Marshal(cfg.Policy)
		if err != nil {
			return fmt.Errorf("print policy: %w", err)
		}
		_, err = stdout.Write(out)
		return err
	}
	return Run(ctx, cfg, cfg.Logger(stderr, Function))
}
