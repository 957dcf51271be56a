package actuator

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"strings"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/flinkscaler/flinkscaler/functions/actuate/kedascaler"
	"github.com/flinkscaler/flinkscaler/functions/actuate/taskmanagers"
	"github.com/flinkscaler/flinkscaler/internal/clock"
	"github.com/flinkscaler/flinkscaler/internal/discovery"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flink"
	"github.com/flinkscaler/flinkscaler/internal/function"
)

// Run runs the actuate function with cfg (already validated) until ctx
// ends: it connects to NATS, provisions the stream and buckets, consumes
// decisions on the durable "actuate" with cfg.Concurrency consumers, and
// serves the KEDA scaler and /metrics and /healthz when configured. It
// returns nil after ctx ends, or the first error that stops a part.
func Run(ctx context.Context, cfg Config, log *slog.Logger, opts ...Option) error {
	var o runOptions
	for _, opt := range opts {
		opt(&o)
	}
	nc, js, err := cfg.Start(ctx, log)
	if err != nil {
		return err
	}
	defer nc.Close()
	deps, err := buildDeps(ctx, cfg, js, log)
	if err != nil {
		return err
	}
	deps.Clock = o.clock
	var found *discovery.Registry
	if cfg.Discovery.Enabled() {
		if found, err = discovery.ForConfig(cfg.Discovery, cfg.Kubeconfig, cfg.DiscoverEvery, log.With("component", "discovery")); err != nil {
			return err
		}
		opts, err := flinkOptions(cfg)
		if err != nil {
			return err
		}
		deps.Discovered = found
		deps.NewFlink = func(url string) (Flink, error) { return flink.New(url, opts) }
	}
	reg := function.NewRegistry()
	deps.Metrics = NewMetrics(reg)
	if cfg.Options.DefaultWorkload == "" {
		cfg.Options.DefaultWorkload = cfg.Workload // --taskmanager-workload
	}
	cfg.Options.KEDAOwnsTaskManagers = cfg.TaskManagers == BackendKEDA
	act := New(deps, cfg.Options)

	var parts []func(context.Context) error
	for range cfg.Concurrency {
		r, err := events.NewRunner(js, events.RunnerConfig{
			Function: Function, Durable: Function, FilterSubjects: []string{events.DecisionFilter}, Logger: log,
		}, act.Handle)
		if err != nil {
			return err
		}
		parts = append(parts, r.Run)
	}
	if found != nil {
		if err := found.Refresh(ctx); err != nil {
			log.Warn("discovery failed at start; retrying every --discover-every", "reason", err.Error())
		}
		parts = append(parts, found.Run)
	}
	if cfg.KEDAListen != "" {
		keda, err := kedaPart(ctx, cfg, js, found, o.now(), log)
		if err != nil {
			return err
		}
		parts = append(parts, keda)
	}
	srv, err := function.Listen(cfg.HTTPListen, reg, function.Checks{Health: function.NATSHealth(nc)})
	if err != nil {
		return err
	}
	parts = append(parts, srv.Run)
	log.Info("actuate running", "nats", nc.ConnectedUrlRedacted(), "clusters", len(cfg.Flink), "taskmanagers", cfg.TaskManagers,
		"keda_listen", cfg.KEDAListen, "dry_run", cfg.Options.DryRun, "http", srv.Addr())
	return function.RunAll(ctx, parts...)
}

func buildDeps(ctx context.Context, cfg Config, js jetstream.JetStream, log *slog.Logger) (Deps, error) {
	deps := Deps{Flink: map[string]Flink{}, Log: log}
	opts, err := flinkOptions(cfg)
	if err != nil {
		return deps, err
	}
	for name, u := range cfg.Flink {
		c, err := flink.New(u, opts)
		if err != nil {
			return deps, fmt.Errorf("--flink %s: %w", name, err)
		}
		deps.Flink[name] = c
	}
	switch cfg.TaskManagers {
	case BackendKubernetes:
		// actuate scales the workload (its scale subresource), records
		// Events on it, and marks its pods before a scale-down so its
		// ReplicaSet removes idle TaskManagers first (listing and patching
		// pods).
		k8s, ev, pods, err := kubernetes(cfg.Kubeconfig)
		if err != nil {
			return deps, err
		}
		deps.TaskManagers, deps.Events, deps.Pods = k8s, ev, pods
	case BackendKEDA:
		// KEDA scales; with a workload named, actuate records Events on it
		// (reading its scale subresource for the UID, creating events) and
		// marks its pods before a scale-down (listing and patching pods).
		if cfg.Workload == "" {
			break
		}
		_, ev, pods, err := kubernetes(cfg.Kubeconfig)
		if err != nil {
			return deps, err
		}
		deps.Events, deps.Pods = ev, pods
	case BackendEmulator:
		deps.TaskManagers = taskmanagers.NewEmulator(cfg.Flink, nil)
	}
	buckets := map[string]*KV{
		events.BucketActuations: &deps.Actuations, events.BucketDesiredTMs: &deps.Desired, events.BucketPolicy: &deps.Policy,
	}
	for name, into := range buckets {
		kv, err := cfg.OpenKV(ctx, log, js, name)
		if err != nil {
			return deps, fmt.Errorf("open KV bucket %s: %w", name, err)
		}
		*into = kv
	}
	return deps, nil
}

// Option changes how Run runs.
type Option func(*runOptions)

type runOptions struct{ clock clock.Clock }

// now is the clock's Now, time.Now without one.
func (o runOptions) now() func() time.Time {
	if o.clock == nil {
		return time.Now
	}
	return o.clock.Now
}

// WithClock makes actuate read and wait on c instead of the wall clock: an
// emulator running in simulated time (the demo), as the benchmark's
// actuate does. The JobManager reports checkpoint ages and the job's
// running time on its own clock, and the checkpoint wait compares them
// with its bound (plan.CheckpointWait): both must run at the same speed.
func WithClock(c clock.Clock) Option { return func(o *runOptions) { o.clock = c } }

func kedaPart(ctx context.Context, cfg Config, js jetstream.JetStream, found *discovery.Registry, now func() time.Time, log *slog.Logger) (func(context.Context) error, error) {
	kv, err := cfg.OpenKV(ctx, log, js, events.BucketDesiredTMs)
	if err != nil {
		return nil, fmt.Errorf("open KV bucket %s: %w", events.BucketDesiredTMs, err)
	}
	creds, err := cfg.KEDATLS.Credentials()
	if err != nil {
		return nil, err
	}
	lis, err := new(net.ListenConfig).Listen(ctx, "tcp", cfg.KEDAListen)
	if err != nil {
		return nil, fmt.Errorf("--keda-listen: %w", err)
	}
	view := kedascaler.NewView()
	klog := log.With("component", "keda")
	poller, err := livePoller(cfg, view, found, now, klog)
	if err != nil {
		_ = lis.Close() // never served
		return nil, err
	}
	srv := kedascaler.NewServer(view, klog)
	log.Info("keda external scaler listening", "addr", lis.Addr().String(), "tls", creds != nil, "poll", cfg.KEDAPoll)
	return func(ctx context.Context) error {
		ctx, cancel := context.WithCancel(ctx)
		defer cancel()
		watchErr, pollErr := make(chan error, 1), make(chan error, 1)
		go func() { watchErr <- view.Watch(ctx, kv) }()
		go func() { pollErr <- poller.Run(ctx) }()
		serveErr := srv.Serve(ctx, lis, creds)
		cancel() // the server failed: stop its feeds too
		return errors.Join(serveErr, <-watchErr, <-pollErr)
	}, nil
}

// livePoller reads every --flink cluster's jobs for the KEDA scaler.
func livePoller(cfg Config, view *kedascaler.View, found *discovery.Registry, now func() time.Time, log *slog.Logger) (*kedascaler.Poller, error) {
	opts, err := flinkOptions(cfg)
	if err != nil {
		return nil, err
	}
	p := &kedascaler.Poller{View: view, Clusters: map[string]kedascaler.Source{}, Interval: cfg.KEDAPoll,
		Timeout: min(cfg.KEDAPoll, 10*time.Second), Log: log, Now: now}
	if found != nil {
		p.Discovered = found
		p.NewSource = func(url string) (kedascaler.Source, error) { return flink.New(url, opts) }
	}
	for name, u := range cfg.Flink {
		c, err := flink.New(u, opts)
		if err != nil {
			return nil, fmt.Errorf("--flink %s: %w", name, err)
		}
		p.Clusters[name] = c
		view.Expect(name) // before the scaler answers: a job of it is not known until its first read
	}
	return p, nil
}

// flinkOptions are the client options every JobManager gets: TLS with the
// configured CA, a bearer token read from the token file.
func flinkOptions(cfg Config) (flink.Options, error) {
	o := flink.Options{CAFile: cfg.FlinkCAFile}
	if cfg.FlinkTokenFile != "" {
		b, err := os.ReadFile(cfg.FlinkTokenFile)
		if err != nil {
			return o, fmt.Errorf("--flink-token-file: %w", err)
		}
		o.BearerToken = strings.TrimSpace(string(b))
	}
	return o, nil
}

// kubernetes connects to the API server (kubeconfig, else in-cluster) for
// the TaskManager workloads, the Events recorded on them and their pods.
func kubernetes(kubeconfig string) (*taskmanagers.Kubernetes, *taskmanagers.Events, *taskmanagers.Pods, error) {
	rc, err := taskmanagers.LoadConfig(kubeconfig)
	if err != nil {
		return nil, nil, nil, err
	}
	k8s, err := taskmanagers.NewKubernetes(rc)
	if err != nil {
		return nil, nil, nil, err
	}
	ev, err := taskmanagers.NewEvents(rc, k8s)
	if err != nil {
		return nil, nil, nil, err
	}
	pods, err := taskmanagers.NewPods(rc, k8s)
	if err != nil {
		return nil, nil, nil, err
	}
	return k8s, ev, pods, nil
}
