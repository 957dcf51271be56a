// Package demo runs the whole of flinkscaler on an emulated Flink job, sped
// up, for `flinkscaler demo`: an embedded NATS JetStream server, the Flink
// emulator served over HTTP, and metrics-ingest, decide and actuate wired
// over NATS as in production (cluster "demo"). It prints a progress line per
// simulated interval and every decision and result as it happens, and returns
// an Outcome from which the summary and the HTML report are rendered.
//
// # Time
//
// The emulator runs Speed simulated seconds per real second. decide works in
// event time (the snapshots' observedAt), and ingest stamps snapshots with
// the emulator's clock, so the policy's windows are simulated time and are
// passed unchanged. Everything else that waits on the wall clock is divided
// by Speed: ingest's poll interval (10 s simulated) and retry backoff, and
// actuate's slot and parallelism waits, poll interval and per-job rate limit.
// Each has a floor (ingest's interval 100 ms, polls 10 ms, waits 1 s), so
// above 100× snapshots come more than 10 simulated seconds apart.
//
// # Lifecycle
//
//	start: NATS (stream, buckets) → emulator REST API → subscribe to
//	       decisions, results, rejections → ingest, decide, actuate
//	       → wait until decide and actuate consume → OnStart
//	run:   emulator clock at Speed until Duration, ctx done or a function
//	       fails
//	stop:  functions (bounded wait) → HTTP → NATS; the Outcome holds what
//	       ran, also after ctx ended early
package demo

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"time"

	"github.com/flinkscaler/flinkscaler/functions/actuate/actuator"
	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
)

// Cluster is the cluster name of the demo's job in every event and bucket.
const Cluster = "demo"

// ErrConfig wraps every configuration problem Validate reports.
var ErrConfig = errors.New("invalid demo configuration")

// Config is one demo run.
type Config struct {
	// Scenario is the emulated job and its load; required.
	Scenario *flinksim.Scenario
	// Speed is simulated seconds per real second.
	Speed float64
	// Duration is the simulated time to run; 0 means the scenario's.
	Duration time.Duration
	// NATSListen exposes the embedded NATS server on host:port; empty means
	// 127.0.0.1 on a free port.
	NATSListen string
	// FlinkListen is where the emulated Flink REST API is served; empty
	// means 127.0.0.1 on a free port.
	FlinkListen string
	// KEDAListen, when set, serves actuate's KEDA external scaler (gRPC).
	KEDAListen string
	// ProgressEvery is the simulated time between progress lines; 0 picks
	// one from the duration (30 s for runs up to half an hour).
	ProgressEvery time.Duration
	// Progress receives the progress lines; nil discards them.
	Progress io.Writer
	// Log receives the functions' logs; nil discards them.
	Log *slog.Logger
	// External, if set, is a running cluster to scale instead of a fresh
	// emulator (the real-Flink sandbox): Speed must be 1, FlinkListen empty.
	External *External
	// TunePolicy, if set, adjusts decide's policy after the demo's defaults
	// for the scenario; TuneActuate adjusts actuate's options (its waits
	// pass on the emulator's clock, in simulated time).
	TunePolicy  func(*policy.Config)
	TuneActuate func(*actuator.Options)
	// OnStart, if set, is called once the whole pipeline is consuming,
	// just before simulated time starts, with the addresses served.
	OnStart func(Endpoints)
	// OnSnapshot, if set, is called with every snapshot of the demo's
	// cluster that metrics-ingest publishes, one at a time in the order
	// published, from the first (subscribed before ingest starts): the
	// stream decide reads (compare --record-ours records it).
	OnSnapshot func(events.Snapshot)
}

// External is a running Flink cluster serving Flink's REST API and the
// emulator's control endpoints (flinksim.ControlPrefix) under one base URL,
// running the scenario's job in real time.
type External struct {
	URL   string
	JobID string
	// Truth reads the cluster's ground truth, rates in scenario records.
	Truth func(context.Context) (flinksim.GroundTruth, error)
}

// Defaults returns the configuration of the README's first command for sc:
// speed 30, so wordcount.yaml's 30 simulated minutes take about a minute.
func Defaults(sc *flinksim.Scenario) Config {
	return Config{Scenario: sc, Speed: 30}
}

// Validate reports every problem, each with the flag it comes from. It
// changes nothing.
func (c Config) Validate() error {
	var errs []error
	bad := func(flag, format string, args ...any) {
		errs = append(errs, fmt.Errorf("--%s: %s", flag, fmt.Sprintf(format, args...)))
	}
	if c.Scenario == nil {
		bad("scenario", "required")
	}
	if !(c.Speed > 0) || c.Speed > maxSpeed {
		bad("speed", "%g: want more than 0 and at most %d", c.Speed, maxSpeed)
	}
	if c.Duration < 0 {
		bad("duration", "%s: want a positive simulated duration (0: the scenario's)", c.Duration)
	}
	if c.Duration > 0 && c.Duration < minDuration {
		bad("duration", "%s: want at least %s of simulated time", c.Duration, minDuration)
	}
	if c.External != nil && (c.Speed != 1 || c.FlinkListen != "" || c.External.Truth == nil) {
		bad("engine", "an external cluster runs in real time (speed 1), serves its own REST API (no --flink-listen) and needs its ground truth")
	}
	if c.ProgressEvery < 0 {
		bad("progress-every", "%s: want 0 (automatic) or more", c.ProgressEvery)
	}
	for flag, addr := range map[string]string{"nats-listen": c.NATSListen, "flink-listen": c.FlinkListen, "keda-listen": c.KEDAListen} {
		if addr == "" {
			continue
		}
		if _, _, err := net.SplitHostPort(addr); err != nil {
			bad(flag, "%q: want host:port (%v)", addr, err)
		}
	}
	if len(errs) == 0 {
		return nil
	}
	return fmt.Errorf("%w:\n%w", ErrConfig, errors.Join(errs...))
}

// maxSpeed bounds Speed (the soak runs at 600, snapshots a minute apart).
const maxSpeed = 1000

// minDuration is the shortest run worth reporting: one ingest interval.
const minDuration = 10 * time.Second

// duration is the simulated time the run lasts.
func (c Config) duration() time.Duration {
	if c.Duration > 0 {
		return c.Duration
	}
	return c.Scenario.Duration
}

// progressEvery is the simulated time between progress lines: 30 s, or
// longer so that a long run prints about 60 lines.
func (c Config) progressEvery() time.Duration {
	if c.ProgressEvery > 0 {
		return c.ProgressEvery
	}
	every := 30 * time.Second
	for c.duration()/every > 60 {
		every *= 2
	}
	return every
}

// scaled divides a wall-clock duration of the functions by the speed, but
// not below floor.
func (c Config) scaled(d, floor time.Duration) time.Duration {
	return max(time.Duration(float64(d)/c.Speed), floor)
}
