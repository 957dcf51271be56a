package ingest

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flink"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

// startEmulator serves a scenario's cluster over HTTP after warm-up, so the
// JobManager's 60 s rate windows are full.
func startEmulator(t *testing.T, scenario string, warmUp time.Duration) (*flinksim.Cluster, *httptest.Server) {
	t.Helper()
	sc, err := flinksim.LoadScenario(scenario)
	require.NoError(t, err)
	c := flinksim.New(sc, flinksim.Options{})
	c.Advance(warmUp)
	srv := httptest.NewServer(c.Handler())
	t.Cleanup(srv.Close)
	return c, srv
}

// TestSnapshotMatchesEmulatorGroundTruth runs ingest as a process (Run)
// against the emulator over HTTP and embedded JetStream, and checks the
// published snapshot against the model's exact state.
func TestSnapshotMatchesEmulatorGroundTruth(t *testing.T) {
	c, jm := startEmulator(t, "../../../scenarios/wordcount.yaml", 5*time.Minute)
	nsrv, js := startNATS(t)
	cfg := testConfig(jm.URL)
	cfg.NATS.URL, cfg.HTTPListen, cfg.Replica, cfg.Targets[0].Cluster = nsrv.ClientURL(), "", "r1", "demo"
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- Run(ctx, cfg, slog.New(slog.NewTextHandler(io.Discard, nil))) }()
	t.Cleanup(func() {
		cancel()
		require.NoError(t, <-done)
	})
	var cons jetstream.Consumer
	deadline := time.Now().Add(5 * time.Second)
	for cons == nil && time.Now().Before(deadline) {
		if stream, err := js.Stream(ctx, events.StreamName); err == nil {
			cons, err = stream.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{FilterSubjects: []string{events.SnapshotFilter}})
			require.NoError(t, err)
		} else {
			<-time.After(20 * time.Millisecond)
		}
	}
	require.NotNil(t, cons)
	subject, s := nextSnapshot(t, ctx, cons)
	truth := c.GroundTruth()

	require.Equal(t, events.SnapshotSubject("demo", c.JobID()), subject)
	require.True(t, s.Complete, "incomplete: %v", s.Incomplete)
	require.Equal(t, truth.State, s.JobState)
	require.Equal(t, truth.RegisteredTaskManagers, s.TaskManagers)
	// Observed on the JobManager's clock (the emulator's, which is not
	// advancing here), not the local one: decide's event time follows the
	// job even when an emulator runs faster than real time.
	require.WithinDuration(t, truth.Time, s.ObservedAt, time.Second)
	require.Greater(t, time.Since(s.ObservedAt).Abs(), time.Minute, "emulator clock %s", truth.Time)
	require.Equal(t, truth.SlotsTotal, s.SlotsTotal)
	require.Equal(t, truth.SlotsTotal-truth.SlotsInUse, s.SlotsFree)
	require.Equal(t, c.Scenario().Cluster.SlotsPerTaskManager, s.SlotsPerTaskManager, "slots per TaskManager from the cluster")
	require.Equal(t, flinksim.FlinkVersion, s.FlinkVersion, "the release /overview reports (the emulator's 1.18 by default)")
	require.NotNil(t, s.RunningSince)
	at, ok := c.LatestCheckpoint()
	require.True(t, ok)
	require.NotNil(t, s.LastCheckpointAt)
	require.WithinDuration(t, truth.Time.Add(at-truth.Elapsed), *s.LastCheckpointAt, time.Second)
	require.Equal(t, c.Scenario().Cluster.CheckpointInterval.Milliseconds(), s.CheckpointIntervalMs)
	require.Len(t, s.Vertices, len(truth.Vertices))
	for i, vt := range truth.Vertices {
		v := s.Vertices[i]
		require.Equal(t, vt.ID, v.ID)
		require.Equal(t, vt.Parallelism, v.Parallelism, v.Name)
		require.InEpsilon(t, vt.RecordsInPerSecond, *v.RecordsInPerSecond, 0.1, "%s records in", v.Name)
		require.InEpsilon(t, vt.RecordsOutPerSecond, *v.RecordsOutPerSecond, 0.1, "%s records out", v.Name)
		require.InDelta(t, vt.MaxBusyMsPerSecond, v.BusyMsPerSecond.Max, 100, "%s busy", v.Name)
		sum := v.BusyMsPerSecond.Avg + v.IdleMsPerSecond.Avg + v.BackPressuredMsPerSecond.Avg
		require.InDelta(t, 1000, sum, 5, "%s time adds up to 1 s", v.Name)
	}
	src := s.Vertices[0]
	require.True(t, src.IsSource)
	require.Equal(t, 32, *src.SourcePartitions)
	require.NotNil(t, src.PendingRecords)
	require.InDelta(t, truth.Backlog, *src.PendingRecords, max(truth.Backlog*0.1, 1000))
	require.Equal(t, "tokenizer", s.Vertices[1].Name)
	require.Equal(t, []events.Input{{ID: src.ID, ShipStrategy: "REBALANCE"}}, s.Vertices[1].Inputs)
}

// TestTaskManagersReadOnlyWhenTheyChange: the service and a Poller read GET
// /taskmanagers (for slots per TaskManager and idle TaskManagers) on the
// first poll and again only when the overview's TaskManagers or slots
// change, or while a TaskManager's worth of slots is free (one may be
// idle); every snapshot carries the slot count and the idle TaskManagers.
func TestTaskManagersReadOnlyWhenTheyChange(t *testing.T) {
	sc, err := flinksim.LoadScenario("../../../scenarios/wordcount.yaml")
	require.NoError(t, err)
	c := flinksim.New(sc, flinksim.Options{})
	c.Advance(2 * time.Minute)
	var reads atomic.Int32
	h := c.Handler()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/taskmanagers" {
			reads.Add(1)
		}
		h.ServeHTTP(w, r)
	}))
	t.Cleanup(srv.Close)
	want := sc.Cluster.SlotsPerTaskManager

	pub := &capture{}
	svc, _ := newTestService(t, testConfig(srv.URL), pub)
	client, err := flink.New(srv.URL, flink.Options{})
	require.NoError(t, err)
	poller := NewPoller(client, "c1")
	ctx := context.Background()
	poll := func(idle int) {
		t.Helper()
		require.Equal(t, 1, svc.Cycle(ctx).Published)
		s, err := poller.Poll(ctx, c.JobID(), time.Now())
		require.NoError(t, err)
		for _, s := range append(pub.take(), s) {
			require.Equal(t, want, s.SlotsPerTaskManager)
			require.Equal(t, c.TaskManagers(), s.TaskManagers)
			require.Equal(t, idle, s.IdleTaskManagers)
		}
	}

	poll(0)
	require.EqualValues(t, 2, reads.Load(), "first poll of each reads the TaskManagers")
	poll(0)
	poll(0)
	require.EqualValues(t, 2, reads.Load(), "same TaskManagers, same slots, none free: not read again")

	// wordcount's job takes both one-slot TaskManagers: a third is idle
	c.SetTaskManagers(c.TaskManagers() + 1)
	c.Advance(sc.Cluster.TaskManagerStartup + 5*time.Second)
	poll(1)
	require.EqualValues(t, 4, reads.Load(), "a TaskManager more: read again")
	poll(1)
	require.EqualValues(t, 6, reads.Load(), "a TaskManager's slots free: read while one may be idle")

	c.SetTaskManagers(c.TaskManagers() - 1)
	poll(0)
	poll(0)
	require.EqualValues(t, 8, reads.Load(), "none free again: read once for the change, then not")
}
