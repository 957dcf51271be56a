package decider

import (
	"errors"
	"flag"
	"fmt"
	"os"
	"strings"

	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/internal/events"
)

// Flags are decide's command-line flags before they are loaded into Config.
type Flags struct {
	nats       *events.ConnOptions
	provision  events.ProvisionConfig
	policyFile *string
	sources    *string
	httpListen *string
	dryRun     *bool
}

// BindFlags binds decide's flags to fs.
func BindFlags(fs *flag.FlagSet) *Flags {
	f := &Flags{
		nats:       events.BindConnFlags(fs, Function),
		policyFile: fs.String("policy", os.Getenv("FLINKSCALER_POLICY"), "YAML policy file applied to every job over the defaults (env FLINKSCALER_POLICY)"),
		sources: fs.String("metric-sources", os.Getenv("FLINKSCALER_METRIC_SOURCES"),
			"comma-separated CloudEvents source prefixes allowed to send user metric events; empty allows all (env FLINKSCALER_METRIC_SOURCES)"),
		httpListen: fs.String("http-listen", envOr("FLINKSCALER_HTTP_LISTEN", ":9102"), "address for /metrics and /healthz; empty disables (env FLINKSCALER_HTTP_LISTEN)"),
		dryRun:     fs.Bool("dry-run", false, "mark every decision as a dry run: actuate records but does not apply it"),
	}
	events.BindProvisionFlags(fs, &f.provision)
	return f
}

// Load builds the Config: defaults, then the policy file, then flags; it
// validates and reports every problem.
func (f *Flags) Load() (Config, error) {
	pol := policy.Defaults()
	if *f.policyFile != "" {
		file, err := os.Open(*f.policyFile)
		if err != nil {
			return Config{}, fmt.Errorf("--policy: %w", err)
		}
		defer file.Close()
		if pol, err = policy.Load(file, pol); err != nil {
			return Config{}, fmt.Errorf("--policy %s: %w", *f.policyFile, err)
		}
	}
	if *f.dryRun {
		pol.DryRun = true
	}
	if err := pol.Validate(); err != nil {
		return Config{}, fmt.Errorf("policy: %w", err)
	}
	cfg := Config{NATS: *f.nats, Policy: pol, HTTPListen: *f.httpListen, Provision: f.provision}
	for _, s := range strings.Split(*f.sources, ",") {
		if s = strings.TrimSpace(s); s != "" {
			cfg.MetricSources = append(cfg.MetricSources, s)
		}
	}
	if cfg.NATS.URL == "" {
		return Config{}, errors.New("--nats: a NATS URL is required")
	}
	return cfg, nil
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
