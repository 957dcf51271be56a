package events

import (
	"context"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
)

// seen records the snapshot observation times a handler was called with.
type seen struct {
	mu  sync.Mutex
	ats []time.Time
}

func (s *seen) handle(_ context.Context, ev cloudevents.Event) ([]cloudevents.Event, error) {
	snap, err := Data[Snapshot](ev)
	if err != nil {
		return nil, err
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.ats = append(s.ats, snap.ObservedAt)
	return nil, nil
}

func (s *seen) list() []time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]time.Time(nil), s.ats...)
}

// publishSnapshots stores n snapshots of job, a second apart from base.
func publishSnapshots(t *testing.T, js Publisher, job string, base time.Time, n int) time.Time {
	t.Helper()
	s := sampleSnapshot()
	s.JobID = job
	for i := range n {
		s.ObservedAt = base.Add(time.Duration(i) * time.Second)
		ev, err := New(TypeSnapshot, "metrics-ingest", s.Cluster, s.JobID, s)
		require.NoError(t, err)
		require.NoError(t, Publish(context.Background(), js, ev))
	}
	return s.ObservedAt
}

// A new durable starts at each subject's newest message, not at the
// stream's beginning: a first start acts on the present.
func TestNewDurableStartsAtTheNewestPerSubject(t *testing.T) {
	_, js := startJS(t)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	lastA := publishSnapshots(t, js, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", base, 5)
	lastB := publishSnapshots(t, js, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", base, 3)
	var s seen
	runRunner(t, js, RunnerConfig{}, s.handle)
	requireNoPending(t, js, "decide")
	require.ElementsMatch(t, []time.Time{lastA, lastB}, s.list())
}

// After an outage, a backlog of one job's snapshots is skipped to the
// newest: the handler sees it alone, the rest are acked as superseded.
func TestBacklogIsSkippedToTheNewest(t *testing.T) {
	_, js := startJS(t)
	cfg := RunnerConfig{LatestOnly: []string{SnapshotFilter}}
	r, err := NewRunner(js, RunnerConfig{Function: "decide", Durable: "decide", FilterSubjects: []string{SnapshotFilter, MetricFilter}},
		func(context.Context, cloudevents.Event) ([]cloudevents.Event, error) { return nil, nil })
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	require.Eventually(t, func() bool { _, err := js.Consumer(ctx, StreamName, "decide"); return err == nil }, 30*time.Second, 10*time.Millisecond)
	cancel()
	require.NoError(t, <-done) // the durable exists; decide is down

	junk := &nats.Msg{Subject: SnapshotSubject("demo", "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"), Data: []byte("junk")}
	_, err = js.PublishMsg(context.Background(), junk)
	require.NoError(t, err)
	base := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	last := publishSnapshots(t, js, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", base, 6)
	var s seen
	again := runRunner(t, js, cfg, s.handle)
	requireNoPending(t, js, "decide")
	require.Equal(t, []time.Time{last}, s.list())
	require.Equal(t, uint64(5), again.Stats().Superseded)
	require.Equal(t, uint64(1), again.Stats().Rejected, "an invalid message is rejected, however old")
}

// What a handler returns after the run was told to stop (its work cut off
// by DrainTimeout) is still published: a result is not lost on shutdown.
func TestOutputPublishedAfterShutdown(t *testing.T) {
	nc, js := startJS(t)
	decisions, err := nc.SubscribeSync(DecisionFilter)
	require.NoError(t, err)
	require.NoError(t, nc.Flush())
	started := make(chan struct{})
	r, err := NewRunner(js, RunnerConfig{Function: "decide", Durable: "decide", FilterSubjects: []string{SnapshotFilter},
		DrainTimeout: 100 * time.Millisecond},
		func(ctx context.Context, ev cloudevents.Event) ([]cloudevents.Event, error) {
			close(started)
			<-ctx.Done() // a long actuation, cut off at shutdown
			s, _ := Data[Snapshot](ev)
			d := Decision{DecisionID: "d-1", SnapshotID: ev.ID(), Cluster: s.Cluster, JobID: s.JobID, JobName: s.JobName,
				Mode: ModeAdaptive, TaskManagers: Count{Current: 2, Target: 3}, Slots: Slots{PerTaskManager: 1, Sharing: SlotSharingShared},
				Policy: "test", Rationale: "cut off", DecidedAt: s.ObservedAt}
			out, err := New(TypeDecision, "decide", s.Cluster, s.JobID, d)
			return []cloudevents.Event{out}, err
		})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	require.Eventually(t, func() bool { _, err := js.Consumer(ctx, StreamName, "decide"); return err == nil }, 30*time.Second, 10*time.Millisecond)
	require.NoError(t, Publish(context.Background(), js, snapshotEvent(t)))
	<-started
	cancel()
	require.NoError(t, <-done)
	m := nextMsg(t, decisions)
	require.Contains(t, string(m.Data), "cut off")
}
