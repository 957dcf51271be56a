package function

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// Backoff of the start-up connection: the first wait, doubling to the cap.
const (
	firstRetry = 250 * time.Millisecond
	maxRetry   = 5 * time.Second
)

// Connect dials NATS with c.NATS. While the server is unreachable (not up
// yet, as while a NATS StatefulSet starts) it retries with a doubling
// backoff for up to c.NATSWait, logging each failure at Warn; other
// failures (authorization, TLS, a bad credentials file) return at once. It
// returns events.Connect's error after the last try, or ctx's error.
func (c Common) Connect(ctx context.Context, log *slog.Logger) (*nats.Conn, jetstream.JetStream, error) {
	deadline := time.Now().Add(c.NATSWait)
	wait := firstRetry
	for attempt := 1; ; attempt++ {
		nc, js, err := events.Connect(c.NATS)
		if err == nil {
			if attempt > 1 {
				log.Info("connected to NATS", "attempts", attempt)
			}
			return nc, js, nil
		}
		left := time.Until(deadline)
		if !unreachable(err) || left <= 0 {
			return nil, nil, err
		}
		wait = min(wait, left)
		log.Warn("NATS not reachable yet; retrying", "attempt", attempt, "retry_in", wait, "gives_up_in", left.Round(time.Second), "error", err)
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, nil, ctx.Err()
		case <-t.C:
		}
		wait = min(2*wait, maxRetry)
	}
}

// Start connects (Connect) and creates or updates the stream and KV buckets
// the functions share (events.Provision with c.Provision, idempotent): what
// every function does first. The caller closes the connection.
func (c Common) Start(ctx context.Context, log *slog.Logger) (*nats.Conn, jetstream.JetStream, error) {
	nc, js, err := c.Connect(ctx, log)
	if err != nil {
		return nil, nil, err
	}
	if err := events.Provision(ctx, js, c.Provision); err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("provision: %w", err)
	}
	return nc, js, nil
}

// unreachable reports whether err means the server could not be reached,
// as opposed to refusing us.
func unreachable(err error) bool {
	var ne net.Error
	return errors.Is(err, nats.ErrNoServers) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.As(err, &ne)
}
