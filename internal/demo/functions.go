package demo

import (
	"context"
	"fmt"
	"log/slog"
	"time"

	"github.com/flinkscaler/flinkscaler/functions/actuate/actuator"
	"github.com/flinkscaler/flinkscaler/functions/decide/decider"
	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/functions/metrics-ingest/ingest"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
)

// Floors of the wall-clock durations scaled by the speed.
const (
	minIngestInterval = 100 * time.Millisecond // the least ingest accepts
	minPoll           = 10 * time.Millisecond
	minWait           = time.Second
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
	cfg.NATSURL, cfg.HTTPListen, cfg.Replica = natsURL, "", "demo"
	cfg.Targets = []ingest.Target{{Cluster: Cluster, URL: flinkURL}}
	return cfg
}

// runIngest is ingest.Run with the emulator's clock: snapshots carry
// simulated observedAt, so decide's event-time windows are simulated time.
// It is one replica, so membership is static.
func runIngest(ctx context.Context, cfg ingest.Config, now func() time.Time, log *slog.Logger) error {
	if err := cfg.Validate(); err != nil {
		return err
	}
	nc, js, err := events.Connect(events.ConnOptions{URL: cfg.NATSURL, Name: ingest.Function + "/" + cfg.Replica})
	if err != nil {
		return err
	}
	defer nc.Close()
	svc, err := ingest.NewService(cfg, ingest.Deps{
		Publisher: ingest.JetStreamPublisher{JS: js, Attempts: cfg.Attempts},
		Members:   ingest.StaticMembers{cfg.Replica}, Logger: log, Now: now,
	})
	if err != nil {
		return err
	}
	return svc.Run(ctx)
}

// decideConfig is decide with the default policy, told what an operator
// configures: the scenario's scaling mode, slot sharing, standby and
// maximum TaskManagers, and its lag SLO. Slots per TaskManager are not told:
// decide reads them from the cluster, as it does for a user.
func (c Config) decideConfig(natsURL string) (decider.Config, error) {
	sc := c.Scenario
	p := policy.Defaults()
	p.Mode = modes[sc.Cluster.Scaling]
	p.Slots.Sharing, p.Slots.Standby = sc.Cluster.SlotSharing, sc.Cluster.StandbyTaskManagers
	p.MaxTaskManagers = sc.Cluster.MaxTaskManagers
	if sc.SLO.MaxLagSeconds > 0 {
		p.SLO.MaxLag = time.Duration(sc.SLO.MaxLagSeconds * float64(time.Second))
	}
	if c.TunePolicy != nil {
		c.TunePolicy(&p)
	}
	if err := p.Validate(); err != nil {
		return decider.Config{}, fmt.Errorf("policy for scenario %s: %w", sc.Name, err)
	}
	return decider.Config{NATS: events.ConnOptions{URL: natsURL, Name: decider.Function}, Policy: p}, nil
}

// actuateConfig is actuate with the emulator's TaskManager backend and its
// wall-clock waits scaled by the speed.
func (c Config) actuateConfig(natsURL, flinkURL string) (actuator.Config, error) {
	cfg := actuator.DefaultConfig()
	cfg.NATS.URL, cfg.HTTPListen, cfg.KEDAListen = natsURL, "", c.KEDAListen
	cfg.Flink = map[string]string{Cluster: flinkURL}
	cfg.TaskManagers = actuator.BackendEmulator
	o := &cfg.Options
	if c.TuneActuate != nil {
		c.TuneActuate(o)
	}
	o.SlotWait = c.scaled(o.SlotWait, minWait)
	o.ParallelismWait = c.scaled(o.ParallelismWait, minWait)
	o.Poll = c.scaled(o.Poll, minPoll)
	o.MinInterval = c.scaled(o.MinInterval, 0)
	o.CheckpointWait = c.scaled(o.CheckpointWait, minPoll)
	if err := cfg.Validate(); err != nil {
		return actuator.Config{}, err
	}
	return cfg, nil
}

// modes maps a scenario's scaling to the policy's mode.
var modes = map[string]string{
	flinksim.ScalingAdaptive: events.ModeAdaptive,
	flinksim.ScalingReactive: events.ModeReactive,
	flinksim.ScalingSession:  events.ModeSession,
}
