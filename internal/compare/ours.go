package compare

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"sync"
	"time"

	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/internal/bench"
	"github.com/flinkscaler/flinkscaler/internal/demo"
	"github.com/flinkscaler/flinkscaler/internal/events"
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
	var rec *oursRecorder
	if r.cfg.RecordOurs != nil {
		pol := bench.ConfigFor(r.sc)
		if tunePolicy != nil {
			tunePolicy(&pol)
		}
		rec = &oursRecorder{enc: json.NewEncoder(r.cfg.RecordOurs)}
		rec.encode(recordLine{Kind: "run", Run: PolicyOurs, Scenario: r.sc.Name, Engine: r.cfg.Engine, Timing: r.cfg.Timing, Policy: &pol})
		cfg.OnSnapshot = rec.snapshot
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
		if rec != nil {
			rec.decisions(out)
		}
	}
	if rec != nil && rec.err != nil {
		fmt.Fprintf(r.progress, "[flinkscaler] record: %v\n", rec.err)
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

// oursRecorder writes ours' run (Config.RecordOurs) as it happens: the
// snapshots in the order ingest published them, the decisions at the end.
// A write that fails stops the recording, not the run.
type oursRecorder struct {
	mu  sync.Mutex
	enc *json.Encoder
	err error
}

func (o *oursRecorder) encode(l recordLine) {
	o.mu.Lock()
	defer o.mu.Unlock()
	if o.err == nil {
		if err := o.enc.Encode(l); err != nil {
			o.err = err
		}
	}
}

func (o *oursRecorder) snapshot(s events.Snapshot) {
	o.encode(recordLine{Kind: "snapshot", Snapshot: &s})
}

// decisions appends the run's decisions (when decide made them, the
// targets it set by vertex name, its rationale) after the snapshots.
func (o *oursRecorder) decisions(out *demo.Outcome) {
	for _, d := range decisions(out.Series) {
		o.encode(recordLine{Kind: "decision", AtSeconds: d.AtSeconds, Targets: d.Targets, Line: d.Rationale})
	}
}

// ReplayOurs feeds the snapshots of a recording of ours' run
// (Config.RecordOurs) to decide's policy with cfg, in order, as decide
// read them, and returns the decisions it makes now and the run's age
// (since its RunningSince) at each: how a change to the policy would have
// read the same real run.
func ReplayOurs(r io.Reader, cfg policy.Config) ([]events.Decision, []time.Duration, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	var st policy.State
	var out []events.Decision
	var ages []time.Duration
	header := false
	for n := 1; sc.Scan(); n++ {
		var l recordLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, nil, fmt.Errorf("recording line %d: %w", n, err)
		}
		switch {
		case l.Kind == "run" && !header:
			if l.Run != PolicyOurs {
				return nil, nil, fmt.Errorf("recording line %d: a recording of the peer's run (--record): ReplayRecording replays it", n)
			}
			header = true
		case !header:
			return nil, nil, fmt.Errorf("recording line %d: %q before the run header", n, l.Kind)
		case l.Kind == "snapshot" && l.Snapshot != nil:
			res := policy.Decide(policy.Input{Snapshot: *l.Snapshot, SnapshotID: fmt.Sprint(n), State: st, Config: cfg, Now: l.Snapshot.ObservedAt})
			st = res.NewState
			if res.Decision != nil {
				var age time.Duration
				if since := l.Snapshot.RunningSince; since != nil {
					age = l.Snapshot.ObservedAt.Sub(*since)
				}
				out, ages = append(out, *res.Decision), append(ages, age)
			}
		case l.Kind == "decision":
		default:
			return nil, nil, fmt.Errorf("recording line %d: unknown kind %q", n, l.Kind)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, nil, err
	}
	if !header {
		return nil, nil, errors.New("empty recording: no run header")
	}
	return out, ages, nil
}
