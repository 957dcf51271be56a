package events

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

// runRunner starts a runner for h on snapshot and metric subjects and stops
// it at cleanup, checking that Run returned.
func runRunner(t *testing.T, js jetstream.JetStream, cfg RunnerConfig, h Handler) *Runner {
	t.Helper()
	if cfg.Function == "" {
		cfg.Function = "decide"
	}
	cfg.Durable = cfg.Function
	cfg.FilterSubjects = []string{SnapshotFilter, MetricFilter}
	r, err := NewRunner(js, cfg, h)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			require.NoError(t, err)
		case <-time.After(15 * time.Second):
			t.Error("runner did not stop")
		}
	})
	// A new durable starts at each subject's newest message: what the test
	// publishes next must come after it exists.
	require.Eventually(t, func() bool {
		_, err := js.Consumer(context.Background(), StreamName, cfg.Durable)
		return err == nil
	}, 10*time.Second, 10*time.Millisecond, "durable %s not created", cfg.Durable)
	return r
}

func nextMsg(t *testing.T, sub *nats.Subscription) *nats.Msg {
	t.Helper()
	m, err := sub.NextMsg(5 * time.Second)
	require.NoError(t, err)
	return m
}

func TestRunnerPublishesOutputThenAcks(t *testing.T) {
	nc, js := startJS(t)
	decisions, err := nc.SubscribeSync(DecisionFilter)
	require.NoError(t, err)
	runRunner(t, js, RunnerConfig{}, func(_ context.Context, ev cloudevents.Event) ([]cloudevents.Event, error) {
		s, err := Data[Snapshot](ev)
		if err != nil {
			return nil, err
		}
		d := Decision{DecisionID: "d-" + ev.ID(), SnapshotID: ev.ID(), Cluster: s.Cluster, JobID: s.JobID, JobName: s.JobName,
			Mode: ModeAdaptive, TaskManagers: Count{Current: 2, Target: 3}, Slots: Slots{PerTaskManager: 1, Sharing: SlotSharingShared},
			Policy: "test", Rationale: "r", DecidedAt: s.ObservedAt}
		out, err := New(TypeDecision, "decide", s.Cluster, s.JobID, d)
		return []cloudevents.Event{out}, err
	})
	in := snapshotEvent(t)
	require.NoError(t, Publish(context.Background(), js, in))
	got, err := Decode(nextMsg(t, decisions))
	require.NoError(t, err)
	d, err := Data[Decision](got)
	require.NoError(t, err)
	require.Equal(t, in.ID(), d.SnapshotID)
	requireNoPending(t, js, "decide")
}

func requireNoPending(t *testing.T, js jetstream.JetStream, durable string) {
	t.Helper()
	var last jetstream.ConsumerInfo
	require.Eventually(t, func() bool {
		c, err := js.Consumer(context.Background(), StreamName, durable)
		if err != nil {
			return false
		}
		ci, err := c.Info(context.Background())
		if err != nil {
			return false
		}
		last = *ci
		return ci.NumAckPending == 0 && ci.NumPending == 0
	}, 5*time.Second, 10*time.Millisecond, "consumer %s still has unacked or pending messages: %+v", durable, &last)
}

func TestRunnerRejectsBadInputAndKeepsGoing(t *testing.T) {
	nc, js := startJS(t)
	rejected, err := nc.SubscribeSync(RejectedFilter)
	require.NoError(t, err)
	var handled atomic.Int64
	r := runRunner(t, js, RunnerConfig{MaxMessageSize: 4096}, func(context.Context, cloudevents.Event) ([]cloudevents.Event, error) {
		handled.Add(1)
		return nil, nil
	})
	job := "0123456789abcdef0123456789abcdef"
	valid := snapshotEvent(t)
	bad := []struct {
		name, subject string
		msg           func() *nats.Msg
		reason        string
	}{
		{"not a CloudEvent", SnapshotSubject("demo", job), func() *nats.Msg {
			return &nats.Msg{Data: []byte("hello")}
		}, "not a CloudEvent"},
		{"unknown type", SnapshotSubject("demo", job), func() *nats.Msg {
			ev := valid.Clone()
			ev.SetType("com.example.other")
			ev.SetID("u1")
			m, _ := ToMsg("x", ev)
			return m
		}, "unknown event type"},
		{"payload fails schema", MetricSubject("demo", job), func() *nats.Msg {
			ev, _ := New(TypeMetric, "publish", "demo", job, map[string]any{"cluster": "demo", "job": job, "value": "high"})
			m, _ := ToMsg("x", ev)
			return m
		}, "missing properties"},
		{"over the size limit", SnapshotSubject("demo", job), func() *nats.Msg {
			m, _ := ToMsg("x", valid)
			m.Data = []byte(`{"pad":"` + strings.Repeat("x", 5000) + `"}`)
			return m
		}, "exceeds the limit"},
		{"subject disagrees with data", SnapshotSubject("other", job), func() *nats.Msg {
			m, _ := ToMsg("x", valid)
			return m
		}, `cluster "other"`},
	}
	for _, b := range bad {
		m := b.msg()
		m.Subject = b.subject
		if m.Header == nil {
			m.Header = nats.Header{}
		}
		m.Header.Set(HeaderMsgID, "bad-"+b.name)
		_, err := js.PublishMsg(context.Background(), m)
		require.NoError(t, err, b.name)
	}
	require.NoError(t, Publish(context.Background(), js, valid))
	var got []Rejected // lanes may report them in any order
	for range bad {
		ev, err := Decode(nextMsg(t, rejected))
		require.NoError(t, err)
		require.Equal(t, TypeRejected, ev.Type())
		rej, err := Data[Rejected](ev)
		require.NoError(t, err)
		require.LessOrEqual(t, len(rej.Body), rejectedBodyLimit)
		got = append(got, rej)
	}
	for _, b := range bad {
		found := false
		for _, rej := range got {
			found = found || (rej.Subject == b.subject && strings.Contains(rej.Reason, b.reason))
		}
		require.True(t, found, "%s: no rejection on %s with %q in %+v", b.name, b.subject, b.reason, got)
	}
	requireNoPending(t, js, "decide")
	require.Equal(t, int64(1), handled.Load())
	require.Equal(t, uint64(len(bad)), r.Stats().Rejected)
}

func TestRunnerRetriesTransientErrors(t *testing.T) {
	_, js := startJS(t)
	var calls atomic.Int64
	r := runRunner(t, js, RunnerConfig{Backoff: []time.Duration{10 * time.Millisecond}}, func(context.Context, cloudevents.Event) ([]cloudevents.Event, error) {
		if calls.Add(1) < 3 {
			return nil, errors.New("flink unreachable")
		}
		return nil, nil
	})
	require.NoError(t, Publish(context.Background(), js, snapshotEvent(t)))
	requireEventually(t, func() bool { return calls.Load() == 3 })
	requireNoPending(t, js, "decide")
	require.Equal(t, uint64(2), r.Stats().Retried)
	require.Equal(t, uint64(0), r.Stats().Rejected)
}

func TestRunnerGivesUpAfterMaxDeliveries(t *testing.T) {
	nc, js := startJS(t)
	rejected, err := nc.SubscribeSync(RejectedFilter)
	require.NoError(t, err)
	var calls atomic.Int64
	runRunner(t, js, RunnerConfig{MaxDeliver: 3, Backoff: []time.Duration{5 * time.Millisecond}}, func(context.Context, cloudevents.Event) ([]cloudevents.Event, error) {
		calls.Add(1)
		return nil, errors.New("kube-apiserver unavailable")
	})
	require.NoError(t, Publish(context.Background(), js, snapshotEvent(t)))
	ev, err := Decode(nextMsg(t, rejected))
	require.NoError(t, err)
	rej, err := Data[Rejected](ev)
	require.NoError(t, err)
	require.Contains(t, rej.Reason, "gave up after 3 deliveries: kube-apiserver unavailable")
	require.Equal(t, int64(3), calls.Load())
	requireNoPending(t, js, "decide")
}

// TestRunnerConsumesStructuredFromPlainClient publishes a structured-mode
// event with plain nats.go, as a user's existing pipeline would.
func TestRunnerConsumesStructuredFromPlainClient(t *testing.T) {
	nc, js := startJS(t)
	got := make(chan Metric, 1)
	runRunner(t, js, RunnerConfig{}, func(_ context.Context, ev cloudevents.Event) ([]cloudevents.Event, error) {
		m, err := Data[Metric](ev)
		got <- m
		return nil, err
	})
	body, err := json.Marshal(map[string]any{
		"specversion": "1.0", "id": "ext-1", "type": TypeMetric, "source": "/kafka-lag-exporter",
		"datacontenttype": "application/json",
		"data":            map[string]any{"cluster": "demo", "job": "wordcount", "name": "lag", "value": 5000, "observedAt": "2026-11-21T10:00:00Z"},
	})
	require.NoError(t, err)
	msg := nats.NewMsg(MetricSubject("demo", "wordcount"))
	msg.Header.Set("content-type", StructuredJSON)
	msg.Data = body
	require.NoError(t, nc.PublishMsg(msg))
	select {
	case m := <-got:
		require.Equal(t, "lag", m.Name)
		require.Equal(t, 5000.0, m.Value)
	case <-time.After(30 * time.Second):
		t.Fatal("structured event not consumed")
	}
}

func requireEventually(t *testing.T, cond func() bool) {
	t.Helper()
	require.Eventually(t, cond, 30*time.Second, 5*time.Millisecond)
}

// TestRunnerDrainsInFlightWork cancels the run while a handler is busy: the
// handler finishes, its message is acked, and Run returns.
func TestRunnerDrainsInFlightWork(t *testing.T) {
	_, js := startJS(t)
	started, release := make(chan struct{}), make(chan struct{})
	r, err := NewRunner(js, RunnerConfig{Function: "decide", Durable: "decide", FilterSubjects: []string{SnapshotFilter}},
		func(ctx context.Context, _ cloudevents.Event) ([]cloudevents.Event, error) {
			close(started)
			<-release
			return nil, ctx.Err()
		})
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- r.Run(ctx) }()
	require.NoError(t, Publish(context.Background(), js, snapshotEvent(t)))
	<-started
	cancel()
	close(release)
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(15 * time.Second):
		t.Fatal("Run did not return after cancel")
	}
	requireNoPending(t, js, "decide")
	require.Equal(t, uint64(1), r.Stats().Handled)
}
