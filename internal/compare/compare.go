// Package compare runs one scenario twice, on a fresh cluster each time with
// the same seed and start: once scaled by flinkscaler (metrics-ingest →
// decide → actuate over NATS, the demo's wiring) and once by the Flink
// Kubernetes operator's autoscaler (package flinkautoscaler, in its own
// JVM), and scores both runs alike (package scorecard). It backs
// `flinkscaler compare`.
//
// # TaskManagers
//
// The operator's autoscaler sets per-vertex parallelism and never changes
// TaskManager counts in standalone mode; run as the operator runs it on
// Kubernetes, Flink's resource manager starts the TaskManagers the job's
// requirements need and releases idle ones after
// resourcemanager.taskmanager-timeout (30 s). The peer run reproduces that:
// its TaskManagers follow its requirements (up at once, down after 30 s
// idle), capped at the scenario's maxTaskManagers, starting at the
// scenario's initial count. Both runs pay for requested TaskManagers ×
// slots, the scorecard's accounting, so neither is charged for capacity it
// did not ask for nor given capacity it did not pay for.
//
// # Time
//
// The operator's autoscaler runs on the wall clock: it stamps metrics with
// its own clock and computes rates from counter deltas over it, but reads
// sources' per-second meters as the JobManager reports them. An emulator
// running faster than real time makes the two disagree (counter rates grow
// with the speed, meters do not), so every compare run is real time
// (speed 1), on the emulator as on real Flink. --timing fast shortens runs
// instead, the same way for both policies (see timing.go).
package compare

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"sync"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/bench"
	"github.com/flinkscaler/flinkscaler/internal/flinkautoscaler"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
	"github.com/flinkscaler/flinkscaler/internal/scorecard"
)

// Policies of a Run.
const (
	PolicyOurs = "flinkscaler"
	PolicyPeer = "flink-operator-autoscaler"
	PolicyBoth = "both"
)

// Engines.
const (
	EngineEmulator = "emulator"
	EngineFlink    = "flink"
)

// Run statuses.
const (
	StatusOK          = "ok"
	StatusNeverScaled = "never scaled" // ran to the end without a rescale
	StatusFailed      = "failed"       // stopped early: a JVM died, a function failed
	StatusNotRun      = "not run"      // could not start: a missing jar version, no cluster
)

// ErrConfig wraps every invalid configuration.
var ErrConfig = errors.New("invalid compare configuration")

// Config is one comparison.
type Config struct {
	// ScenarioPath is the scenario file; required.
	ScenarioPath string
	Engine       string // EngineEmulator (default) or EngineFlink
	Timing       string // TimingDefault (default) or TimingFast
	// Duration cuts the run (after fast compression); 0 = the scenario's.
	Duration time.Duration
	// PeerVersion is the operator release of the peer's autoscaler.
	PeerVersion string
	// Progress receives progress lines; nil discards them.
	Progress io.Writer
	// Log receives both runs' logs (functions, at debug: decide's holds
	// with their reasons; JVMs); nil discards them.
	Log io.Writer
	// Record, if set, receives the peer run's metric stream (snapshots as
	// metrics-ingest reads them) and the original's rescales as JSON
	// lines, for ReplayRecording.
	Record io.Writer
	// RecordOurs, if set, receives ours' run as JSON lines: a "run"
	// header with the policy configuration decide ran with, every
	// snapshot metrics-ingest published (decide's whole input: the run
	// has no user metrics), then ours' decisions with their rationales
	// (ReplayOurs replays the snapshots through today's decide).
	RecordOurs io.Writer
	// Only runs one policy, PolicyOurs or PolicyPeer; "" runs both. A
	// real-Flink run at fast timing takes the job's time per policy, one
	// policy after the other, so a whole-length comparison of a long
	// scenario is run as two invocations (each under its own JVM hold).
	Only string
	// PeerFrom, with Only = PolicyOurs, reads the peer's run from a
	// previous compare's --json output (its peer line) and checks ours'
	// targets against it ("ahead of the peer"); nil: no peer.
	PeerFrom io.Reader
}

// Validate reports every problem, naming the flag.
func (c *Config) Validate() error {
	var errs []error
	if c.ScenarioPath == "" {
		errs = append(errs, errors.New("--scenario: required"))
	}
	if c.Engine == "" {
		c.Engine = EngineEmulator
	}
	if c.Engine != EngineEmulator && c.Engine != EngineFlink {
		errs = append(errs, fmt.Errorf("--engine %q: want %s or %s", c.Engine, EngineFlink, EngineEmulator))
	}
	if c.Timing == "" {
		c.Timing = TimingDefault
	}
	if c.Timing != TimingDefault && c.Timing != TimingFast {
		errs = append(errs, fmt.Errorf("--timing %q: want %s or %s", c.Timing, TimingDefault, TimingFast))
	}
	if c.Duration < 0 || (c.Duration > 0 && c.Duration < time.Minute) {
		errs = append(errs, fmt.Errorf("--duration %s: want 0 (the scenario's) or at least 1m", c.Duration))
	}
	if c.PeerVersion == "" {
		c.PeerVersion = flinkautoscaler.DefaultVersion
	}
	switch c.Only {
	case "", PolicyOurs, PolicyPeer:
	case "ours":
		c.Only = PolicyOurs
	case "peer":
		c.Only = PolicyPeer
	default:
		errs = append(errs, fmt.Errorf("--only %q: want ours or peer (empty: both)", c.Only))
	}
	if c.PeerFrom != nil && c.Only != PolicyOurs {
		errs = append(errs, errors.New("--peer-from: only with --only ours"))
	}
	if len(errs) > 0 {
		return fmt.Errorf("%w:\n%w", ErrConfig, errors.Join(errs...))
	}
	return nil
}

// Run is one policy's run.
type Run struct {
	Policy string `json:"policy"`
	Status string `json:"status"`
	// Error says why a run failed, did not run or never scaled.
	Error string `json:"error,omitempty"`
	// What is what scaled the job, in one line.
	What string `json:"what"`
	// Card is the scorecard; nil when the run did not run.
	Card    *scorecard.Summary `json:"scorecard,omitempty"`
	Series  scorecard.Series   `json:"-"`
	Options []Option           `json:"options"`
	// WallSeconds is the real time the run took.
	WallSeconds float64 `json:"wallSeconds"`
	// Peer only: REST requests by method, path and status, and the count
	// of scaling reports and errors the autoscaler logged.
	Requests map[string]int `json:"requests,omitempty"`
	Reports  int            `json:"scalingReports,omitempty"`
	Errors   int            `json:"loggedErrors,omitempty"`
	// Baseline (peer only): our flink-operator baseline's decisions on the
	// same metric stream, against the original's rescales.
	Baseline *BaselineCheck `json:"baselineCheck,omitempty"`
	// Ours only: the actuations that failed (failed or partial), those
	// of them where a wait ran out, and the first failures' messages.
	FailedActuations   int      `json:"failedActuations,omitempty"`
	TimedOutActuations int      `json:"timedOutActuations,omitempty"`
	ActuationErrors    []string `json:"actuationErrors,omitempty"`
	// Targets (ours only, when it ran to the end): the benchmark's
	// targets checked on this one run, with the peer's run in place of
	// the baselines (bench.CheckRun).
	Targets []bench.Finding `json:"targets,omitempty"`
}

// Result is a comparison.
type Result struct {
	Scenario string `json:"scenario"`
	File     string `json:"file"`
	Engine   string `json:"engine"`
	Timing   string `json:"timing"`
	// Simulated is the scenario time each run covers.
	Simulated time.Duration `json:"-"`
	// Setup explains the TaskManager setup and the clock, for the report.
	Setup []string `json:"setup"`
	// Common are the changes both runs share (the compressed scenario).
	Common []Option `json:"common,omitempty"`
	Runs   []Run    `json:"runs"`
	sc     *flinksim.Scenario
}

// Compare runs the comparison. Errors are configuration errors; a run that
// fails is reported in its Run.
func Compare(ctx context.Context, cfg Config) (*Result, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	progress := cfg.Progress
	if progress == nil {
		progress = io.Discard
	}
	tmp, err := os.MkdirTemp("", "flinkscaler-compare-")
	if err != nil {
		return nil, err
	}
	defer os.RemoveAll(tmp)
	path := cfg.ScenarioPath
	res := &Result{File: cfg.ScenarioPath, Engine: cfg.Engine, Timing: cfg.Timing, Setup: setupNotes(cfg.Engine)}
	if cfg.Timing == TimingFast {
		path, res.Common, err = compressScenario(cfg.ScenarioPath, tmp, FastFactor)
		if err != nil {
			return nil, fmt.Errorf("%w: %w", ErrConfig, err)
		}
	}
	sc, err := flinksim.LoadScenario(path)
	if err != nil {
		return nil, fmt.Errorf("%w: --scenario: %w", ErrConfig, err)
	}
	res.Scenario, res.sc = sc.Name, sc
	res.Simulated = sc.Duration
	if cfg.Duration > 0 && cfg.Duration < sc.Duration {
		res.Simulated = cfg.Duration
	}
	log := cfg.Log
	if log == nil {
		log = io.Discard
	}
	fmt.Fprintf(progress, "flinkscaler compare: scenario %q (%s), %s of job time per run in real time, engine %s, timing %s\n",
		sc.Name, path, res.Simulated, cfg.Engine, cfg.Timing)
	var peerFrom *Run
	if cfg.PeerFrom != nil {
		if peerFrom, err = readPeerRun(cfg.PeerFrom, sc.Name, cfg.Engine, cfg.Timing); err != nil {
			return nil, fmt.Errorf("%w: --peer-from: %w", ErrConfig, err)
		}
	}
	r := runner{cfg: cfg, sc: sc, path: path, duration: res.Simulated, progress: &lockedWriter{w: progress}, log: &lockedWriter{w: log}}
	if cfg.Only != PolicyOurs {
		// Resolve the peer before any run, so a missing version is known
		// at once and not after ours has run for the whole scenario.
		r.peerArtifact, r.peerErr = flinkautoscaler.Resolve(ctx, cfg.PeerVersion, &prefixed{w: r.progress, prefix: "[operator]    "})
	}
	ours := func() Run { return r.ours(ctx) }
	peer := func() Run { return r.peer(ctx) }
	switch {
	case cfg.Only == PolicyOurs:
		res.Runs = []Run{ours()}
	case cfg.Only == PolicyPeer:
		res.Runs = []Run{peer()}
	case cfg.Engine == EngineEmulator:
		// The emulator's model does not depend on the machine's load: both
		// runs go at once, each on its own cluster.
		var wg sync.WaitGroup
		var a, b Run
		wg.Go(func() { a = ours() })
		wg.Go(func() { b = peer() })
		wg.Wait()
		res.Runs = []Run{a, b}
	default:
		// Real Flink shares the machine's cores: one run at a time.
		res.Runs = []Run{ours(), peer()}
	}
	res.checkTargets(peerFrom)
	return res, nil
}

// readPeerRun reads the peer's run from a compare's --json output: the
// line of PolicyPeer, which must be of the same scenario, engine and
// timing.
func readPeerRun(rd io.Reader, scenario, engine, timing string) (*Run, error) {
	dec := json.NewDecoder(rd)
	for {
		var line jsonRun
		err := dec.Decode(&line)
		if errors.Is(err, io.EOF) {
			return nil, fmt.Errorf("no %s run in it", PolicyPeer)
		}
		if err != nil {
			return nil, err
		}
		if line.Policy != PolicyPeer {
			continue
		}
		if line.Scenario != scenario || line.Engine != engine || line.Timing != timing {
			return nil, fmt.Errorf("the peer ran %q on %s at timing %s, not %q on %s at timing %s",
				line.Scenario, line.Engine, line.Timing, scenario, engine, timing)
		}
		run := line.Run
		return &run, nil
	}
}

// checkTargets sets ours' Targets when ours ran to the end; a peer that
// did not leaves "ahead of the peer" not applicable.
// peerFrom, if not nil, is the peer's run of another invocation
// (--peer-from), used when this one ran ours only.
func (r *Result) checkTargets(peerFrom *Run) {
	ours := slices.IndexFunc(r.Runs, func(run Run) bool { return run.Policy == PolicyOurs })
	if ours < 0 || !comparable(r.Runs[ours]) {
		return
	}
	result := func(run Run) *bench.Result {
		return &bench.Result{Scenario: r.Scenario, Policy: run.Policy, Setting: bench.Setting{Policy: run.Policy},
			Seed: r.sc.Seed, SLOSeconds: r.sc.SLO.MaxLagSeconds, Summary: *run.Card,
			Failed: run.FailedActuations, TimedOut: run.TimedOutActuations, Errors: run.ActuationErrors}
	}
	var peer *bench.Result
	if i := slices.IndexFunc(r.Runs, func(run Run) bool { return run.Policy == PolicyPeer }); i >= 0 && comparable(r.Runs[i]) {
		peer = result(r.Runs[i])
	} else if peerFrom != nil && comparable(*peerFrom) {
		peer = result(*peerFrom)
	}
	r.Runs[ours].Targets = bench.CheckRun(*result(r.Runs[ours]), peer)
}

// runner holds what both runs share.
type runner struct {
	cfg      Config
	sc       *flinksim.Scenario
	path     string
	duration time.Duration
	progress io.Writer
	log      io.Writer
	// peerArtifact is the resolved peer, or peerErr why it is not.
	peerArtifact *flinkautoscaler.Artifact
	peerErr      error
}

func setupNotes(engine string) []string {
	notes := []string{
		"TaskManagers: flinkscaler's actuate sets them; for the operator's autoscaler, which never changes them in standalone mode, they follow its resource requirements as Flink's resource manager does on Kubernetes (started at once, idle ones released after 30 s), capped at the scenario's maxTaskManagers. Both pay for requested TaskManagers × slots.",
		"Clock: both runs are real time (the operator's autoscaler computes rates over its own wall clock), each on a fresh cluster with the scenario's seed; on the emulator the operator's job is submitted once its autoscaler has asked for the jobs (its JVM is up), as the operator runs before the jobs it scales.",
	}
	if engine == EngineEmulator {
		notes = append(notes, "Engine: the flinksim emulator, both runs at once (its model does not depend on the machine's load).")
	} else {
		notes = append(notes, "Engine: real Flink (the sandbox MiniCluster), one run after the other.")
	}
	return notes
}

// lockedWriter serialises writes of two concurrent runs.
type lockedWriter struct {
	mu sync.Mutex
	w  io.Writer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

// prefixed writes each line to w with a prefix.
type prefixed struct {
	w      io.Writer
	prefix string
	buf    []byte
}

func (p *prefixed) Write(b []byte) (int, error) {
	p.buf = append(p.buf, b...)
	for {
		i := bytes.IndexByte(p.buf, '\n')
		if i < 0 {
			return len(b), nil
		}
		line := append([]byte(p.prefix), p.buf[:i+1]...)
		p.buf = p.buf[i+1:]
		if _, err := p.w.Write(line); err != nil {
			return len(b), err
		}
	}
}

// finished writes a run's last progress line: its status and wall time,
// and why when it is not ok, so a run that did not run or failed says so
// where it is watched, not only in the JSON written at the end.
func finished(w io.Writer, prefix string, run Run, took time.Duration) {
	fmt.Fprintf(w, "%srun %s after %s", prefix, run.Status, took.Round(time.Second))
	if run.Status != StatusOK && run.Error != "" {
		fmt.Fprintf(w, ": %s", run.Error)
	}
	fmt.Fprintln(w)
}
