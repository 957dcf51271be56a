package decider

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"time"

	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/nats-io/nats.go"
	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"
)

// Config is the decide process's configuration.
type Config struct {
	NATS events.ConnOptions
	// Policy is the base policy for every job (defaults, then the policy
	// file); it must have passed Validate.
	Policy policy.Config
	// MetricSources, when not empty, lists the CloudEvents source prefixes
	// accepted for user metric events.
	MetricSources []string
	// HTTPListen serves /metrics and /healthz; empty disables it.
	HTTPListen string
	// Provision configures the stream and buckets created at start-up.
	Provision events.ProvisionConfig
}

// Run connects to NATS, provisions the stream and buckets, and consumes
// snapshots and metrics until ctx ends. ready, when not nil, is called once
// the consumer is set up to receive.
func Run(ctx context.Context, cfg Config, log *slog.Logger) error {
	nc, js, err := events.Connect(cfg.NATS)
	if err != nil {
		return err
	}
	defer nc.Close()
	if err := events.Provision(ctx, js, cfg.Provision); err != nil {
		return err
	}
	state, err := js.KeyValue(ctx, events.BucketState)
	if err != nil {
		return fmt.Errorf("state bucket: %w", err)
	}
	pol, err := js.KeyValue(ctx, events.BucketPolicy)
	if err != nil {
		return fmt.Errorf("policy bucket: %w", err)
	}
	reg := prometheus.NewRegistry()
	d := New(state, KVPolicies{KV: pol}, cfg.Policy, cfg.MetricSources, log, NewMetrics(reg))
	r, err := events.NewRunner(js, events.RunnerConfig{
		Function: Function, Durable: Function, Logger: log,
		FilterSubjects: []string{events.SnapshotFilter, events.MetricFilter},
	}, d.Handle)
	if err != nil {
		return err
	}
	reg.MustRegister(r.Collector())
	stopHTTP, err := serveHTTP(cfg.HTTPListen, reg, natsHealth(nc), log)
	if err != nil {
		return err
	}
	defer stopHTTP()
	log.Info("decide running", "nats", nc.ConnectedUrlRedacted(), "mode", cfg.Policy.Mode, "http", cfg.HTTPListen)
	return r.Run(ctx)
}

// natsHealth reports an error while the NATS connection is not up.
func natsHealth(nc *nats.Conn) func() error {
	return func() error {
		if s := nc.Status(); s != nats.CONNECTED {
			return fmt.Errorf("nats connection %s", s)
		}
		return nil
	}
}

// serveHTTP serves /metrics and /healthz on addr until the returned func is
// called; /healthz answers 503 with the reason while health reports an
// error. An empty addr serves nothing.
func serveHTTP(addr string, reg *prometheus.Registry, health func() error, log *slog.Logger) (func(), error) {
	if addr == "" {
		return func() {}, nil
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("http listen %s: %w", addr, err)
	}
	mux := http.NewServeMux()
	mux.Handle("/metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{}))
	mux.HandleFunc("/healthz", func(w http.ResponseWriter, _ *http.Request) {
		if err := health(); err != nil {
			http.Error(w, err.Error(), http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write([]byte("ok\n"))
	})
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("http server stopped", "error", err)
		}
	}()
	return func() {
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_ = srv.Shutdown(ctx)
	}, nil
}
