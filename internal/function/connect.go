package function

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// Connect dials NATS with c.NATS. While the server is unreachable (not up
// yet, as while a NATS StatefulSet starts) it retries with a doubling
// backoff for up to c.NATSWait, logging each failure at Warn; other
// failures (authorization, TLS, a bad credentials file) return at once. It
// returns events.Connect's error after the last try, or ctx's error.
func (c Common) Connect(ctx context.Context, log *slog.Logger) (*nats.Conn, jetstream.JetStream, error) {
	var nc *nats.Conn
	var js jetstream.JetStream
	connect := events.StartRetry{Within: c.NATSWait, Again: unreachable, Failing: "NATS not reachable yet; retrying", Done: "connected to NATS"}
	err := connect.Retry(ctx, log, func(context.Context) error {
		var err error
		nc, js, err = events.Connect(c.NATS)
		return err
	})
	return nc, js, err
}

// Start connects (Connect) and creates or updates the stream and KV buckets
// the functions share (events.Provision with c.Provision, idempotent): what
// every function does first. A provisioning that JetStream does not answer
// in time or is not ready for is tried again (retry). The caller closes the
// connection.
func (c Common) Start(ctx context.Context, log *slog.Logger) (*nats.Conn, jetstream.JetStream, error) {
	nc, js, err := c.Connect(ctx, log)
	if err != nil {
		return nil, nil, err
	}
	err = c.retry(ctx, log, "provision", func(ctx context.Context) error { return events.Provision(ctx, js, c.Provision) })
	if err != nil {
		nc.Close()
		return nil, nil, fmt.Errorf("provision: %w", err)
	}
	return nc, js, nil
}

// retry runs f, one of the JetStream calls a function makes once at start
// (provisioning, opening a KV bucket), until it succeeds. While f fails
// because JetStream did not answer in time or is not ready yet
// (events.Transient), it is tried again with the start-up backoff for up
// to c.NATSWait, each failure logged at Warn; any other failure returns at
// once, as does the last. what names the call in the log.
func (c Common) retry(ctx context.Context, log *slog.Logger, what string, f func(context.Context) error) error {
	return events.JetStreamNotReady(ctx, c.NATSWait).Retry(ctx, log.With("call", what), f)
}

// unreachable reports whether err means the server could not be reached,
// as opposed to refusing us.
func unreachable(err error) bool {
	var ne net.Error
	return errors.Is(err, nats.ErrNoServers) || errors.Is(err, nats.ErrTimeout) ||
		errors.Is(err, jetstream.ErrJetStreamNotEnabled) || errors.As(err, &ne)
}

// OpenKV opens the KV bucket that Start provisioned, through retry.
func (c Common) OpenKV(ctx context.Context, log *slog.Logger, js jetstream.JetStream, bucket string) (jetstream.KeyValue, error) {
	var kv jetstream.KeyValue
	err := c.retry(ctx, log, "open KV bucket "+bucket, func(ctx context.Context) error {
		var err error
		kv, err = js.KeyValue(ctx, bucket)
		return err
	})
	return kv, err
}
