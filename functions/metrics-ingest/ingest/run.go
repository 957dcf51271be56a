package ingest

import (
	"context"
	"log/slog"
	"os"
	"regexp"
	"strconv"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/discovery"
	"github.com/flinkscaler/flinkscaler/internal/function"
)

// Run is metrics-ingest as a process: it connects to NATS (retrying for
// cfg.NATSWait), provisions the stream (idempotent), joins the replica
// membership, serves /metrics, /healthz, /readyz and /livez on cfg.HTTPListen, and
// polls until ctx is done. It returns nil after a clean stop, or the first
// start-up error.
func Run(ctx context.Context, cfg Config, log *slog.Logger, opts ...Option) error {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	if cfg.Replica == "" {
		cfg.Replica = DefaultReplicaID()
	}
	if err := cfg.Validate(); err != nil {
		return err
	}
	cfg.NATS.Name = Function + "/" + cfg.Replica
	nc, js, err := cfg.Start(ctx, log)
	if err != nil {
		return err
	}
	defer nc.Close()
	members, err := JoinKV(ctx, js, cfg.Replica, cfg.Interval)
	if err != nil {
		return err
	}
	tel := NewTelemetry(cfg.Interval)
	deps := Deps{
		Publisher: JetStreamPublisher{JS: js, Attempts: cfg.Attempts},
		Members:   members, Telemetry: tel, Logger: log, Now: o.now,
	}
	found, err := discover(ctx, cfg.Discover, log)
	if err != nil {
		return err
	}
	if found != nil { // a nil *Registry in the interface would not be nil
		deps.Discovered = found
	}
	svc, err := NewService(cfg, deps)
	if err != nil {
		return err
	}
	srv, err := function.Listen(cfg.HTTPListen, tel.Registry(), function.Checks{Health: tel.Health, Live: tel.Liveness})
	if err != nil {
		return err
	}
	log.Info("metrics-ingest started", "replica", cfg.Replica, "targets", len(cfg.Targets),
		"interval", cfg.Interval, "nats", nc.ConnectedUrlRedacted(), "http", srv.Addr())
	parts := []func(context.Context) error{srv.Run, svc.Run, func(ctx context.Context) error {
		return members.Run(ctx, func(err error) { log.Warn("membership heartbeat failed", "error", err) })
	}}
	if found != nil {
		parts = append(parts, found.Run) // returns nil when ctx ends
	}
	return function.RunAll(ctx, parts...)
}

// DiscoverEvery is how often discovery looks for Flink clusters again.
const DiscoverEvery = 30 * time.Second

// discover starts looking for Flink clusters in Kubernetes when d asks for
// it; nil when it does not.
func discover(ctx context.Context, d Discover, log *slog.Logger) (*discovery.Registry, error) {
	if !d.Services && !d.FlinkDeployments {
		return nil, nil
	}
	dc := discovery.Config{Services: d.Services, FlinkDeployments: d.FlinkDeployments, Namespaces: d.Namespaces}
	every := d.Every
	if every <= 0 {
		every = DiscoverEvery
	}
	found, err := discovery.ForConfig(dc, d.Kubeconfig, every, log.With("component", "discovery"))
	if err != nil {
		return nil, err
	}
	if err := found.Refresh(ctx); err != nil {
		log.Warn("discovery failed at start; retrying", "reason", err.Error())
	}
	return found, nil
}

// Option changes how Run runs.
type Option func(*options)

type options struct{ now func() time.Time }

// WithClock makes snapshots observed at now() instead of the JobManager's
// clock or time.Now: an emulator running in simulated time.
func WithClock(now func() time.Time) Option { return func(o *options) { o.now = now } }

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
