package demo

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/nats-io/nats.go"

	"github.com/flinkscaler/flinkscaler/functions/actuate/actuator"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
	"github.com/flinkscaler/flinkscaler/internal/scorecard"
)

// Decision is one decision of the run with what became of it.
type Decision struct {
	Elapsed   time.Duration `json:"-"`
	At        float64       `json:"atSeconds"` // simulated seconds since the start
	ID        string        `json:"decisionId"`
	Changes   string        `json:"changes"`
	Rationale string        `json:"rationale"`
	// Outcome is the actuation's (applied, skipped, failed, partial), empty
	// if no result arrived before the run ended; Detail says why it did not
	// apply.
	Outcome string `json:"outcome,omitempty"`
	Detail  string `json:"detail,omitempty"`
	// TimedOut: the actuation failed because a wait ran out (slots or
	// parallelism never arrived).
	TimedOut bool `json:"timedOut,omitempty"`
	// Steps are the actuation's steps as its result lists them (each
	// one's detail and duration on the emulator's clock).
	Steps []events.Step `json:"steps,omitempty"`
}

// recording is the run's shared state: the emulator's loop feeds ground
// truth, the NATS subscription feeds decisions and results. Every method
// takes mu; the scorecard and the progress writer are used only under it.
type recording struct {
	mu        sync.Mutex
	start     time.Time // simulated time at elapsed 0
	clock     func() time.Duration
	card      *scorecard.Recorder
	progress  progress
	decisions []Decision
	byID      map[string]int
	last      flinksim.GroundTruth
	rejected  int
	over      bool // set by end (the run's last instant) and outcome: later messages are ignored
}

// newRecording starts the recording of the system's cluster: the
// emulator's clock, or an external cluster's as its ground truth tells.
func (s *system) newRecording(ctx context.Context, cfg Config, p progress) (*recording, error) {
	r := &recording{card: scorecard.New(cfg.Scenario), progress: p, byID: map[string]int{}}
	if c := s.cluster; c != nil {
		r.start, r.clock = c.Now().Add(-c.Elapsed()), c.Elapsed
		return r, nil
	}
	gt, err := s.external.Truth(ctx)
	if err != nil {
		return nil, fmt.Errorf("%w: the cluster's ground truth: %w", ErrStart, err)
	}
	r.start = gt.Time.Add(-gt.Elapsed)
	r.clock = func() time.Duration { return time.Since(r.start) }
	return r, nil
}

// observe records one instant of ground truth; last marks the final one.
func (r *recording) observe(gt flinksim.GroundTruth, last bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.card.Observe(gt)
	r.progress.observe(gt, last)
	r.last = gt
	r.last.Vertices = append([]flinksim.VertexTruth(nil), gt.Vertices...)
}

// onMessage handles a decision or result event seen on NATS. Rejected
// events are counted; anything else is ignored.
func (r *recording) onMessage(msg *nats.Msg) {
	ev, err := events.Decode(msg)
	if err != nil {
		return // not ours to judge: the functions reject bad input themselves
	}
	switch ev.Type() {
	case events.TypeDecision:
		if d, err := events.Data[events.Decision](ev); err == nil && d.Cluster == Cluster {
			r.decision(d)
		}
	case events.TypeResult:
		if res, err := events.Data[events.Result](ev); err == nil && res.Cluster == Cluster {
			r.result(res)
		}
	case events.TypeRejected:
		r.mu.Lock()
		r.rejected++
		r.mu.Unlock()
	}
}

func (r *recording) decision(d events.Decision) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, seen := r.byID[d.DecisionID]; seen || r.over {
		return // a republished decision (decide's outbox replay)
	}
	at := d.DecidedAt.Sub(r.start)
	r.card.Decision(d.DecidedAt, d)
	r.byID[d.DecisionID] = len(r.decisions)
	r.decisions = append(r.decisions, Decision{
		Elapsed: at, At: at.Seconds(), ID: d.DecisionID, Changes: changes(d), Rationale: d.Rationale,
	})
	r.progress.decision(at, d)
}

func (r *recording) result(res events.Result) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.over {
		return
	}
	if i, ok := r.byID[res.DecisionID]; ok {
		r.decisions[i].Outcome, r.decisions[i].Detail = res.Outcome, resultDetail(res)
		r.decisions[i].TimedOut = actuator.TimedOut(res)
		r.decisions[i].Steps = res.Steps
	}
	r.progress.result(r.clock(), res)
}

// end closes the recording to decisions and results: those published
// after the run's last instant (while the functions stop) are not the
// run's.
func (r *recording) end() {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.over = true
}

// outcome prints the final instant and returns what was recorded. Messages
// arriving later are ignored, so the Outcome is not changed under its
// reader.
func (r *recording) outcome(cfg Config, ep Endpoints) *Outcome {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.over = true
	r.progress.observe(r.last, true)
	return &Outcome{
		Scenario: cfg.Scenario, Speed: cfg.Speed, Endpoints: ep, Simulated: r.last.Elapsed,
		Card: r.card.Summary(), Series: r.card.Series(), Decisions: r.decisions,
		Rejected: r.rejected, Final: r.last,
	}
}

// Actuations counts the decisions whose actuation failed (outcome failed
// or partial), those of them that failed because a wait ran out, and keeps
// the first few failures' messages. A decision without a result by the end
// of the run is not counted.
func (o *Outcome) Actuations() (failed, timedOut int, errs []string) {
	for _, d := range o.Decisions {
		if d.Outcome != events.OutcomeFailed && d.Outcome != events.OutcomePartial {
			continue
		}
		failed++
		if d.TimedOut {
			timedOut++
		}
		if len(errs) < 5 {
			errs = append(errs, d.Detail)
		}
	}
	return failed, timedOut, errs
}
