package ingest

import (
	"context"
	"io"
	"log/slog"
	"slices"
	"testing"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/events/eventstest"
	"github.com/flinkscaler/flinkscaler/internal/natsserver"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

func startNATS(t *testing.T) (*natsserver.Server, jetstream.JetStream) {
	t.Helper()
	e := eventstest.Start(t)
	return e.Server, e.JS
}

// nextSnapshot reads the next snapshot event from the stream, checks it
// against the contract (subject, attributes, JSON Schema) and decodes it.
func nextSnapshot(t *testing.T, ctx context.Context, cons jetstream.Consumer) (string, events.Snapshot) {
	t.Helper()
	msg, err := cons.Next(jetstream.FetchMaxWait(5 * time.Second))
	require.NoError(t, err)
	ev, err := events.Decode(&nats.Msg{Subject: msg.Subject(), Header: msg.Headers(), Data: msg.Data()})
	require.NoError(t, err)
	require.NoError(t, events.Check(msg.Subject(), ev))
	require.Equal(t, events.TypeSnapshot, ev.Type())
	require.Equal(t, msg.Headers().Get("Nats-Msg-Id"), ev.ID())
	s, err := events.Data[events.Snapshot](ev)
	require.NoError(t, err)
	return msg.Subject(), s
}

func TestRunPublishesSnapshotsToJetStream(t *testing.T) {
	srv, js := startNATS(t)
	jm := newTestJobManager(t, healthyJob("0123456789abcdef0123456789abcdef"))
	cfg := testConfig(jm.srv.URL)
	cfg.Interval = 300 * time.Millisecond
	cfg.NATS.URL = srv.ClientURL()
	cfg.HTTPListen = "127.0.0.1:0"
	cfg.Replica = "r1"
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})

	deadline := time.Now().Add(5 * time.Second)
	var stream jetstream.Stream
	var err error
	for stream == nil && time.Now().Before(deadline) {
		stream, err = js.Stream(ctx, events.StreamName)
		if err != nil {
			stream = nil
			<-time.After(20 * time.Millisecond)
		}
	}
	require.NotNil(t, stream, "ingest provisions the stream")
	cons, err := stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{events.SnapshotFilter}})
	require.NoError(t, err)
	var first time.Time
	for i := range 2 {
		subject, s := nextSnapshot(t, ctx, cons)
		require.Equal(t, events.SnapshotSubject("c1", "0123456789abcdef0123456789abcdef"), subject)
		require.True(t, s.Complete)
		require.InDelta(t, 1800.0, *s.Vertices[1].RecordsOutPerSecond, 1e-9)
		if i == 0 {
			first = s.ObservedAt
		} else {
			require.Greater(t, s.ObservedAt.Sub(first), 200*time.Millisecond, "one per interval")
		}
	}
}

func TestMembershipTakeOver(t *testing.T) {
	_, js := startNATS(t)
	ctx := context.Background()
	// A TTL far above a heartbeat's round trip: at 500 ms a loaded machine
	// let "a" expire between its join and the first listing.
	ttl := 3 * time.Second
	a, err := JoinKV(ctx, js, "a", ttl)
	require.NoError(t, err)
	b, err := JoinKV(ctx, js, "b", ttl)
	require.NoError(t, err)
	crashed, err := JoinKV(ctx, js, "crashed", ttl) // never heartbeats again
	require.NoError(t, err)
	_ = crashed

	runCtx, stop := context.WithCancel(ctx)
	t.Cleanup(stop)
	aCtx, stopA := context.WithCancel(ctx)
	doneA := make(chan struct{})
	go func() { _ = a.Run(aCtx, func(error) {}); close(doneA) }()
	go func() { _ = b.Run(runCtx, func(error) {}) }()

	waitMembers := func(want []string) {
		t.Helper()
		// Wait for the set itself, not its size: on a loaded machine a live
		// member's heartbeat can come late and it may miss one listing.
		deadline := time.Now().Add(4 * ttl)
		for {
			got, err := b.Members(ctx)
			require.NoError(t, err)
			if slices.Equal(got, want) || time.Now().After(deadline) {
				require.Equal(t, want, got)
				return
			}
			<-time.After(20 * time.Millisecond)
		}
	}
	waitMembers([]string{"a", "b", "crashed"})
	waitMembers([]string{"a", "b"}) // the crashed member expires within the TTL
	stopA()
	<-doneA
	waitMembers([]string{"b"}) // a clean stop leaves at once
}
