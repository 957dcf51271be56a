package events

import (
	"context"
	"errors"
	"log/slog"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
)

// Backoff of the calls a function makes once at start: the first wait,
// doubling to the cap.
const (
	firstRetry = 250 * time.Millisecond
	maxRetry   = 5 * time.Second
)

// StartRetry says how a call made once at start is tried again.
type StartRetry struct {
	// Within bounds the tries, counted from the first; 0: one try.
	Within time.Duration
	// Again says whether a failure is worth another try.
	Again func(error) bool
	// Failing is logged at Warn before each wait, Done at Info after a
	// success that took more than one try.
	Failing, Done string
}

// Retry runs f until it succeeds, fails with an error r.Again does not
// accept, or r.Within has passed since the first try (returning the last
// error), with a doubling backoff from 250 ms to 5 s between tries; it
// returns ctx's error if ctx ends while it waits.
func (r StartRetry) Retry(ctx context.Context, log *slog.Logger, f func(context.Context) error) error {
	deadline := time.Now().Add(r.Within)
	wait := firstRetry
	for attempt := 1; ; attempt++ {
		err := f(ctx)
		if err == nil {
			if attempt > 1 {
				log.Info(r.Done, "attempts", attempt)
			}
			return nil
		}
		left := time.Until(deadline)
		if !r.Again(err) || left <= 0 {
			return err
		}
		wait = min(wait, left)
		log.Warn(r.Failing, "attempt", attempt, "retry_in", wait, "gives_up_in", left.Round(time.Second), "error", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, maxRetry)
	}
}

// JetStreamNotReady is the StartRetry of a JetStream call made once at
// start (provisioning, opening a KV bucket, setting up a consumer) under
// ctx: tried again for up to within while it fails Transient.
func JetStreamNotReady(ctx context.Context, within time.Duration) StartRetry {
	return StartRetry{Within: within, Again: func(err error) bool { return Transient(ctx, err) },
		Failing: "JetStream not ready; retrying", Done: "JetStream answered"}
}

// Transient reports whether err, from a JetStream call made under ctx,
// means the server did not answer in time, had nobody to answer, lost the
// connection or said it is unavailable for now (code 503): a server
// starting or electing a leader, a disk slow to sync. Refusals (a
// permission, a configuration the server rejects) are not; nothing is once
// ctx itself has ended.
func Transient(ctx context.Context, err error) bool {
	if ctx.Err() != nil || err == nil {
		return false
	}
	var api *jetstream.APIError
	if errors.As(err, &api) {
		return api.Code == 503
	}
	return errors.Is(err, context.DeadlineExceeded) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, nats.ErrNoResponders) || errors.Is(err, jetstream.ErrNoStreamResponse) ||
		errors.Is(err, nats.ErrConnectionReconnecting) || errors.Is(err, nats.ErrDisconnected) ||
		errors.Is(err, jetstream.ErrJetStreamNotEnabled)
}
