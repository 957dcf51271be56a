package events

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"sync/atomic"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// MaxMessageSize is the largest message a runner accepts (and the stream
// stores); larger messages are rejected.
const MaxMessageSize = 1 << 20

// rejectedBodyLimit bounds the copy of a rejected message's body.
const rejectedBodyLimit = 4 << 10

// Handler processes one event and returns the events to publish. An error
// wrapping ErrInvalid rejects the input for good; any other error is
// transient and the input is redelivered with backoff.
type Handler func(ctx context.Context, ev cloudevents.Event) ([]cloudevents.Event, error)

// RunnerConfig binds a Handler to a durable consumer on the FLINKSCALER
// stream. Zero fields take defaults.
type RunnerConfig struct {
	// Function names the function in rejected events and logs.
	Function string
	// Durable is the durable consumer name; replicas sharing it share work.
	Durable string
	// FilterSubjects selects the events consumed.
	FilterSubjects []string
	// MaxMessageSize rejects larger messages (default MaxMessageSize).
	MaxMessageSize int
	// MaxDeliver bounds deliveries of one message (default 8); after the last
	// transient failure the message is rejected with the error.
	MaxDeliver int
	// Backoff is the redelivery delay after the n-th transient failure; the
	// last entry repeats (default 1s, 2s, 5s, 10s, 30s).
	Backoff []time.Duration
	// AckWait is how long the server waits for an ack before redelivering
	// (default 30 s); a long handler keeps it alive with progress acks.
	AckWait time.Duration
	// Concurrency is how many messages are handled at once (default 4).
	// Messages on one subject (one job) always go to the same lane, so they
	// are handled one at a time and in order.
	Concurrency int
	// DrainTimeout bounds how long in-flight work may finish after the
	// run context ends (default 10 s).
	DrainTimeout time.Duration
	// Logger receives one line per rejection and retry (default discards).
	Logger *slog.Logger
	// LatestOnly lists filter subjects (wildcards allowed) whose messages
	// are handled only while they are the newest on their subject: after a
	// start or an outage, a backlog of a job's snapshots is skipped to the
	// newest one instead of acted on in turn. A skipped message is acked
	// and counted as superseded.
	LatestOnly []string
	// StartAt is where a durable created by this runner starts; an
	// existing durable keeps its own.
	StartAt Start
	// SetupWait bounds how long setting up the consumer is tried again
	// while JetStream does not answer in time or is not ready
	// (Transient; default 1 min).
	SetupWait time.Duration
}

// Start says where a new durable consumer starts in the stream.
type Start int

const (
	// StartLastPerSubject (the default) delivers the newest stored message
	// of each subject (each job's latest snapshot or decision), then new
	// ones: a first start acts on the present, not on the stream's history.
	StartLastPerSubject Start = iota
	// StartNew delivers only messages stored after the durable is created.
	StartNew
	// StartAll delivers the whole stream.
	StartAll
)

// deliverPolicy is s as JetStream's deliver policy.
func (s Start) deliverPolicy() jetstream.DeliverPolicy {
	switch s {
	case StartNew:
		return jetstream.DeliverNewPolicy
	case StartAll:
		return jetstream.DeliverAllPolicy
	}
	return jetstream.DeliverLastPerSubjectPolicy
}

func (c RunnerConfig) withDefaults() RunnerConfig {
	if c.MaxMessageSize <= 0 {
		c.MaxMessageSize = MaxMessageSize
	}
	if c.MaxDeliver <= 0 {
		c.MaxDeliver = 8
	}
	if len(c.Backoff) == 0 {
		c.Backoff = []time.Duration{time.Second, 2 * time.Second, 5 * time.Second, 10 * time.Second, 30 * time.Second}
	}
	if c.AckWait <= 0 {
		c.AckWait = 30 * time.Second
	}
	if c.Concurrency <= 0 {
		c.Concurrency = 4
	}
	if c.DrainTimeout <= 0 {
		c.DrainTimeout = 10 * time.Second
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	if c.SetupWait <= 0 {
		c.SetupWait = time.Minute
	}
	return c
}

// publishTimeout bounds publishing a handler's events.
const publishTimeout = 10 * time.Second

// RunnerStats counts what a runner did.
type RunnerStats struct {
	Handled, Published, Rejected, Retried, AckErrors, Superseded uint64
}

// Runner consumes one durable consumer and runs a Handler per message.
type Runner struct {
	js       jetstream.JetStream
	cfg      RunnerConfig
	handle   Handler
	log      *slog.Logger
	handled  atomic.Uint64
	publish  atomic.Uint64
	rejected atomic.Uint64
	retried  atomic.Uint64
	ackErrs  atomic.Uint64
	// supersededN counts messages skipped for a newer one (LatestOnly).
	supersededN atomic.Uint64
	stream      jetstream.Stream // for LatestOnly lookups
}

// NewRunner returns a runner for cfg; it creates nothing until Run.
func NewRunner(js jetstream.JetStream, cfg RunnerConfig, h Handler) (*Runner, error) {
	if !ValidToken(cfg.Function) || !ValidToken(cfg.Durable) || len(cfg.FilterSubjects) == 0 || h == nil {
		return nil, fmt.Errorf("runner: function %q, durable %q, %d filter subjects and a handler are required",
			cfg.Function, cfg.Durable, len(cfg.FilterSubjects))
	}
	cfg = cfg.withDefaults()
	return &Runner{js: js, cfg: cfg, handle: h, log: cfg.Logger}, nil
}

// Stats returns the counters so far.
func (r *Runner) Stats() RunnerStats {
	return RunnerStats{r.handled.Load(), r.publish.Load(), r.rejected.Load(), r.retried.Load(), r.ackErrs.Load(), r.supersededN.Load()}
}

// Run creates or updates the durable consumer and processes messages until
// ctx ends, Concurrency at a time in per-subject lanes. Then it stops
// fetching, lets the messages in hand finish (bounded by DrainTimeout, after
// which their handlers' context is cancelled) and returns. It returns an
// error only when the consumer cannot be set up.
func (r *Runner) Run(ctx context.Context) error {
	var cons jetstream.Consumer
	err := JetStreamNotReady(ctx, r.cfg.SetupWait).Retry(ctx, r.log.With("durable", r.cfg.Durable), func(ctx context.Context) error {
		var err error
		if cons, err = r.consumer(ctx); err != nil {
			return fmt.Errorf("consumer %s: %w", r.cfg.Durable, err)
		}
		if len(r.cfg.LatestOnly) > 0 {
			if r.stream, err = r.js.Stream(ctx, StreamName); err != nil {
				return fmt.Errorf("stream %s: %w", StreamName, err)
			}
		}
		return nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return nil // stopped while setting up: a clean stop
		}
		return err
	}
	work, stopWork := context.WithCancel(context.WithoutCancel(ctx))
	defer stopWork()
	lanes, wait := r.startLanes(work)
	cc, err := cons.Consume(func(m jetstream.Msg) { lanes[laneOf(m.Subject(), len(lanes))] <- m },
		jetstream.PullMaxMessages(256))
	if err != nil {
		closeLanes(lanes)
		wait()
		return fmt.Errorf("consume %s: %w", r.cfg.Durable, err)
	}
	<-ctx.Done()
	deadline := time.AfterFunc(r.cfg.DrainTimeout, stopWork)
	defer deadline.Stop()
	cc.Drain()
	<-cc.Closed()
	closeLanes(lanes)
	wait()
	return nil
}

// consumer creates or updates the durable. A new one starts at
// cfg.StartAt; an existing one keeps where it started (JetStream cannot
// change that), so a durable created by an older version goes on as it was.
func (r *Runner) consumer(ctx context.Context) (jetstream.Consumer, error) {
	cfg := jetstream.ConsumerConfig{
		Durable:        r.cfg.Durable,
		FilterSubjects: r.cfg.FilterSubjects,
		AckPolicy:      jetstream.AckExplicitPolicy,
		AckWait:        r.cfg.AckWait,
		MaxDeliver:     r.cfg.MaxDeliver,
		MaxAckPending:  1000,
		DeliverPolicy:  r.cfg.StartAt.deliverPolicy(),
	}
	existing, err := r.js.Consumer(ctx, StreamName, r.cfg.Durable)
	switch {
	case err == nil:
		info := existing.CachedInfo().Config
		cfg.DeliverPolicy, cfg.OptStartSeq, cfg.OptStartTime = info.DeliverPolicy, info.OptStartSeq, info.OptStartTime
	case !errors.Is(err, jetstream.ErrConsumerNotFound):
		return nil, err
	}
	return r.js.CreateOrUpdateConsumer(ctx, StreamName, cfg)
}

// startLanes starts one worker per lane; wait returns when every lane has
// been closed and emptied.
func (r *Runner) startLanes(ctx context.Context) ([]chan jetstream.Msg, func()) {
	lanes := make([]chan jetstream.Msg, r.cfg.Concurrency)
	var wg sync.WaitGroup
	for i := range lanes {
		lanes[i] = make(chan jetstream.Msg, 64)
		wg.Add(1)
		go func(in <-chan jetstream.Msg) {
			defer wg.Done()
			for m := range in {
				r.process(ctx, m)
			}
		}(lanes[i])
	}
	return lanes, wg.Wait
}

func closeLanes(lanes []chan jetstream.Msg) {
	for _, l := range lanes {
		close(l)
	}
}

// laneOf maps a subject to a lane (FNV-1a).
func laneOf(subject string, n int) int {
	h := uint32(2166136261)
	for i := 0; i < len(subject); i++ {
		h = (h ^ uint32(subject[i])) * 16777619
	}
	return int(h % uint32(n))
}

// process handles one message and settles it with exactly one of ack, nak
// or term.
func (r *Runner) process(ctx context.Context, m jetstream.Msg) {
	md, _ := m.Metadata() // nil for a message not from JetStream
	ev, hctx, err := r.decode(ctx, m)
	if err == nil && r.superseded(ctx, m, md) {
		// Valid but stale: a newer message on its subject is stored. An
		// invalid one is still rejected below, whatever its age.
		r.supersededN.Add(1)
		r.log.Debug("skipped: a newer message on its subject is stored", "subject", m.Subject())
		r.settle(m.Ack())
		return
	}
	if err == nil {
		var out []cloudevents.Event
		stop := r.keepAlive(m)
		out, err = r.handle(withDelivery(hctx, md), ev)
		stop()
		if err == nil {
			// Published even when the run is stopping: the work is done, and
			// its events must not be lost with the handler's context.
			pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), publishTimeout)
			err = r.publishAll(pctx, out)
			cancel()
		}
	}
	r.handled.Add(1)
	switch {
	case err == nil:
		r.settle(m.Ack())
	case errors.Is(err, ErrInvalid):
		r.reject(ctx, m, err.Error())
	default:
		r.retry(ctx, m, err)
	}
}

// decode reads m's CloudEvent and checks it against the contract; the
// context it returns carries the data the check decoded (WithChecked).
func (r *Runner) decode(ctx context.Context, m jetstream.Msg) (cloudevents.Event, context.Context, error) {
	if len(m.Data()) > r.cfg.MaxMessageSize {
		return cloudevents.Event{}, ctx, fmt.Errorf("%w: message of %d bytes exceeds the limit of %d", ErrInvalid, len(m.Data()), r.cfg.MaxMessageSize)
	}
	ev, err := Decode(&nats.Msg{Subject: m.Subject(), Header: m.Headers(), Data: m.Data()})
	if err != nil {
		return ev, ctx, err
	}
	ctx, err = WithChecked(ctx, m.Subject(), ev)
	return ev, ctx, err
}

func (r *Runner) publishAll(ctx context.Context, out []cloudevents.Event) error {
	for _, ev := range out {
		if err := Publish(ctx, r.js, ev); err != nil {
			return err // transient: redelivery republishes; Nats-Msg-Id drops repeats
		}
		r.publish.Add(1)
	}
	return nil
}

// keepAlive sends progress acks every AckWait/2 while a long handler runs;
// call the returned func when it is done.
func (r *Runner) keepAlive(m jetstream.Msg) func() {
	var mu sync.Mutex
	stopped := false
	half := r.cfg.AckWait / 2
	var t *time.Timer
	t = time.AfterFunc(half, func() {
		_ = m.InProgress() // best effort: a lost one means a redelivery, which is idempotent
		mu.Lock()
		defer mu.Unlock()
		if !stopped {
			t.Reset(half)
		}
	})
	return func() {
		mu.Lock()
		defer mu.Unlock()
		stopped = true
		t.Stop()
	}
}

// retry Naks with the backoff for this delivery, or rejects the message
// when it has used its last delivery.
func (r *Runner) retry(ctx context.Context, m jetstream.Msg, cause error) {
	n := 1
	if md, err := m.Metadata(); err == nil {
		n = int(md.NumDelivered)
	}
	if n >= r.cfg.MaxDeliver {
		r.reject(ctx, m, fmt.Sprintf("gave up after %d deliveries: %v", n, cause))
		return
	}
	delay := r.cfg.Backoff[min(n-1, len(r.cfg.Backoff)-1)]
	r.retried.Add(1)
	r.log.Warn("transient failure, will retry", "subject", m.Subject(), "delivery", n, "retry_in", delay, "reason", cause.Error())
	r.settle(m.NakWithDelay(delay))
}

// reject republishes m as a rejected event and terminates it. When the
// rejection cannot be published the message is Nak'ed instead, so it is
// never lost.
func (r *Runner) reject(ctx context.Context, m jetstream.Msg, reason string) {
	rej := RejectionOf(r.cfg.Function, m.Subject(), m.Headers(), m.Data(), reason)
	ev, err := New(TypeRejected, r.cfg.Function, "", "", rej)
	if err == nil {
		err = Publish(ctx, r.js, ev)
	}
	if err != nil {
		r.log.Error("cannot publish rejection, will retry", "subject", m.Subject(), "reason", reason, "error", err)
		r.settle(m.NakWithDelay(r.cfg.Backoff[0]))
		return
	}
	r.rejected.Add(1)
	r.log.Warn("rejected event", "subject", m.Subject(), "reason", reason, "event_id", ev.ID())
	r.settle(m.Term())
}

func (r *Runner) settle(err error) {
	if err != nil {
		r.ackErrs.Add(1)
		r.log.Error("acknowledgement failed; the message will be redelivered", "error", err)
	}
}

// RejectionOf builds the data of a rejected event with a bounded copy of
// the body.
func RejectionOf(function, subject string, headers nats.Header, body []byte, reason string) Rejected {
	rej := Rejected{
		Function: function, Subject: subject, Headers: boundedHeaders(headers),
		BodySize: len(body), Reason: reason, RejectedAt: time.Now().UTC(),
	}
	if len(body) > rejectedBodyLimit {
		body, rej.BodyTruncated = body[:rejectedBodyLimit], true
	}
	rej.Body = string(body)
	return rej
}

// boundedHeaders copies at most 32 headers of at most 4 values of at most
// 256 bytes each, so a hostile message cannot inflate its rejection.
func boundedHeaders(h nats.Header) map[string][]string {
	if len(h) == 0 {
		return nil
	}
	out := make(map[string][]string, min(len(h), 32))
	for k, vs := range h {
		if len(out) == 32 {
			break
		}
		vs = vs[:min(len(vs), 4)]
		cp := make([]string, len(vs))
		for i, v := range vs {
			cp[i] = v[:min(len(v), 256)]
		}
		out[k[:min(len(k), 256)]] = cp
	}
	return out
}
