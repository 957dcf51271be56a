package decider

import (
	"context"
	"fmt"
	"log/slog"

	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/function"
)

// Config is the decide process's configuration.
type Config struct {
	// Common is NATS, the stream settings, the HTTP address and logging.
	function.Common
	// Policy is the base policy for every job (defaults, then the policy
	// file); it must have passed Validate.
	Policy policy.Config
	// MetricSources, when not empty, lists the CloudEvents source prefixes
	// accepted for user metric events.
	MetricSources []string
}

// Subjects are what decide's durable consumer takes from the stream: job
// snapshots, user metrics and actuate's results.
var Subjects = []string{events.SnapshotFilter, events.MetricFilter, events.ResultFilter}

// Run connects to NATS, provisions the stream and buckets, and consumes
// snapshots, metrics and actuate's results until ctx ends. ready, when not nil, is called once
// the consumer is set up to receive.
func Run(ctx context.Context, cfg Config, log *slog.Logger) error {
	nc, js, err := cfg.Start(ctx, log)
	if err != nil {
		return err
	}
	defer nc.Close()
	state, err := cfg.OpenKV(ctx, log, js, events.BucketState)
	if err != nil {
		return fmt.Errorf("state bucket: %w", err)
	}
	pol, err := cfg.OpenKV(ctx, log, js, events.BucketPolicy)
	if err != nil {
		return fmt.Errorf("policy bucket: %w", err)
	}
	reg := function.NewRegistry()
	d := New(state, KVPolicies{KV: pol}, cfg.Policy, cfg.MetricSources, log, NewMetrics(reg))
	r, err := events.NewRunner(js, events.RunnerConfig{
		Function: Function, Durable: Function, Logger: log,
		FilterSubjects: Subjects,
		// After a start or an outage act on each job's newest snapshot,
		// not on a backlog of stale ones.
		LatestOnly: []string{events.SnapshotFilter},
	}, d.Handle)
	if err != nil {
		return err
	}
	reg.MustRegister(r.Collector())
	srv, err := function.Listen(cfg.HTTPListen, reg, function.Checks{Health: function.NATSHealth(nc)})
	if err != nil {
		return err
	}
	log.Info("decide running", "nats", nc.ConnectedUrlRedacted(), "mode", cfg.Policy.Mode, "dry_run", cfg.Policy.DryRun, "http", srv.Addr())
	return function.RunAll(ctx, srv.Run, r.Run)
}
