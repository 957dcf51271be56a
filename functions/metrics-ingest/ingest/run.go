package ingest

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"regexp"
	"strconv"
	"sync"

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
	svc, err := NewService(cfg, Deps{
		Publisher: JetStreamPublisher{JS: js, Attempts: cfg.Attempts},
		Members:   members, Telemetry: tel, Logger: log,
	})
	if err != nil {
		return err
	}
	log.Info("metrics-ingest started", "replica", cfg.Replica, "targets", len(cfg.Targets),
		"interval", cfg.Interval, "nats", nc.ConnectedUrlRedacted(), "http", cfg.HTTPListen)
	return runAll(ctx, svc, members, tel, cfg.HTTPListen, log)
}

// runAll runs the service, the heartbeat and the HTTP server until ctx is
// done or the HTTP server fails to start.
func runAll(ctx context.Context, svc *Service, members *KVMembers, tel *Telemetry, listen string, log *slog.Logger) error {
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
