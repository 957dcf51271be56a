package ingest

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/discovery"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flink"
)

// Function is the function name in event sources and logs.
const Function = "metrics-ingest"

// SnapshotPublisher sends one snapshot event.
type SnapshotPublisher interface {
	PublishSnapshot(ctx context.Context, s events.Snapshot) error
}

// JetStreamPublisher publishes snapshots as io.flinkscaler.job.snapshot.v1
// CloudEvents on flinkscaler.snapshot.<cluster>.<job>.
type JetStreamPublisher struct {
	JS       events.Publisher
	Attempts int // tries per event; at least 1
}

var _ SnapshotPublisher = JetStreamPublisher{}

// PublishSnapshot implements SnapshotPublisher. It blocks until JetStream
// acknowledges the event, trying Attempts times; every try carries the same
// event id (Nats-Msg-Id), so a retry of a publish whose ack was lost is
// stored once.
func (p JetStreamPublisher) PublishSnapshot(ctx context.Context, s events.Snapshot) error {
	ev, err := events.New(events.TypeSnapshot, Function, s.Cluster, s.JobID, s)
	if err != nil {
		return err
	}
	for range max(p.Attempts, 1) {
		if err = events.Publish(ctx, p.JS, ev); err == nil || ctx.Err() != nil {
			return err
		}
	}
	return err
}

// Deps are the collaborators of a Service. Publisher is required; Members
// defaults to this replica alone, Telemetry to a fresh one, Logger to
// slog.Default, Now to time.Now.
type Deps struct {
	Publisher SnapshotPublisher
	Members   Membership
	Telemetry *Telemetry
	Logger    *slog.Logger
	Now       func() time.Time
	// Discovered, when set, adds its clusters to the configured targets,
	// looked up at the start of every cycle.
	Discovered interface{ Targets() []discovery.Target }
}

// Service polls the targets' JobManagers and publishes one snapshot per
// owned job per interval.
type Service struct {
	cfg     Config
	targets []*target
	members Membership
	pub     SnapshotPublisher
	tel     *Telemetry
	log     *slog.Logger
	now     func() time.Time
	self    string
	last    []string // last member list read, used when the read fails
	found   interface{ Targets() []discovery.Target }
	static  int // the first static targets are configured; the rest discovered
}

// target is one JobManager with its client and job tracker. failing is
// set while listing its jobs fails (its failure is logged once); slots
// keeps its slots per TaskManager between cycles.
type target struct {
	Target
	client  jobReader
	tracker *tracker
	failing bool
	slots   slotsCache
}

// NewService builds a service for a validated cfg; it does no I/O.
func NewService(cfg Config, d Deps) (*Service, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if d.Publisher == nil {
		return nil, fmt.Errorf("%w: no publisher", ErrConfig)
	}
	s := &Service{cfg: cfg, pub: d.Publisher, members: d.Members, tel: d.Telemetry, log: d.Logger, now: d.Now, self: cfg.Replica}
	if s.self == "" {
		s.self = "self"
	}
	if s.members == nil {
		s.members = StaticMembers{s.self}
	}
	if s.tel == nil {
		s.tel = NewTelemetry(cfg.Interval)
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.now == nil {
		s.now = time.Now
	}
	for i, t := range cfg.Targets {
		opts, err := cfg.clientOptions(t)
		if err != nil {
			return nil, fmt.Errorf("targets[%d]: %w", i, err)
		}
		c, err := flink.New(t.URL, opts)
		if err != nil {
			return nil, fmt.Errorf("targets[%d]: %w", i, err)
		}
		s.targets = append(s.targets, &target{Target: t, client: c, tracker: newTracker(t.Jobs)})
	}
	s.static, s.found = len(s.targets), d.Discovered
	return s, nil
}

// Run polls every interval until ctx is done, then returns nil. A cycle is
// bounded by the interval, so cycles never overlap.
func (s *Service) Run(ctx context.Context) error {
	tick := time.NewTicker(s.cfg.Interval)
	defer tick.Stop()
	for {
		s.Cycle(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// CycleReport counts what one cycle did.
type CycleReport struct {
	Polled, Published, Incomplete, Failed, Gone int
}

// Cycle runs one poll over every owned job and returns when all are done
// or the interval has passed.
func (s *Service) Cycle(ctx context.Context) CycleReport {
	start := time.Now()
	ctx, cancel := context.WithTimeout(ctx, s.cfg.Interval)
	defer cancel()
	members := s.liveMembers(ctx)
	s.refreshTargets()
	work := s.discover(ctx, members)
	rep := s.pollAll(ctx, work)
	s.tel.cycleDone(time.Since(start))
	s.log.Debug("cycle done", "members", len(members), "polled", rep.Polled, "published", rep.Published,
		"failed", rep.Failed, "duration", time.Since(start))
	return rep
}

func (s *Service) liveMembers(ctx context.Context) []string {
	m, err := s.members.Members(ctx)
	if err != nil || len(m) == 0 {
		if err != nil {
			s.log.Warn("members unavailable, keeping the last list", "error", err)
		}
		if s.last == nil {
			return []string{s.self}
		}
		return s.last
	}
	s.last = m
	return m
}

// job is one poll of one cycle.
type job struct {
	t     *target
	item  pollItem
	ov    *flink.Overview
	slots taskManagerSlots
}

// discover lists each target's jobs and plans this replica's polls.
func (s *Service) discover(ctx context.Context, members []string) []job {
	var mu sync.Mutex
	var work []job
	var wg sync.WaitGroup
	for _, t := range s.targets {
		wg.Go(func() {
			items, ov := s.discoverTarget(ctx, t, members)
			var slots taskManagerSlots
			if len(items) > 0 {
				slots = t.slots.get(ctx, t.client, s.retrier(t.Cluster), ov)
			}
			mu.Lock()
			defer mu.Unlock()
			for _, it := range items {
				work = append(work, job{t: t, item: it, ov: ov, slots: slots})
			}
		})
	}
	wg.Wait()
	return work
}

func (s *Service) discoverTarget(ctx context.Context, t *target, members []string) ([]pollItem, *flink.Overview) {
	r := s.retrier(t.Cluster)
	var jobs []flink.JobOverview
	err := r.do(ctx, func(ctx context.Context) error {
		var err error
		jobs, err = t.client.JobsOverview(ctx)
		return err
	})
	s.tel.target(t.Cluster, err)
	if err != nil {
		s.targetFailed(t, err)
		return nil, nil
	}
	s.targetOK(t)
	var ov *flink.Overview
	if err := r.do(ctx, func(ctx context.Context) error {
		o, err := t.client.Overview(ctx)
		ov = &o
		return err
	}); err != nil {
		ov = nil
		s.log.Warn("cluster overview unavailable; snapshots will be incomplete", "cluster", t.Cluster, "error", err)
	}
	owned := func(jobID string) bool { return owner(members, assignKey(t.Cluster, jobID)) == s.self }
	items := t.tracker.plan(jobs, owned)
	s.tel.jobs.WithLabelValues(t.Cluster).Set(float64(t.tracker.jobs()))
	return items, ov
}

// targetFailed records that t's jobs could not be listed. The first
// failure of a run is logged at Error with what it suggests (a URL that
// answers but not as Flink's REST API is "not a JobManager?"); repeats are
// logged at Debug until the target recovers, so a wrong URL is one clear
// line, not a warning every interval.
func (s *Service) targetFailed(t *target, err error) {
	log := s.log.With("cluster", t.Cluster, "url", t.URL, "reason", flink.ErrorKind(err), "error", err)
	if t.failing {
		log.Debug("cannot list jobs; still failing")
		return
	}
	t.failing = true
	if errors.Is(err, flink.ErrNotFound) || errors.Is(err, flink.ErrMalformed) || notHTTP(err) {
		log.Error("GET /jobs/overview did not answer as Flink's REST API: is this the URL of a Flink JobManager (its REST port, usually 8081)? retrying every interval")
		return
	}
	log.Warn("cannot list jobs; retrying every interval (logged again when it recovers)")
}

// targetOK records that t answered; a recovery is logged.
func (s *Service) targetOK(t *target) {
	if t.failing {
		t.failing = false
		s.log.Info("JobManager answers again", "cluster", t.Cluster)
	}
}

// notHTTP reports an error of a server that does not speak HTTP.
func notHTTP(err error) bool {
	return strings.Contains(err.Error(), "malformed HTTP")
}

func (s *Service) retrier(cluster string) retrier {
	return retrier{attempts: s.cfg.Attempts, backoff: s.cfg.Backoff, onError: func(kind string) {
		s.tel.errors.WithLabelValues(cluster, kind).Inc()
	}}
}

// pollAll polls the work with at most cfg.Concurrency jobs at once.
func (s *Service) pollAll(ctx context.Context, work []job) CycleReport {
	var mu sync.Mutex
	var rep CycleReport
	sem := make(chan struct{}, s.cfg.Concurrency)
	var wg sync.WaitGroup
	for _, j := range work {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			outcome := s.pollJob(ctx, j)
			mu.Lock()
			defer mu.Unlock()
			rep.add(outcome)
		})
	}
	wg.Wait()
	return rep
}

// Poll outcomes, as counted in flinkscaler_ingest_polls_total.
const (
	outcomeOK         = "ok"
	outcomeIncomplete = "incomplete"
	outcomeFailed     = "failed"
	outcomeGone       = "gone"
)

func (r *CycleReport) add(outcome string) {
	r.Polled++
	switch outcome {
	case outcomeOK:
		r.Published++
	case outcomeIncomplete:
		r.Published++
		r.Incomplete++
	case outcomeGone:
		r.Gone++
	default:
		r.Failed++
	}
}

// pollJob reads, builds and publishes one job's snapshot; it returns the
// outcome, having logged and counted it.
func (s *Service) pollJob(ctx context.Context, j job) string {
	start := time.Now()
	log := s.log.With("cluster", j.t.Cluster, "job_id", j.item.JobID)
	outcome := s.pollJobOutcome(ctx, j, log)
	s.tel.duration.WithLabelValues(j.t.Cluster).Observe(time.Since(start).Seconds())
	s.tel.polls.WithLabelValues(j.t.Cluster, outcome).Inc()
	return outcome
}

func (s *Service) pollJobOutcome(ctx context.Context, j job, log *slog.Logger) string {
	data, err := collectJob(ctx, j.t.client, s.retrier(j.t.Cluster), j.t.Cluster, j.item.JobID, j.ov, s.now)
	data.TaskManagerSlots = j.slots
	switch {
	case errors.Is(err, flink.ErrNotFound) && j.item.Final:
		log.Info("job gone from the JobManager; no final state to report", "reason", "not_found")
		return outcomeGone
	case err != nil:
		log.Warn("poll failed; retrying next interval", "reason", flink.ErrorKind(err), "error", err)
		return outcomeFailed
	}
	snap := buildSnapshot(data)
	if err := s.pub.PublishSnapshot(ctx, snap); err != nil {
		s.tel.errors.WithLabelValues(j.t.Cluster, "publish").Inc()
		log.Warn("publish failed; next interval brings a fresh snapshot", "reason", "publish", "error", err)
		return outcomeFailed
	}
	s.tel.published.WithLabelValues(j.t.Cluster, fmt.Sprint(snap.Complete)).Inc()
	if j.item.Final {
		log.Info("final snapshot published", "state", snap.JobState)
	}
	if !snap.Complete {
		log.Debug("incomplete snapshot published", "state", snap.JobState, "incomplete", snap.Incomplete)
		return outcomeIncomplete
	}
	return outcomeOK
}

// refreshTargets keeps the configured targets and replaces the discovered
// ones with what discovery knows now; a cluster already polled keeps its
// client and job tracker. Configured clusters win over discovered ones.
func (s *Service) refreshTargets() {
	if s.found == nil {
		return
	}
	known := map[string]*target{}
	for _, t := range s.targets[s.static:] {
		known[t.Cluster+" "+t.URL] = t
	}
	configured := map[string]bool{}
	for _, t := range s.targets[:s.static] {
		configured[t.Cluster] = true
	}
	next := s.targets[:s.static:s.static]
	for _, d := range s.found.Targets() {
		if configured[d.Cluster] {
			continue
		}
		if t, ok := known[d.Cluster+" "+d.URL]; ok {
			next = append(next, t)
			continue
		}
		tg := Target{Cluster: d.Cluster, URL: d.URL}
		opts, err := s.cfg.clientOptions(tg)
		if err == nil {
			var c *flink.Client
			if c, err = flink.New(tg.URL, opts); err == nil {
				next = append(next, &target{Target: tg, client: c, tracker: newTracker(nil)})
				continue
			}
		}
		s.log.Warn("cannot poll a discovered cluster", "cluster", d.Cluster, "url", d.URL, "reason", err.Error())
	}
	s.targets = next
}
