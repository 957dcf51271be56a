package ingest

import (
	"errors"
	"flag"
	"fmt"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"strings"
	"time"
)

// Flags are the command-line flags of metrics-ingest. --flink and
// --cluster add one target to those of the config file.
type Flags struct {
	fs                           *flag.FlagSet
	config, flink, cluster, jobs string
	httpListen, replica          string
	conn                         *events.ConnOptions
	provision                    events.ProvisionConfig
	tokenFile, caFile            string
	interval                     time.Duration
}

// envNames maps each flag to the environment variable that sets it when the
// flag is absent.
var envNames = map[string]string{
	"config": "FLINKSCALER_CONFIG", "flink": "FLINKSCALER_FLINK", "cluster": "FLINKSCALER_CLUSTER",
	"jobs": "FLINKSCALER_JOBS", "interval": "FLINKSCALER_INTERVAL",
	"http-listen": "FLINKSCALER_HTTP_LISTEN", "replica": "FLINKSCALER_REPLICA",
	"flink-token-file": "FLINKSCALER_FLINK_TOKEN_FILE", "flink-ca-file": "FLINKSCALER_FLINK_CA_FILE",
}

// BindFlags registers the flags on fs.
func BindFlags(fs *flag.FlagSet) *Flags {
	f := &Flags{fs: fs}
	fs.StringVar(&f.config, "config", "", "YAML config file listing targets and settings (env FLINKSCALER_CONFIG)")
	fs.StringVar(&f.flink, "flink", "", "JobManager REST URL, e.g. http://127.0.0.1:8081 (env FLINKSCALER_FLINK)")
	fs.StringVar(&f.cluster, "cluster", "", "cluster name for --flink (env FLINKSCALER_CLUSTER)")
	fs.StringVar(&f.jobs, "jobs", "", "comma-separated job names or ids to poll on --flink; empty: all (env FLINKSCALER_JOBS)")
	fs.DurationVar(&f.interval, "interval", 0, "poll interval (default 10s; env FLINKSCALER_INTERVAL)")
	f.conn = events.BindConnFlags(fs, Function)
	events.BindProvisionFlags(fs, &f.provision)
	fs.StringVar(&f.httpListen, "http-listen", "", "address for /metrics and /healthz (default :9102; env FLINKSCALER_HTTP_LISTEN)")
	fs.StringVar(&f.replica, "replica", "", "replica id among ingest replicas (default the host name; env FLINKSCALER_REPLICA)")
	fs.StringVar(&f.tokenFile, "flink-token-file", "", "file holding a bearer token for --flink (env FLINKSCALER_FLINK_TOKEN_FILE)")
	fs.StringVar(&f.caFile, "flink-ca-file", "", "CA certificate file for an https --flink (env FLINKSCALER_FLINK_CA_FILE)")
	return f
}

// Load builds the configuration in order: defaults, the config file, then
// for each flag the environment variable unless the flag was given. It
// returns Validate's verdict; getenv is os.Getenv outside tests.
func (f *Flags) Load(getenv func(string) string) (Config, error) {
	given := map[string]bool{}
	f.fs.Visit(func(fl *flag.Flag) { given[fl.Name] = true })
	var errs []error
	for name, env := range envNames {
		if v := getenv(env); v != "" && !given[name] {
			if err := f.fs.Set(name, v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", env, v, err))
			}
		}
	}
	cfg := DefaultConfig()
	if f.config != "" {
		if err := LoadFile(f.config, &cfg); err != nil {
			return Config{}, err
		}
	}
	f.apply(&cfg)
	// The NATS URL of the config file holds unless --nats or
	// FLINKSCALER_NATS_URL says otherwise.
	url := cfg.NATSURL
	if env := getenv("FLINKSCALER_NATS_URL"); env != "" {
		url = env
	}
	if given["nats"] {
		url = f.conn.URL
	}
	cfg.NATS = *f.conn
	cfg.NATS.URL, cfg.NATSURL = url, url
	cfg.Provision = f.provision
	if errs = append(errs, cfg.problems()...); len(errs) > 0 {
		return Config{}, fmt.Errorf("%w:\n%w", ErrConfig, errors.Join(errs...))
	}
	return cfg, nil
}

func (f *Flags) apply(cfg *Config) {
	setIf := func(dst *string, v string) {
		if v != "" {
			*dst = v
		}
	}
	setIf(&cfg.HTTPListen, f.httpListen)
	setIf(&cfg.Replica, f.replica)
	if f.interval != 0 {
		cfg.Interval = f.interval
	}
	if f.flink == "" && f.cluster == "" {
		return
	}
	t := Target{Cluster: f.cluster, URL: f.flink, TLS: TLS{CAFile: f.caFile}, Auth: Auth{TokenFile: f.tokenFile}}
	for j := range strings.SplitSeq(f.jobs, ",") {
		if j = strings.TrimSpace(j); j != "" {
			t.Jobs = append(t.Jobs, j)
		}
	}
	cfg.Targets = append(cfg.Targets, t)
}
