package ingest

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/function"
)

const (
	synopsis = "flinkscaler ingest --flink CLUSTER=URL [--interval D] [--config FILE] [--nats URL] [--http-listen ADDR] [flags]"
	summary  = "metrics-ingest polls Flink JobManagers' REST APIs and publishes a job snapshot per job and interval."
)

// cli is ingest's command line before it becomes a Config. --flink adds
// targets to those of the config file.
type cli struct {
	fs                *flag.FlagSet
	common            function.Common
	flink             function.Clusters
	config, jobs      string
	replica           string
	tokenFile, caFile string
	interval          time.Duration
}

func (c *cli) bind(fs *flag.FlagSet) {
	c.fs = fs
	c.common.Bind(fs)
	fs.Var(c.flink, "flink", "JobManager REST URL of a cluster as `CLUSTER=URL`, e.g. demo=http://127.0.0.1:8081 (repeatable)")
	fs.StringVar(&c.jobs, "jobs", "", "comma-separated job names or ids to poll on every --flink; empty: all")
	fs.StringVar(&c.config, "config", "", "YAML config file listing targets and settings")
	fs.DurationVar(&c.interval, "interval", DefaultConfig().Interval, "poll interval")
	fs.StringVar(&c.replica, "replica", "", "replica id among ingest replicas; empty: the host name and process id")
	fs.StringVar(&c.tokenFile, "flink-token-file", "", "file holding a bearer token for every --flink")
	fs.StringVar(&c.caFile, "flink-ca-file", "", "CA certificate file for an https --flink")
}

// ParseArgs parses ingest's command line and environment (getenv) into a
// validated Config: defaults, then the config file, then each flag given
// on the command line or by its environment variable. --help goes to help.
func ParseArgs(args []string, getenv func(string) string, help io.Writer) (Config, error) {
	c := cli{common: function.Defaults(Function, function.HTTPIngest), flink: function.Clusters{}}
	fs := function.NewFlagSet("flinkscaler ingest", synopsis, summary, help)
	c.bind(fs)
	if err := function.Parse(fs, args, getenv); err != nil {
		return Config{}, err
	}
	c.common.NATS.Password = getenv("FLINKSCALER_NATS_PASSWORD")
	cfg := DefaultConfig()
	if c.config != "" {
		if err := LoadFile(c.config, &cfg); err != nil {
			return Config{}, err
		}
	}
	c.apply(&cfg)
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// apply lays the flags that were set over cfg.
func (c *cli) apply(cfg *Config) {
	cfg.Common = c.common
	set := map[string]bool{}
	c.fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if set["interval"] {
		cfg.Interval = c.interval
	}
	if set["replica"] {
		cfg.Replica = c.replica
	}
	var jobs []string
	for j := range strings.SplitSeq(c.jobs, ",") {
		if j = strings.TrimSpace(j); j != "" {
			jobs = append(jobs, j)
		}
	}
	for _, name := range slices.Sorted(maps.Keys(c.flink)) {
		cfg.Targets = append(cfg.Targets, Target{Cluster: name, URL: c.flink[name], Jobs: jobs,
			TLS: TLS{CAFile: c.caFile}, Auth: Auth{TokenFile: c.tokenFile}})
	}
}

// Command is metrics-ingest as a command (flinkscaler ingest,
// functions/metrics-ingest): it parses args and the environment, then
// polls until ctx ends.
func Command(ctx context.Context, args []string, _, stderr io.Writer) error {
	cfg, err := ParseArgs(args, os.Getenv, stderr)
	if err != nil {
		if errors.Is(err, ErrConfig) {
			return fmt.Errorf("%w: %w", function.ErrUsage, err)
		}
		return err
	}
	return Run(ctx, cfg, cfg.Logger(stderr, Function))
}
