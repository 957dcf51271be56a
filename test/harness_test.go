// Package test holds flinkscaler's end-to-end fault, hostile-input,
// security and soak tests. They run the real functions (metrics-ingest,
// decide, actuate) in-process against real NATS servers, the Flink emulator
// served over HTTP and, where named, a real kube-apiserver. Long variants run
// with -soak (or FLINKSCALER_SOAK=1).
package test

import (
	"context"
	"flag"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/functions/actuate/actuator"
	"github.com/flinkscaler/flinkscaler/functions/decide/decider"
	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/functions/metrics-ingest/ingest"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
	"github.com/flinkscaler/flinkscaler/internal/function"
)

var soakFlag = flag.Bool("soak", false, "run the long variants (minutes to hours)")

// soak reports whether the long variants run.
func soak() bool { return *soakFlag || os.Getenv("FLINKSCALER_SOAK") == "1" }

// cluster is the cluster name in every test.
const cluster = "prod"

// stepScenario is a two-vertex job whose load steps up twice and then down,
// so decide scales it up, up again and later down.
// stepScenario's figures its tests reason with.
const (
	stepSlotsPerTaskManager = 1
	stepEnrichCapacity      = 10000 // records/s per enrich subtask
)

const stepScenario = `
name: fault-step
duration: 2h
seed: 5
cluster:
  scaling: adaptive
  slotsPerTaskManager: 1
  initialTaskManagers: 2
  maxTaskManagers: 16
  taskManagerStartup: 5s
  restart: 5s
  checkpointInterval: 30s
job:
  name: orders
  vertices:
    - {name: "Source: orders", parallelism: 2, maxParallelism: 64, capacity: 60000, partitions: 32}
    - {name: enrich, inputs: ["Source: orders"], parallelism: 2, maxParallelism: 64, capacity: 10000}
load:
  pattern: step
  steps: [{at: 0s, rate: 12000}, {at: 2m, rate: 45000}, {at: 8m, rate: 90000}, {at: 14m, rate: 30000}]
slo:
  maxLagSeconds: 60
`

// restepScenario is stepScenario whose load keeps stepping for an hour, for
// the outage tests that kill a server after the first result and need new
// decisions after it: with stepScenario's last step at 14 minutes (14 s of
// wall time at 60×), a loaded machine can reach the kill after the job has
// converged, and the test would wait for a decision the policy rightly
// does not make.
var restepScenario = strings.Replace(stepScenario,
	"{at: 14m, rate: 30000}]",
	"{at: 14m, rate: 30000}, {at: 25m, rate: 90000}, {at: 40m, rate: 30000}, {at: 55m, rate: 90000}, {at: 70m, rate: 30000}]", 1)

// emulator is the Flink emulator running in real time sped up, served over
// HTTP (through handler when the test wraps it).
type emulator struct {
	sim   *flinksim.Cluster
	start time.Time // the scenario's time zero
	url   string
	speed float64
}

// offered is the scenario's offered rate at t (records/s).
func (e *emulator) offered(at time.Time) float64 {
	sc := e.sim.Scenario()
	n := int(sc.Duration / time.Second)
	i := min(max(int(at.Sub(e.start)/time.Second), 0), n-1)
	return sc.OfferedRates(time.Second, n)[i]
}

// startEmulator runs scenario at speed simulated seconds per second behind
// wrap (nil: none) until the test ends.
func startEmulator(t *testing.T, scenario string, speed float64, wrap func(http.Handler) http.Handler) *emulator {
	t.Helper()
	sc, err := flinksim.ParseScenario([]byte(scenario), ".")
	require.NoError(t, err)
	start := time.Now().UTC()
	sim := flinksim.New(sc, flinksim.Options{Start: start})
	var h = sim.Handler()
	if wrap != nil {
		h = wrap(h)
	}
	ts := httptest.NewServer(h)
	t.Cleanup(ts.Close)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); _ = sim.Run(ctx, speed, nil) }()
	t.Cleanup(func() { cancel(); <-done })
	return &emulator{sim: sim, start: start, url: ts.URL, speed: speed}
}

// scaled divides a simulated duration by the speed, with a floor.
func (e *emulator) scaled(d, floor time.Duration) time.Duration {
	return max(time.Duration(float64(d)/e.speed), floor)
}

// proc is one function running in-process; stop cancels it and waits.
type proc struct {
	name    string
	cancel  context.CancelFunc
	done    chan error
	once    sync.Once
	stopErr error
}

// stop ends the function and returns what its Run returned; later calls
// return the same.
func (p *proc) stop() error {
	p.once.Do(func() {
		p.cancel()
		select {
		case p.stopErr = <-p.done:
		case <-time.After(30 * time.Second):
			p.stopErr = fmt.Errorf("%s did not stop within 30s", p.name)
		}
	})
	return p.stopErr
}

// exited returns what Run returned if it has ended on its own, else nil.
func (p *proc) exited() error {
	select {
	case err := <-p.done:
		p.once.Do(func() { p.stopErr = err })
		return err
	default:
		return nil
	}
}

// goRun runs f until the test ends (or stop).
func goRun(t *testing.T, name string, f func(context.Context) error) *proc {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	p := &proc{name: name, cancel: cancel, done: make(chan error, 1)}
	go func() {
		err := f(ctx)
		if err != nil && ctx.Err() == nil {
			// Ended on its own: say so, for a wait that fails later
			// (a test that expects the exit reads it with exited).
			t.Logf("%s exited: %v", name, err)
		}
		p.done <- err
	}()
	t.Cleanup(func() { _ = p.stop() })
	return p
}

// testLog is the logger of function name in t: with -v, Warn and above
// on stderr as they come; always, the last logTail records at Info and
// above kept and printed if t fails (after the test's functions stopped).
// Only the tail is kept: a flood test logs a hundred thousand rejections
// and measures the heap.
func testLog(t *testing.T, name string) *slog.Logger {
	t.Helper()
	kept := &tail{max: logTail}
	t.Cleanup(func() {
		if t.Failed() {
			lines, n := kept.lines()
			t.Logf("%s's log, its last %d of %d records:\n%s", name, len(lines), n, strings.Join(lines, ""))
		}
	})
	h := slog.Handler(slog.NewTextHandler(kept, &slog.HandlerOptions{Level: slog.LevelInfo}))
	if testing.Verbose() {
		h = slog.NewMultiHandler(h, slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn}))
	}
	return slog.New(h).With("function", name)
}

// logTail is how many of a function's log records a failed test prints.
const logTail = 150

// tail keeps the last max writes (a text handler writes one record a
// call) and counts them all.
type tail struct {
	mu   sync.Mutex
	max  int
	ring []string
	n    int
}

func (w *tail) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if len(w.ring) < w.max {
		w.ring = append(w.ring, string(p))
	} else {
		w.ring[w.n%w.max] = string(p)
	}
	w.n++
	return len(p), nil
}

// lines returns the records kept, oldest first, and how many were written.
func (w *tail) lines() ([]string, int) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.n <= w.max {
		return slices.Clone(w.ring), w.n
	}
	at := w.n % w.max
	return append(slices.Clone(w.ring[at:]), w.ring[:at]...), w.n
}

// ingestConfig polls e every 10 simulated seconds.
func ingestConfig(e *emulator, natsURL string) ingest.Config {
	cfg := ingest.DefaultConfig()
	cfg.Interval = e.scaled(cfg.Interval, 100*time.Millisecond)
	cfg.Backoff = e.scaled(cfg.Backoff, 10*time.Millisecond)
	cfg.RequestTimeout = cfg.Interval
	cfg.NATS.URL, cfg.HTTPListen, cfg.Replica = natsURL, "", "test"
	cfg.Targets = []ingest.Target{{Cluster: cluster, URL: e.url}}
	return cfg
}

// startIngest runs metrics-ingest with the emulator's clock, so snapshots
// carry simulated observedAt (as the demo does); conn authenticates.
func startIngest(t *testing.T, e *emulator, cfg ingest.Config, conn events.ConnOptions, log *slog.Logger) *proc {
	t.Helper()
	require.NoError(t, cfg.Validate())
	return goRun(t, "ingest", func(ctx context.Context) error {
		nc, js, err := events.Connect(conn)
		if err != nil {
			return err
		}
		defer nc.Close()
		svc, err := ingest.NewService(cfg, ingest.Deps{
			Publisher: ingest.JetStreamPublisher{JS: js, Attempts: cfg.Attempts},
			Members:   ingest.StaticMembers{cfg.Replica}, Logger: log, Now: e.sim.Now,
		})
		if err != nil {
			return err
		}
		return svc.Run(ctx)
	})
}

// decideConfig is decide with the default policy for stepScenario's layout.
func decideConfig(t *testing.T, natsURL string) decider.Config {
	t.Helper()
	p := policy.Defaults()
	p.Mode = events.ModeAdaptive
	p.MaxTaskManagers = 16
	require.NoError(t, p.Validate())
	return decider.Config{Common: function.Common{NATS: events.ConnOptions{URL: natsURL, Name: decider.Function}}, Policy: p}
}

func startDecide(t *testing.T, cfg decider.Config, log *slog.Logger) *proc {
	t.Helper()
	return goRun(t, "decide", func(ctx context.Context) error { return decider.Run(ctx, cfg, log) })
}

// actuateConfig drives the emulator's TaskManagers with waits scaled by the
// speed.
func actuateConfig(t *testing.T, e *emulator, natsURL string) actuator.Config {
	t.Helper()
	cfg := actuator.DefaultConfig()
	cfg.NATS.URL, cfg.HTTPListen = natsURL, ""
	cfg.Flink = map[string]string{cluster: e.url}
	cfg.TaskManagers = actuator.BackendEmulator
	o := &cfg.Options
	o.SlotWait = e.scaled(o.SlotWait, 5*time.Second)
	o.ParallelismWait = e.scaled(o.ParallelismWait, 5*time.Second)
	o.Poll = e.scaled(o.Poll, 10*time.Millisecond)
	o.MinInterval = e.scaled(o.MinInterval, 0)
	o.CheckpointWait = e.scaled(o.CheckpointWait, time.Second)
	require.NoError(t, cfg.Validate())
	return cfg
}

func startActuate(t *testing.T, cfg actuator.Config, log *slog.Logger) *proc {
	t.Helper()
	return goRun(t, "actuate", func(ctx context.Context) error { return actuator.Run(ctx, cfg, log) })
}

// eventually polls cond every 20 ms until it holds or within passes.
func eventually(t *testing.T, within time.Duration, cond func() bool, msg string, args ...any) {
	t.Helper()
	deadline := time.Now().Add(within)
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			require.FailNow(t, fmt.Sprintf(msg, args...), "not within %s", within)
		}
		<-tick.C
	}
}

// TestRestepScenarioKeepsStepping guards restepScenario's replacement: if
// stepScenario's last step is edited, the outage tests must not silently
// fall back to a load that stops changing at 14 minutes.
func TestRestepScenarioKeepsStepping(t *testing.T) {
	require.NotEqual(t, stepScenario, restepScenario)
	sc, err := flinksim.ParseScenario([]byte(restepScenario), ".")
	require.NoError(t, err)
	require.Len(t, sc.Load.Steps, 8)
}
