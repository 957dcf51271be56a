package demo

import (
	"fmt"
	"time"

	"github.com/flinkscaler/flinkscaler/functions/actuate/actuator"
	"github.com/flinkscaler/flinkscaler/functions/decide/decider"
	"github.com/flinkscaler/flinkscaler/functions/metrics-ingest/ingest"
	"github.com/flinkscaler/flinkscaler/internal/bench"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/function"
)

// Floors of the wall-clock durations scaled by the speed.
const (
	minIngestInterval = 100 * time.Millisecond // the least ingest accepts
	minPoll           = 10 * time.Millisecond
)

// ingestConfig is metrics-ingest's configuration for the demo: one target,
// the emulator, polled every 10 simulated seconds.
func (c Config) ingestConfig(natsURL, flinkURL string) ingest.Config {
	cfg := ingest.DefaultConfig()
	cfg.Interval = c.scaled(cfg.Interval, minIngestInterval)
	cfg.Backoff = c.scaled(cfg.Backoff, minPoll)
	// The emulator answers in-process, but the machine may be busy: allow a
	// request the whole interval rather than half of it.
	cfg.RequestTimeout = cfg.Interval
	cfg.NATS.URL, cfg.HTTPListen, cfg.Replica = natsURL, "", "demo"
	cfg.Targets = []ingest.Target{{Cluster: Cluster, URL: flinkURL}}
	return cfg
}

// decideConfig is decide with the policy an operator configures for the
// scenario's cluster (bench.ConfigFor, as the benchmark runs it); slots per
// TaskManager come from the cluster, as they do for a user.
func (c Config) decideConfig(natsURL string) (decider.Config, error) {
	p := bench.ConfigFor(c.Scenario)
	if c.TunePolicy != nil {
		c.TunePolicy(&p)
	}
	if err := p.Validate(); err != nil {
		return decider.Config{}, fmt.Errorf("policy for scenario %s: %w", c.Scenario.Name, err)
	}
	return decider.Config{Common: function.Common{NATS: events.ConnOptions{URL: natsURL, Name: decider.Function}}, Policy: p}, nil
}

// actuateConfig is actuate with the emulator's TaskManager backend and its
// production waits: it runs on the emulator's clock (simClock), so they
// pass in simulated time, as the JobManager's checkpoint ages do.
func (c Config) actuateConfig(natsURL, flinkURL string) (actuator.Config, error) {
	cfg := actuator.DefaultConfig()
	cfg.NATS.URL, cfg.HTTPListen, cfg.KEDAListen = natsURL, "", c.KEDAListen
	cfg.Flink = map[string]string{Cluster: flinkURL}
	cfg.TaskManagers = actuator.BackendEmulator
	o := &cfg.Options
	if c.TuneActuate != nil {
		c.TuneActuate(o)
	}
	if err := cfg.Validate(); err != nil {
		return actuator.Config{}, err
	}
	return cfg, nil
}
