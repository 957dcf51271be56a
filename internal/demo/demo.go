package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/flinkscaler/flinkscaler/functions/actuate/actuator"
	"github.com/flinkscaler/flinkscaler/functions/decide/decider"
	"github.com/flinkscaler/flinkscaler/functions/metrics-ingest/ingest"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
	"github.com/flinkscaler/flinkscaler/internal/natsserver"
	"github.com/flinkscaler/flinkscaler/internal/scorecard"
)

// ErrStart wraps a failure to bring the system up (a port in use, a
// function that would not start).
var ErrStart = errors.New("demo did not start")

// Endpoints are the addresses a run serves on.
type Endpoints struct {
	NATS  string `json:"nats"`            // nats:// URL
	Flink string `json:"flink"`           // http:// URL of the REST API
	KEDA  string `json:"keda,omitempty"`  // host:port of the KEDA scaler
	JobID string `json:"jobId,omitempty"` // the emulated job's id
}

// Outcome is what a run did, for the summary and the report.
type Outcome struct {
	Scenario  *flinksim.Scenario
	Speed     float64
	Endpoints Endpoints
	// Simulated is the simulated time run, Wall the real time it took
	// (start-up and shutdown included).
	Simulated, Wall time.Duration
	// Interrupted is true when the context ended the run before its
	// duration.
	Interrupted bool
	Card        scorecard.Summary
	Series      scorecard.Series
	Decisions   []Decision
	// Rejected counts events a function rejected during the run.
	Rejected int
	// Final is the emulator's state at the end.
	Final flinksim.GroundTruth
}

// stopTimeout bounds the wait for the functions to stop after the run.
const stopTimeout = 15 * time.Second

// Run runs the demo until the simulated duration has passed or ctx ends;
// both end it cleanly with an Outcome. It blocks for the whole run. Errors
// are configuration (ErrConfig) or start-up (ErrStart) failures, or a
// function that stopped with an error during the run.
func Run(ctx context.Context, cfg Config) (*Outcome, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	began := time.Now()
	log := cfg.Log
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	progressW := cfg.Progress
	if progressW == nil {
		progressW = io.Discard
	}
	sys, err := start(ctx, cfg, log)
	if err != nil {
		return nil, err
	}
	defer sys.close()
	rec, err := sys.newRecording(ctx, cfg, progress{w: progressW, every: cfg.progressEvery()})
	if err != nil {
		return nil, err
	}
	if err := sys.watch(rec.onMessage); err != nil {
		return nil, err
	}
	if err := sys.tapSnapshots(cfg.OnSnapshot); err != nil {
		return nil, err
	}
	printHeader(progressW, cfg, sys.endpoints)
	rec.progress.header(vertexNames(cfg.Scenario))

	fnErr := sys.runFunctions(cfg, log)
	if err := sys.awaitConsumers(ctx, fnErr); err != nil {
		return nil, errors.Join(err, sys.stopFunctions(fnErr))
	}
	if cfg.OnStart != nil {
		cfg.OnStart(sys.endpoints)
	}
	runErr := sys.simulate(ctx, cfg, rec, fnErr)
	// The run is over: what the functions publish while they stop (an
	// actuation whose wait the stop cancels) happened after it.
	rec.end()
	stopErr := sys.stopFunctions(fnErr)
	out := rec.outcome(cfg, sys.endpoints)
	out.Wall, out.Interrupted = time.Since(began), ctx.Err() != nil
	return out, errors.Join(runErr, stopErr)
}

// system is the running parts: NATS, the emulator and its HTTP server (or
// an external cluster).
type system struct {
	nats      *natsserver.Server
	conn      *nats.Conn
	js        jetstream.JetStream
	cluster   *flinksim.Cluster
	external  *External
	http      *http.Server
	endpoints Endpoints
	cancel    context.CancelFunc // stops the functions
	wg        sync.WaitGroup
	closers   []func()
}

// start brings up NATS (stream and buckets provisioned) and the emulator's
// REST API; nothing runs in simulated time yet.
func start(ctx context.Context, cfg Config, log *slog.Logger) (*system, error) {
	s := &system{}
	if cfg.KEDAListen != "" {
		addr, err := reserve(cfg.KEDAListen)
		if err != nil {
			return nil, fmt.Errorf("%w: --keda-listen: %w", ErrStart, err)
		}
		s.endpoints.KEDA = addr
	}
	ns, err := natsserver.Start(natsserver.Config{Listen: cfg.NATSListen, ServerName: "flinkscaler-demo"})
	if err != nil {
		return nil, fmt.Errorf("%w: --nats-listen: %w", ErrStart, err)
	}
	s.nats, s.endpoints.NATS = ns, ns.ClientURL()
	s.closers = append(s.closers, ns.Shutdown)
	nc, js, err := events.Connect(events.ConnOptions{URL: ns.ClientURL(), Name: "flinkscaler-demo"})
	if err != nil {
		s.close()
		return nil, fmt.Errorf("%w: %w", ErrStart, err)
	}
	s.conn, s.js = nc, js
	s.closers = append(s.closers, nc.Close)
	if err := events.Provision(ctx, js, events.ProvisionConfig{}); err != nil {
		s.close()
		return nil, fmt.Errorf("%w: provision: %w", ErrStart, err)
	}
	if ext := cfg.External; ext != nil {
		s.external, s.endpoints.Flink, s.endpoints.JobID = ext, ext.URL, ext.JobID
		return s, nil
	}
	s.cluster = flinksim.New(cfg.Scenario, flinksim.Options{Start: time.Now().UTC().Truncate(time.Millisecond)})
	s.endpoints.JobID = s.cluster.JobID()
	if err := s.serveFlink(cfg.FlinkListen, log); err != nil {
		s.close()
		return nil, err
	}
	return s, nil
}

// close stops what start started, in reverse order.
func (s *system) close() {
	for i := len(s.closers) - 1; i >= 0; i-- {
		s.closers[i]()
	}
}

// serveFlink serves the emulator's REST API on addr (127.0.0.1 on a free
// port when empty).
func (s *system) serveFlink(addr string, log *slog.Logger) error {
	if addr == "" {
		addr = "127.0.0.1:0"
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("%w: --flink-listen: %w", ErrStart, err)
	}
	s.endpoints.Flink = "http://" + ln.Addr().String()
	s.http = &http.Server{Handler: s.cluster.Handler(), ReadHeaderTimeout: 5 * time.Second}
	go func() {
		if err := s.http.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			log.Error("flink emulator server stopped", "error", err)
		}
	}()
	s.closers = append(s.closers, func() { _ = s.http.Close() }) // the run is over; open requests do not matter
	return nil
}

// reserve checks that addr can be listened on and returns it with a free
// port chosen when its port is 0. The port is released again for its user.
func reserve(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", err
	}
	got := ln.Addr().String()
	return got, ln.Close()
}

// watch subscribes h to every decision, result and rejection.
func (s *system) watch(h nats.MsgHandler) error {
	nc := s.conn
	for _, subj := range []string{events.DecisionFilter, events.ResultFilter, events.RejectedFilter} {
		if _, err := nc.Subscribe(subj, h); err != nil {
			return fmt.Errorf("%w: subscribe %s: %w", ErrStart, subj, err)
		}
	}
	return nc.Flush()
}

// tapSnapshots subscribes f, if set, to the snapshots of the demo's
// cluster. One subscription's handler runs one message at a time, in order.
func (s *system) tapSnapshots(f func(events.Snapshot)) error {
	if f == nil {
		return nil
	}
	if _, err := s.conn.Subscribe(events.SnapshotFilter, func(msg *nats.Msg) {
		ev, err := events.Decode(msg)
		if err != nil || ev.Type() != events.TypeSnapshot {
			return // not ours to judge: decide rejects bad input itself
		}
		if snap, err := events.Data[events.Snapshot](ev); err == nil && snap.Cluster == Cluster {
			f(snap)
		}
	}); err != nil {
		return fmt.Errorf("%w: subscribe %s: %w", ErrStart, events.SnapshotFilter, err)
	}
	return s.conn.Flush()
}

// runFunctions starts ingest, decide and actuate; the returned channel
// receives each one's error when it stops (nil after a clean stop).
func (s *system) runFunctions(cfg Config, log *slog.Logger) chan error {
	ctx, cancel := context.WithCancel(context.Background())
	s.cancel = cancel
	fnErr := make(chan error, 3)
	run := func(name string, f func(context.Context) error) {
		s.wg.Go(func() {
			if err := f(ctx); err != nil {
				fnErr <- fmt.Errorf("%s: %w", name, err)
			}
		})
	}
	ingestCfg := cfg.ingestConfig(s.endpoints.NATS, s.endpoints.Flink)
	run("metrics-ingest", func(ctx context.Context) error {
		now := time.Now
		if s.cluster != nil {
			now = s.cluster.Now
		}
		return ingest.Run(ctx, ingestCfg, log.With("function", ingest.Function), ingest.WithClock(now))
	})
	run("decide", func(ctx context.Context) error {
		dc, err := cfg.decideConfig(s.endpoints.NATS)
		if err != nil {
			return err
		}
		return decider.Run(ctx, dc, log.With("function", "decide"))
	})
	run("actuate", func(ctx context.Context) error {
		ac, err := cfg.actuateConfig(s.endpoints.NATS, s.endpoints.Flink)
		if err != nil {
			return err
		}
		ac.KEDAListen = s.endpoints.KEDA
		var opts []actuator.Option
		if s.cluster != nil {
			opts = append(opts, actuator.WithClock(simClock{now: s.cluster.Now, speed: cfg.Speed}))
		}
		return actuator.Run(ctx, ac, log.With("function", "actuate"), opts...)
	})
	return fnErr
}

// stopFunctions stops the functions and waits for them, at most
// stopTimeout; it returns the first error any of them stopped with.
func (s *system) stopFunctions(fnErr chan error) error {
	s.cancel()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(stopTimeout):
		return fmt.Errorf("the functions did not stop within %s", stopTimeout)
	}
	select {
	case err := <-fnErr:
		return err
	default:
		return nil
	}
}
