// Package eventstest gives tests a real NATS JetStream server: embedded,
// on a random loopback port, provisioned as the functions provision it but
// with memory storage, and shut down when the test ends.
package eventstest

import (
	"context"
	"testing"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/natsserver"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

// Env is a running server and a connection to it.
type Env struct {
	Server *natsserver.Server
	URL    string
	NC     *nats.Conn
	JS     jetstream.JetStream
}

// Start starts the server, connects and provisions the FLINKSCALER stream
// and the KV buckets. Everything is closed by t.Cleanup.
func Start(t testing.TB) Env {
	t.Helper()
	srv, err := natsserver.Start(natsserver.Config{})
	require.NoError(t, err)
	t.Cleanup(srv.Shutdown)
	nc, js, err := events.Connect(events.ConnOptions{URL: srv.ClientURL(), Name: "test"})
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, events.Provision(ctx, js, events.ProvisionConfig{Storage: jetstream.MemoryStorage}))
	return Env{Server: srv, URL: srv.ClientURL(), NC: nc, JS: js}
}

// KV opens one of the provisioned buckets.
func (e Env) KV(t testing.TB, bucket string) jetstream.KeyValue {
	t.Helper()
	kv, err := e.JS.KeyValue(context.Background(), bucket)
	require.NoError(t, err)
	return kv
}
