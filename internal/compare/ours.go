package compare

import (
	"context"
	"log/slog"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/demo"
)

// ours runs flinkscaler's three functions over NATS on a fresh emulator,
// with the demo's wiring, in real time.
func (r *runner) ours(ctx context.Context) Run {
	run := Run{Policy: PolicyOurs, What: "metrics-ingest → decide (default policy) → actuate over NATS JetStream"}
	tunePolicy, tuneActuate, opts := tuneOurs(r.cfg.Timing)
	run.Options = opts
	began := time.Now()
	cfg := demo.Config{
		Scenario: r.sc, Speed: 1, Duration: r.duration,
		Progress:   &prefixed{w: r.progress, prefix: "[flinkscaler] "},
		Log:        r.functionsLog(),
		TunePolicy: tunePolicy, TuneActuate: tuneActuate,
	}
	if r.cfg.Engine == EngineFlink {
		cl, err := r.startCluster(ctx, "[flinkscaler] ")
		if err != nil {
			run.Status, run.Error = StatusNotRun, err.Error()
			return run
		}
		defer cl.stop()
		cfg.External = &demo.External{URL: cl.url, JobID: cl.jobID, Truth: cl.truth}
	}
	out, err := demo.Run(ctx, cfg)
	run.WallSeconds = time.Since(began).Seconds()
	if out != nil {
		card := out.Card
		run.Card, run.Series = &card, out.Series
		run.FailedActuations, run.TimedOutActuations, run.ActuationErrors = out.Actuations()
	}
	switch {
	case out == nil:
		run.Status, run.Error = StatusNotRun, err.Error()
	case err != nil:
		run.Status, run.Error = StatusFailed, err.Error()
	case out.Interrupted:
		run.Status, run.Error = StatusFailed, "interrupted before the end"
	case out.Card.Decisions == 0:
		run.Status, run.Error = StatusNeverScaled, "decide made no decision in the whole run"
	default:
		run.Status = StatusOK
	}
	finished(r.progress, "[flinkscaler] ", run, time.Since(began))
	return run
}

// functionsLog is the logger of ours' functions. With Config.Log set
// (compare --verbose) it logs at debug, so decide's holds ("holding",
// with the reason) show between its decisions: a run over the SLO with no
// decision says why decide kept.
func (r *runner) functionsLog() *slog.Logger {
	opts := &slog.HandlerOptions{Level: slog.LevelInfo}
	if r.cfg.Log != nil {
		opts.Level = slog.LevelDebug
	}
	return slog.New(slog.NewTextHandler(&prefixed{w: r.log, prefix: "[flinkscaler] "}, opts))
}
