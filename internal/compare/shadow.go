package compare

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/functions/metrics-ingest/ingest"
	"github.com/flinkscaler/flinkscaler/internal/bench"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flink"
	"github.com/flinkscaler/flinkscaler/internal/flinkautoscaler"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
)

// The baseline check: while the operator's autoscaler scales its cluster,
// our in-bench flink-operator baseline shadows it on the same cluster. It
// reads a snapshot every ingest interval exactly as metrics-ingest does and
// decides with the original's options, but never acts: both see one metric
// stream, so their decisions can be compared rescale by rescale (targets
// per vertex, timing). The stream and the original's rescales can be
// recorded (Config.Record) and replayed against the baseline later
// (ReplayRecording), which is how a recorded case becomes a test.

// shadowEvery is how often the shadow reads a snapshot: ingest's interval.
var shadowEvery = ingest.DefaultConfig().Interval

// MatchTolerance is how far apart in time a rescale of the original and a
// decision of the baseline may be and still match: the two read the same
// metrics on different 10 s loops, and a window boundary can fall between
// them, so up to three intervals.
const MatchTolerance = 3 * 10 * time.Second

// baselineFor is our flink-operator baseline configured with the
// operator's option keys as the peer runs with them. Keys of the
// autoscaler's algorithm the baseline has no counterpart for are an error,
// so a new option in a peer run cannot silently make the two differ;
// job.autoscaler.enabled and the standalone control loop's keys do not
// change the algorithm.
func baselineFor(options map[string]string) (policy.FlinkOperator, error) {
	f := policy.NewFlinkOperator()
	durations := map[string]*time.Duration{
		"job.autoscaler.metrics.window":                              &f.Window,
		"job.autoscaler.stabilization.interval":                      &f.Stabilization,
		"job.autoscaler.scale-down.interval":                         &f.ScaleDownInterval,
		"job.autoscaler.catch-up.duration":                           &f.CatchUp,
		"job.autoscaler.restart.time":                                &f.Restart,
		"job.autoscaler.backlog-processing.lag-threshold":            &f.BacklogLag,
		"job.autoscaler.observed-true-processing-rate.lag-threshold": &f.ObservedLag,
	}
	floats := map[string]*float64{
		"job.autoscaler.target.utilization":          &f.Target,
		"job.autoscaler.target.utilization.boundary": &f.Boundary,
		"job.autoscaler.scale-down.max-factor":       &f.ScaleDownMaxFactor,
		"job.autoscaler.scale-up.max-factor":         &f.ScaleUpMaxFactor,
	}
	ints := map[string]*int{
		"job.autoscaler.vertex.min-parallelism": &f.VertexMin,
		"job.autoscaler.vertex.max-parallelism": &f.VertexMax,
	}
	// The releases' key-group modes, and main's alignment modes (§2.10).
	legacyModes := map[string]string{"EVENLY_SPREAD": policy.AlignEvenlySpread, "MAXIMIZE_UTILISATION": policy.AlignMaximizeUtilisation}
	mainModes := map[string]string{"BALANCED": policy.AlignBalanced, "EVENLY_SPREAD": policy.AlignEvenlySpread, "OFF": policy.AlignOff}
	var errs []error
	for _, k := range slices.Sorted(maps.Keys(options)) {
		v := options[k]
		switch {
		case k == "job.autoscaler.scaling.key-group.partitions.adjust.mode" || k == "job.autoscaler.scaling.parallelism-alignment.mode":
			modes := legacyModes
			if k == "job.autoscaler.scaling.parallelism-alignment.mode" {
				modes = mainModes
			}
			a, ok := modes[strings.ToUpper(v)]
			if !ok {
				errs = append(errs, fmt.Errorf("%s %q: the baseline knows %s", k, v, strings.Join(slices.Sorted(maps.Keys(modes)), ", ")))
			}
			f.Alignment = a
		case durations[k] != nil:
			d, err := flinkDuration(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s %q: %w", k, v, err))
			}
			*durations[k] = d
		case floats[k] != nil:
			x, err := strconv.ParseFloat(v, 64)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s %q: %w", k, v, err))
			}
			*floats[k] = x
		case ints[k] != nil:
			n, err := strconv.Atoi(v)
			if err != nil {
				errs = append(errs, fmt.Errorf("%s %q: %w", k, v, err))
			}
			*ints[k] = n
		case k == flinkautoscaler.Enabled.Key, strings.HasPrefix(k, "autoscaler.standalone."):
		default:
			errs = append(errs, fmt.Errorf("%s: our flink-operator baseline has no counterpart for this option", k))
		}
	}
	return f, errors.Join(errs...)
}

// flinkDuration parses a duration as the peer's options are written: Go
// syntax ("300000ms", "5m0s"), or a bare number of milliseconds as Flink
// reads it.
func flinkDuration(s string) (time.Duration, error) {
	if ms, err := strconv.ParseInt(strings.TrimSpace(s), 10, 64); err == nil {
		return time.Duration(ms) * time.Millisecond, nil
	}
	return time.ParseDuration(strings.ReplaceAll(s, " ", ""))
}

// Move is one rescale: the original's (a PUT of resource requirements) or
// the baseline's (a decision it would have made).
type Move struct {
	// At is the time since the run's start.
	At time.Duration `json:"at"`
	// Targets is every vertex's target parallelism, by vertex id.
	Targets map[string]int `json:"targets"`
	// Changes names the vertices whose parallelism changes, in job order
	// ("tokenizer 2→5, counter 4→8").
	Changes string `json:"changes"`
	// Answer is the JobManager's answer to the original's PUT.
	Answer string `json:"answer,omitempty"`
	// Report is the original's scaling report logged last before its PUT
	// (per vertex: parallelism, processing capacity, target data rate),
	// vertex ids replaced by names; the baseline's per-vertex reasons.
	Report string `json:"report,omitempty"`
	// Matched: a move of the other side has the same targets within
	// MatchTolerance.
	Matched bool `json:"matched"`
}

// BaselineCheck compares the original's rescales with our baseline's
// decisions on the same metric stream.
type BaselineCheck struct {
	// Options is the baseline's configuration, mapped from the peer's.
	Options string `json:"options"`
	// Snapshots is how many snapshots the baseline read.
	Snapshots int `json:"snapshots"`
	// lastReport is the original's latest scaling report, not yet paired
	// with a PUT.
	lastReport string
	Original   []Move `json:"original"`
	Baseline   []Move `json:"baseline"`
	// Errors counts snapshots the shadow could not read; LastError is
	// the latest reason.
	Errors    int    `json:"errors,omitempty"`
	LastError string `json:"lastError,omitempty"`
}

// Matched counts the original's rescales the baseline matched.
func (b *BaselineCheck) Matched() int {
	n := 0
	for _, m := range b.Original {
		if m.Matched {
			n++
		}
	}
	return n
}

// match pairs each of the original's rescales, in time order, with the
// first unpaired baseline decision with the same targets within
// MatchTolerance.
func (b *BaselineCheck) match() {
	for i := range b.Original {
		o := &b.Original[i]
		for j := range b.Baseline {
			m := &b.Baseline[j]
			if !m.Matched && (o.At-m.At).Abs() <= MatchTolerance && maps.Equal(o.Targets, m.Targets) {
				o.Matched, m.Matched = true, true
				break
			}
		}
	}
}

// baselineRow is one move of either side, for the text and the report.
type baselineRow struct {
	at                       time.Duration
	At, Who, Changes, Detail string
	Matched                  bool
}

// rows lists both sides' moves in time order.
func (b *BaselineCheck) rows() []baselineRow {
	var rows []baselineRow
	for _, m := range b.Original {
		rows = append(rows, baselineRow{at: m.At, At: fmtElapsed(m.At), Who: "original", Changes: orNone(m.Changes) + " (" + m.Answer + ")", Detail: m.Report, Matched: m.Matched})
	}
	for _, m := range b.Baseline {
		rows = append(rows, baselineRow{at: m.At, At: fmtElapsed(m.At), Who: "baseline", Changes: orNone(m.Changes), Detail: m.Report, Matched: m.Matched})
	}
	slices.SortStableFunc(rows, func(a, b baselineRow) int { return int(a.at - b.at) })
	return rows
}

// Print writes the check in a few lines.
func (b *BaselineCheck) Print(w io.Writer) {
	fmt.Fprintf(w, "our flink-operator baseline on the original's metric stream (%d snapshots, never acting; %s):\n", b.Snapshots, b.Options)
	fmt.Fprintf(w, "  %d of %d rescales of the original matched by the baseline (same target for every vertex, within %s); %d baseline decisions in all\n",
		b.Matched(), len(b.Original), MatchTolerance, len(b.Baseline))
	for _, r := range b.rows() {
		fmt.Fprintf(w, "  %8s  %-8s  %s%s\n", r.At, r.Who, r.Changes, matchMark(r.Matched))
		if r.Detail != "" {
			fmt.Fprintf(w, "              %s\n", r.Detail)
		}
	}
	if b.Errors > 0 {
		fmt.Fprintf(w, "  %d snapshots unreadable, last: %s\n", b.Errors, b.LastError)
	}
}

func matchMark(ok bool) string {
	if ok {
		return "  [matched]"
	}
	return "  [unmatched]"
}

func orNone(s string) string {
	if s == "" {
		return "no vertex changes"
	}
	return s
}

// shadow runs the baseline beside the peer.
type shadow struct {
	pol    policy.FlinkOperator
	cfg    policy.Config
	client *flink.Client
	jobID  string
	start  time.Time
	state  policy.State
	last   *events.Snapshot
	// orig is the original's latest accepted rescale until a snapshot
	// shows its targets.
	orig  *policy.Rescale
	check BaselineCheck
	rec   *json.Encoder // nil: not recording
}

// Recording lines (JSON lines): one "run" header, then "snapshot" and
// "rescale" lines in the order they happened.
type recordLine struct {
	Kind string `json:"kind"`
	// run: Run is whose run it is, PolicyOurs for Config.RecordOurs
	// (empty: the peer's, as recordings before session 20 are).
	Run      string            `json:"of,omitempty"`
	Scenario string            `json:"scenario,omitempty"`
	Engine   string            `json:"engine,omitempty"`
	Timing   string            `json:"timing,omitempty"`
	Start    time.Time         `json:"start,omitzero"`
	Options  map[string]string `json:"options,omitempty"`
	Policy   *policy.Config    `json:"policyConfig,omitempty"`
	// snapshot
	Snapshot *events.Snapshot `json:"snapshot,omitempty"`
	// rescale
	At      time.Time      `json:"at,omitzero"`
	Targets map[string]int `json:"targets,omitempty"`
	Status  int            `json:"status,omitempty"`
	Error   string         `json:"error,omitempty"`
	// report; decision (ours): Line is its rationale, AtSeconds when
	// (job time), Targets the parallelism it set by vertex name
	Line      string  `json:"line,omitempty"`
	AtSeconds float64 `json:"atSeconds,omitempty"`
}

// newShadow returns the baseline shadowing the peer on the cluster at url,
// configured from the peer's options; rec, if set, receives the recording.
func newShadow(sc *flinksim.Scenario, options map[string]string, url, jobID string, start time.Time, rec io.Writer, hdr recordLine) (*shadow, error) {
	pol, err := baselineFor(options)
	if err != nil {
		return nil, err
	}
	client, err := flink.New(url, flink.Options{Timeout: shadowEvery / 2})
	if err != nil {
		return nil, err
	}
	cfg := bench.ConfigFor(sc)
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	s := &shadow{pol: pol, cfg: cfg, client: client, jobID: jobID, start: start}
	s.check.Options = describeBaseline(pol)
	if rec != nil {
		s.rec = json.NewEncoder(rec)
		hdr.Kind, hdr.Start, hdr.Options, hdr.Policy = "run", start, options, &cfg
		if err := s.rec.Encode(hdr); err != nil {
			return nil, fmt.Errorf("record: %w", err)
		}
	}
	return s, nil
}

func describeBaseline(f policy.FlinkOperator) string {
	return fmt.Sprintf("target %g±%g, stabilization %s, window %s, catch-up %s, restart %s, scale-down interval %s",
		f.Target, f.Boundary, f.Stabilization, f.Window, f.CatchUp, f.Restart, f.ScaleDownInterval)
}

// poll reads one snapshot at now and lets the baseline decide on it.
func (s *shadow) poll(ctx context.Context, now time.Time) error {
	snap, err := ingest.PollJob(ctx, s.client, "compare", s.jobID, now)
	if err != nil {
		return err
	}
	if s.rec != nil {
		if err := s.rec.Encode(recordLine{Kind: "snapshot", Snapshot: &snap}); err != nil {
			return fmt.Errorf("record: %w", err)
		}
	}
	s.decide(snap)
	return nil
}

// decide feeds one snapshot to the baseline, as decide would.
func (s *shadow) decide(snap events.Snapshot) {
	s.check.Snapshots++
	out := s.pol.Decide(policy.Input{
		Snapshot: snap, SnapshotID: fmt.Sprintf("shadow-%d", s.check.Snapshots),
		State: s.state, Config: s.cfg, Now: snap.ObservedAt,
	})
	s.state = out.NewState
	s.last = &snap
	defer s.adopt()
	if s.orig != nil && runsAt(snap, s.orig.Targets) {
		s.orig = nil
	}
	if d := out.Decision; d != nil {
		m := Move{At: d.DecidedAt.Sub(s.start), Targets: map[string]int{}}
		var parts, reasons []string
		for _, v := range d.Vertices {
			m.Targets[v.ID] = v.Target
			if v.Target != v.Current {
				parts = append(parts, fmt.Sprintf("%s %d→%d", v.Name, v.Current, v.Target))
			}
			reasons = append(reasons, v.Reason)
		}
		m.Changes, m.Report = strings.Join(parts, ", "), strings.Join(reasons, "; ")
		s.check.Baseline = append(s.check.Baseline, m)
	}
}

// report is one scaling report the original logged.
type report struct {
	at   time.Time
	line string
}

// report notes the original's scaling report (logged before its PUT).
func (s *shadow) report(at time.Time, line string) error {
	if s.rec != nil {
		if err := s.rec.Encode(recordLine{Kind: "report", At: at, Line: line}); err != nil {
			return fmt.Errorf("record: %w", err)
		}
	}
	s.check.lastReport = line
	return nil
}

// rescale notes one of the original's rescales.
func (s *shadow) rescale(rs flinkautoscaler.Rescale) error {
	if s.rec != nil {
		if err := s.rec.Encode(recordLine{Kind: "rescale", At: rs.At, Targets: rs.Targets, Status: rs.Status, Error: rs.Error}); err != nil {
			return fmt.Errorf("record: %w", err)
		}
	}
	s.original(rs)
	return nil
}

// adopt: while the original's accepted rescale is in flight on the
// cluster, it replaces a different decision of the baseline not yet shown
// (which never would), so the baseline takes the original's targets as
// its own in flight: it does not decide them again, and decides anew
// when its targets differ, as the original's loop does. A baseline that
// decided nothing is left alone: it decides on the same snapshots as if
// the original had not acted, until the job restarts.
func (s *shadow) adopt() {
	o, rs := s.orig, s.state.Rescale
	if o == nil || rs == nil || !rs.Applied.IsZero() || maps.Equal(rs.Targets, o.Targets) {
		return
	}
	c := *o
	s.state.Rescale = &c
}

// runsAt reports whether every vertex of snap runs at its target.
func runsAt(snap events.Snapshot, targets map[string]int) bool {
	for _, v := range snap.Vertices {
		if t, ok := targets[v.ID]; ok && v.Parallelism != t {
			return false
		}
	}
	return true
}

// original notes one of the original's rescales (see adopt).
func (s *shadow) original(rs flinkautoscaler.Rescale) {
	at, targets := rs.At, rs.Targets
	m := Move{At: at.Sub(s.start), Targets: maps.Clone(targets), Answer: answer(rs), Report: s.names(s.check.lastReport)}
	s.check.lastReport = ""
	if rs.Status == http.StatusOK {
		s.orig = &policy.Rescale{DecisionID: "original-" + fmt.Sprint(len(s.check.Original)+1), At: at, Targets: maps.Clone(targets)}
		s.adopt()
	}
	if s.last != nil {
		var parts []string
		for _, v := range s.last.Vertices {
			if t, ok := targets[v.ID]; ok && t != v.Parallelism {
				parts = append(parts, fmt.Sprintf("%s %d→%d", orDash(v.Name), v.Parallelism, t))
			}
		}
		m.Changes = strings.Join(parts, ", ")
	}
	s.check.Original = append(s.check.Original, m)
}

// names shortens a scaling report to its message, vertex ids replaced by
// the names of the latest snapshot.
func (s *shadow) names(line string) string {
	if i := strings.Index(line, "message : "); i >= 0 {
		line = line[i+len("message : "):]
	}
	if s.last != nil {
		for _, v := range s.last.Vertices {
			line = strings.ReplaceAll(line, v.ID, orDash(v.Name))
		}
	}
	return strings.TrimSpace(line)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}

// result matches the moves and returns the check.
func (s *shadow) result() *BaselineCheck {
	s.check.match()
	c := s.check
	return &c
}

// ReplayRecording feeds a recording (Config.Record) to our flink-operator
// baseline, configured from the recorded peer options and policy
// configuration, and returns the check, as the run's shadow made it.
func ReplayRecording(r io.Reader) (*BaselineCheck, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
	var s *shadow
	for n := 1; sc.Scan(); n++ {
		var l recordLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("recording line %d: %w", n, err)
		}
		switch {
		case l.Kind == "run" && s == nil && l.Run == PolicyOurs:
			return nil, fmt.Errorf("recording line %d: a recording of ours' run (--record-ours): ReplayOurs replays it", n)
		case l.Kind == "run" && s == nil:
			pol, err := baselineFor(l.Options)
			if err != nil {
				return nil, fmt.Errorf("recording line %d: %w", n, err)
			}
			// Fields the recording predates keep today's defaults.
			cfg := policy.Defaults()
			if l.Policy != nil {
				raw, _ := json.Marshal(l.Policy) // a decoded config always marshals
				if err := json.Unmarshal(raw, &cfg); err != nil {
					return nil, fmt.Errorf("recording line %d: %w", n, err)
				}
			}
			if err := cfg.Validate(); err != nil {
				return nil, fmt.Errorf("recording line %d: policy configuration: %w", n, err)
			}
			s = &shadow{pol: pol, cfg: cfg, start: l.Start}
			s.check.Options = describeBaseline(pol)
		case s == nil:
			return nil, fmt.Errorf("recording line %d: %q before the run header", n, l.Kind)
		case l.Kind == "snapshot" && l.Snapshot != nil:
			s.decide(*l.Snapshot)
		case l.Kind == "report":
			s.check.lastReport = l.Line
		case l.Kind == "rescale":
			s.original(flinkautoscaler.Rescale{At: l.At, Targets: l.Targets, Status: l.Status, Error: l.Error})
		default:
			return nil, fmt.Errorf("recording line %d: unknown kind %q", n, l.Kind)
		}
	}
	if err := sc.Err(); err != nil {
		return nil, err
	}
	if s == nil {
		return nil, errors.New("empty recording: no run header")
	}
	return s.result(), nil
}
