package events

import (
	"context"
	"fmt"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	"github.com/flinkscaler/flinkscaler/internal/events/schemacheck"
	"github.com/flinkscaler/flinkscaler/internal/natsserver"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

// startJS starts an embedded JetStream server, provisions it with memory
// storage and returns a connection and JetStream context.
func startJS(t testing.TB) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	srv, err := natsserver.Start(natsserver.Config{})
	require.NoError(t, err)
	t.Cleanup(srv.Shutdown)
	nc, js := dialJS(t, srv.ClientURL())
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	require.NoError(t, Provision(ctx, js, ProvisionConfig{Storage: jetstream.MemoryStorage}))
	return nc, js
}

// dialJS connects to the server at url until the test ends.
func dialJS(t testing.TB, url string) (*nats.Conn, jetstream.JetStream) {
	t.Helper()
	nc, err := nats.Connect(url)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	return nc, js
}

func sampleSnapshot() Snapshot {
	in, out, pending := 1200.0, 9600.0, 3.0
	running := time.Date(2026, 11, 21, 9, 0, 0, 0, time.UTC)
	return Snapshot{
		Cluster: "demo", JobID: "0123456789abcdef0123456789abcdef", JobName: "wordcount",
		JobState: "RUNNING", RunningSince: &running, ObservedAt: running.Add(time.Hour),
		TaskManagers: 2, SlotsTotal: 2, SlotsFree: 0, Complete: true,
		Vertices: []VertexSnapshot{
			{ID: "cbc357ccb763df2852fee8c4fc7d55f2", Name: "Source: sentences", Parallelism: 2, MaxParallelism: 128, IsSource: true,
				BusyMsPerSecond: &AvgMax{Avg: 400, Max: 420}, IdleMsPerSecond: &AvgMax{Avg: 600, Max: 610},
				BackPressuredMsPerSecond: &AvgMax{}, RecordsInPerSecond: &in, RecordsOutPerSecond: &in, PendingRecords: &pending},
			{ID: "90bea66de1c231edf33913ecd54406c1", Name: "tokenizer", Parallelism: 2, MaxParallelism: 128,
				Inputs:          []Input{{ID: "cbc357ccb763df2852fee8c4fc7d55f2", ShipStrategy: "REBALANCE"}},
				BusyMsPerSecond: &AvgMax{Avg: 700, Max: 750}, RecordsInPerSecond: &in, RecordsOutPerSecond: &out,
				Incomplete: []string{"idleMsPerSecond", "backPressuredMsPerSecond"}},
		},
	}
}

func snapshotEvent(t testing.TB) cloudevents.Event {
	t.Helper()
	s := sampleSnapshot()
	ev, err := New(TypeSnapshot, "metrics-ingest", s.Cluster, s.JobID, s)
	require.NoError(t, err)
	return ev
}

func toEvent(v any) cloudevents.Event {
	switch e := v.(type) {
	case cloudevents.Event:
		return e
	case *cloudevents.Event:
		return *e
	}
	panic("not an event")
}

// ValidateSchema validates data against the JSON Schema of event type typ;
// errors wrap ErrInvalid, as the runtime checks' do.
func ValidateSchema(typ string, data []byte) error {
	file, ok := SchemaFile(typ)
	if !ok {
		return fmt.Errorf("%w: unknown event type %q", ErrInvalid, typ)
	}
	if err := schemacheck.Validate(SchemaFS(), file, data); err != nil {
		return fmt.Errorf("%w: %s data: %w", ErrInvalid, typ, err)
	}
	return nil
}
