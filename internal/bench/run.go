// Package bench is `flinkscaler bench`: it runs scenarios in virtual time
// through the real policy and actuation logic against the emulator and
// scores every policy side by side (docs/BENCHMARK.md).
//
// One run advances the emulator's model in 1 s steps. Every Interval a
// snapshot is read through the emulator's Flink REST API exactly as
// metrics-ingest reads it (an ingest.Poller over an in-process transport, so
// policies see Flink's averaged, delayed metrics), handed to the policy with
// its own State, and a decision is executed by actuate's own Actuator in
// virtual time (see executor). A source's lagMetric is published on its
// own clock as a user metric event and merged into the policy's state as
// decide merges one (publishLag). The oracle is not run: its row is accounted
// from the optimal parallelism at every instant (scorecard.OracleSummary).
package bench

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/functions/metrics-ingest/ingest"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flink"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
	"github.com/flinkscaler/flinkscaler/internal/scorecard"
)

// ErrUsage wraps errors in what the caller asked for (an unknown policy, a
// scenario that cannot be read).
var ErrUsage = errors.New("bench")

// Interval is the snapshot interval, metrics-ingest's default.
const Interval = 10 * time.Second

// cluster is the cluster name decisions carry; emulatorURL is the base URL
// the in-process transport answers.
const (
	cluster     = "bench"
	emulatorURL = "http://emulator"
)

// Options tune a run beyond its scenario.
type Options struct {
	// Duration, if positive, replaces the scenario's duration (tests run
	// short versions).
	Duration time.Duration
	// Config, if set, replaces the policy configuration derived from the
	// scenario (ConfigFor).
	Config *policy.Config
	// Seeds is how many seeds RunAll runs each scenario with: the
	// scenario's seed (or FirstSeed), seed+1, …; 0 means 1.
	Seeds int
	// FirstSeed, if positive, replaces the scenario's seed in RunAll: the
	// runs use FirstSeed, FirstSeed+1, … (fresh seeds for every scenario).
	FirstSeed int64
	// Series keeps, in RunAll, the time series of the first seed's run of
	// each policy at its defaults (for plots); other results keep only
	// their summary. Run always keeps it.
	Series bool
	// Kubernetes has actuate scale the TaskManagers' Deployment
	// (actuate --taskmanagers kubernetes) instead of the emulator's own
	// endpoint: the Deployment's ReplicaSet picks which TaskManagers a
	// lower count removes (pods not Ready first, then the lowest
	// pod-deletion-cost, then the newest), and actuate marks the pods'
	// costs before a scale-down (the subtasks each TaskManager runs) unless
	// Unmarked. The default (neither Kubernetes nor KEDA) removes
	// TaskManagers that run no subtask first, as marked pods would.
	Kubernetes bool
	// KEDA has KEDA own the TaskManagers (actuate --taskmanagers keda):
	// actuate declares counts, and an emulated HPA applies the declared
	// count to the Deployment at each sync (HPASync, its 10 % tolerance),
	// whose ReplicaSet picks the pods as with Kubernetes. Session-mode
	// scenarios are unaffected (no TaskManager changes).
	KEDA bool
	// Unmarked, with Kubernetes or KEDA, has actuate mark no pods: the
	// ReplicaSet removes the newest TaskManagers, busy or not.
	Unmarked bool
	// PlainScaleDown turns actuate's scale-down fold off
	// (--fold-scale-down=false): the requirements go first, the
	// TaskManagers after the rescale.
	PlainScaleDown bool
}

// HPASync is how often the emulated HPA applies KEDA's count (Options.KEDA):
// the HPA controller's default sync period.
const HPASync = 15 * time.Second

// Result is one scenario run under one policy.
type Result struct {
	Scenario string
	Policy   string // Setting.Policy
	Setting  Setting
	Seed     int64 // the scenario seed the run used
	// SLOSeconds is the scenario's slo.maxLagSeconds.
	SLOSeconds float64
	Summary    scorecard.Summary
	Series     scorecard.Series
	// Applied, Skipped and Failed count decisions by actuation outcome;
	// TimedOut counts the failures that were a wait running out (slots or
	// parallelism never arrived); Errors holds the first failure messages.
	Applied, Skipped, Failed, TimedOut int
	Errors                             []string
}

// ConfigFor is the policy configuration every policy gets for sc, in the
// benchmark and in the demo: the defaults with what an operator configures
// for the scenario's cluster (scaling mode, slot sharing, standby and
// maximum TaskManagers, the lag SLO). Slots per TaskManager are left to
// the cluster (the snapshots), as for a user.
func ConfigFor(sc *flinksim.Scenario) policy.Config {
	cfg := policy.Defaults()
	cfg.Mode = scalingModes[sc.Cluster.Scaling]
	cfg.Slots.Sharing, cfg.Slots.Standby = sc.Cluster.SlotSharing, sc.Cluster.StandbyTaskManagers
	cfg.MaxTaskManagers = sc.Cluster.MaxTaskManagers
	if sc.SLO.MaxLagSeconds > 0 {
		cfg.SLO.MaxLag = secondsDuration(sc.SLO.MaxLagSeconds)
	}
	return cfg
}

// scalingModes maps a scenario's scaling to the policy's mode.
var scalingModes = map[string]string{
	flinksim.ScalingAdaptive: events.ModeAdaptive,
	flinksim.ScalingReactive: events.ModeReactive,
	flinksim.ScalingSession:  events.ModeSession,
}

func secondsDuration(s float64) time.Duration { return time.Duration(s * float64(time.Second)) }

// Run runs sc, with its own seed, under setting s. It returns early with
// ctx's error when ctx is done.
func Run(ctx context.Context, sc *flinksim.Scenario, s Setting, opt Options) (Result, error) {
	pol, err := newPolicy(s, sc)
	if err != nil {
		return Result{}, err
	}
	name := s.Policy
	duration := sc.Duration
	if opt.Duration > 0 {
		duration = opt.Duration
	}
	c := flinksim.New(sc, flinksim.Options{})
	rec := scorecard.New(sc)
	res := Result{Scenario: sc.Name, Policy: name, Setting: s, Seed: sc.Seed, SLOSeconds: sc.SLO.MaxLagSeconds}
	if name == OracleName {
		if err := observe(ctx, c, rec, duration, nil); err != nil {
			return Result{}, err
		}
		res.Summary, res.Series = rec.OracleSummary(), rec.Series()
		return res, nil
	}
	cfg := ConfigFor(sc)
	if opt.Config != nil {
		cfg = *opt.Config
	}
	if err := cfg.Validate(); err != nil {
		return Result{}, fmt.Errorf("%w: scenario %s: %w", ErrUsage, sc.Name, err)
	}
	d := &driver{pol: pol, cfg: cfg, c: c, rec: rec}
	d.lags, d.nsources = lagExporters(sc)
	transport := inProcess{c.Handler()}
	client, err := flink.New(emulatorURL, flink.Options{Transport: transport})
	if err != nil {
		return Result{}, fmt.Errorf("flink client: %w", err)
	}
	d.poller = ingest.NewPoller(client, cluster)
	d.x = newExecutor(c, client, transport, c.GroundTruth().Time, opt)
	defer d.x.close()
	if err := observe(ctx, c, rec, duration, d.step); err != nil {
		return Result{}, err
	}
	res.Summary, res.Series = rec.Summary(), rec.Series()
	res.Applied, res.Skipped, res.Failed, res.TimedOut, res.Errors = d.x.Applied, d.x.Skipped, d.x.Failed, d.x.TimedOut, d.x.Errors
	return res, nil
}

// observe steps c until duration, recording every step and calling each
// (if not nil) after it.
func observe(ctx context.Context, c *flinksim.Cluster, rec *scorecard.Recorder, duration time.Duration, each func(context.Context, *flinksim.GroundTruth) error) error {
	var gt flinksim.GroundTruth
	for n := 0; c.Elapsed() < duration; n++ {
		if n%3600 == 0 && ctx.Err() != nil {
			return ctx.Err()
		}
		c.Step()
		c.ReadGroundTruth(&gt)
		rec.Observe(gt)
		if each != nil {
			if err := each(ctx, &gt); err != nil {
				return err
			}
		}
	}
	return nil
}

// driver is the decide→actuate loop of one run.
type driver struct {
	pol    policy.Policy
	cfg    policy.Config
	c      *flinksim.Cluster
	poller *ingest.Poller
	x      *executor
	rec    *scorecard.Recorder
	state  policy.State
	polls  int
	// lags publish the sources' lag metrics a scenario declares (nsources:
	// the job's sources; sources: as the last snapshot lists them).
	lags     []lagExporter
	nsources int
	sources  []events.SourceVertex
}

// step runs after each simulated step: actuation progresses, and on the
// snapshot interval the policy decides.
func (d *driver) step(ctx context.Context, gt *flinksim.GroundTruth) error {
	d.x.tick(gt.Time)
	if err := d.publishLag(gt); err != nil {
		return err
	}
	if gt.Elapsed%Interval != 0 {
		return nil
	}
	d.polls++
	snap, err := d.poller.Poll(ctx, d.c.JobID(), gt.Time)
	if err != nil {
		return fmt.Errorf("snapshot at %s: %w", gt.Elapsed, err)
	}
	if len(d.lags) > 0 {
		d.sources = events.SourcesOf(snap)
	}
	for _, r := range d.x.results {
		d.state, _ = policy.Observe(d.state, r)
	}
	d.x.results = d.x.results[:0]
	out := d.pol.Decide(policy.Input{
		Snapshot: snap, SnapshotID: fmt.Sprintf("bench-%d", d.polls),
		State: d.state, Config: d.cfg, Now: snap.ObservedAt,
	})
	d.state = out.NewState
	if out.Decision != nil && !out.Decision.DryRun {
		d.rec.Decision(gt.Time, *out.Decision)
		d.x.submit(*out.Decision)
	}
	return nil
}
