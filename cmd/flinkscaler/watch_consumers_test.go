package main

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/events/eventstest"
)

// watch says when snapshots wait and no decide takes them (a chain whose
// decide died at start), once per change, and when it consumes again.
func TestWatchSaysWhenDecideIsMissing(t *testing.T) {
	env := eventstest.Start(t)
	ctx := context.Background()
	now := time.Now()
	w := &consumerWatch{js: env.JS, last: map[string]string{}, now: func() time.Time { return now }}
	require.Empty(t, w.notes(ctx), "nothing waits yet")

	snap := events.Snapshot{Cluster: "demo", JobID: "0123456789abcdef0123456789abcdef", JobName: "wc", JobState: "RUNNING",
		ObservedAt: now, TaskManagers: 1, SlotsTotal: 1, Complete: true}
	ev, err := events.New(events.TypeSnapshot, "metrics-ingest", snap.Cluster, snap.JobID, snap)
	require.NoError(t, err)
	require.NoError(t, events.Publish(ctx, env.JS, ev))
	notes := w.notes(ctx)
	require.Len(t, notes, 1)
	require.Contains(t, notes[0], "no decide has ever consumed")
	require.Empty(t, w.notes(ctx), "said once")

	_, err = env.JS.CreateOrUpdateConsumer(ctx, events.StreamName, jetstream.ConsumerConfig{Durable: "decide",
		FilterSubjects: []string{events.SnapshotFilter}, AckPolicy: jetstream.AckExplicitPolicy})
	require.NoError(t, err)
	now = now.Add(2 * idleAfter)
	notes = w.notes(ctx)
	require.Len(t, notes, 1)
	require.Contains(t, notes[0], "decide is not consuming: 1 events wait for it")

	c, err := env.JS.Consumer(ctx, events.StreamName, "decide")
	require.NoError(t, err)
	msgs, err := c.Fetch(1)
	require.NoError(t, err)
	for m := range msgs.Messages() {
		require.NoError(t, m.Ack())
	}
	require.Eventually(t, func() bool {
		n := w.notes(ctx)
		return len(n) == 1 && n[0] == "! decide is consuming again"
	}, 5*time.Second, 50*time.Millisecond)
}
