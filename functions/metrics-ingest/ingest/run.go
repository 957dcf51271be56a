package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strconv"
	"sync"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/discovery"
	"github.com/flinkscaler/flinkscaler/internal/events"
)

// Run is metrics-ingest as a process: it connects to NATS, provisions the
// stream (idempotent), joins the replica membership, serves /metrics and
// /healthz on cfg.HTTPListen, and polls until ctx is done. It returns nil
// after a clean stop, or the first start-up error.
func Run(ctx context.Context, cfg Config, log *slog.Logger) error {
	if cfg.Replica == "" {
		cfg.Replica = DefaultReplicaID()
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	conn := cfg.NATS
	conn.URL, conn.Name = cfg.NATSURL, Function+"/"+cfg.Replica
	nc, js, err := events.Connect(conn)
	if err != nil {
		return err
	}
	defer nc.Close()
	if err := events.Provision(ctx, js, cfg.Provision); err != nil {
		return fmt.Errorf("provision: %w", err)
	}
	members, err := JoinKV(ctx, js, cfg.Replica, cfg.Interval)
	if err != nil {
		return err
	}
	tel := NewTelemetry(cfg.Interval)
	deps := Deps{
		Publisher: JetStreamPublisher{JS: js, Attempts: cfg.Attempts},
		Members:   members, Telemetry: tel, Logger: log,
	}
	var found *discovery.Registry
	if d := cfg.Discover; d.Services || d.FlinkDeployments {
		dc := discovery.Config{Services: d.Services, FlinkDeployments: d.FlinkDeployments, Namespaces: d.Namespaces}
		every := d.Every
		if every <= 0 {
			every = DiscoverEvery
		}
		if found, err = discovery.ForConfig(dc, d.Kubeconfig, every, log.With("component", "discovery")); err != nil {
			return err
		}
		if err := found.Refresh(ctx); err != nil {
			log.Warn("discovery failed at start; retrying", "reason", err.Error())
		}
		deps.Discovered = found
	}
	svc, err := NewService(cfg, deps)
	if err != nil {
		return err
	}
	log.Info("metrics-ingest started", "replica", cfg.Replica, "targets", len(cfg.Targets),
		"interval", cfg.Interval, "nats", nc.ConnectedUrlRedacted(), "http", cfg.HTTPListen)
	return runAll(ctx, svc, members, tel, found, cfg.HTTPListen, log)
}

// DiscoverEvery is how often discovery looks for Flink clusters again.
const DiscoverEvery = 30 * time.Second

// runAll runs the service, the heartbeat and the HTTP server until ctx is
// done or the HTTP server fails to start.
func runAll(ctx context.Context, svc *Service, members *KVMembers, tel *Telemetry, found *discovery.Registry, listen string, log *slog.Logger) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	var wg sync.WaitGroup
	var httpErr error
	if listen != "" {
		wg.Go(func() {
			if httpErr = tel.Serve(ctx, listen); httpErr != nil {
				cancel()
			}
		})
	}
	wg.Go(func() {
		_ = members.Run(ctx, func(err error) { log.Warn("membership heartbeat failed", "error", err) })
	})
	if found != nil {
		wg.Go(func() { _ = found.Run(ctx) }) // returns nil when ctx ends
	}
	err := svc.Run(ctx)
	cancel()
	wg.Wait()
	if httpErr != nil {
		return httpErr
	}
	return err
}

var notToken = regexp.MustCompile(`[^A-Za-z0-9_-]+`)

// DefaultReplicaID is the host name (the pod name on Kubernetes) and the
// process id, reduced to a NATS-safe token.
func DefaultReplicaID() string {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = "ingest"
	}
	id := notToken.ReplaceAllString(host, "_") + "-" + strconv.Itoa(os.Getpid())
	if len(id) > 128 {
		id = id[len(id)-128:]
	}
	return id
}
