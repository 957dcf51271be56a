package test

import (
	"context"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// tally is what a run left in the FLINKSCALER stream: decisions by id,
// results by decision id and outcome, rejections.
type tally struct {
	snapshots, metrics int
	snapshotByID       map[string]events.Snapshot
	decisions          map[string]events.Decision
	decisionOrder      []string
	results            map[string][]events.Result
	rejected           []events.Rejected
}

// applied counts results per decision that applied something.
func (t tally) applied() map[string]int {
	n := map[string]int{}
	for id, rs := range t.results {
		for _, r := range rs {
			if r.Outcome == events.OutcomeApplied || r.Outcome == events.OutcomePartial {
				n[id]++
			}
		}
	}
	return n
}

// lost lists decisions (not dry runs) with no result.
func (t tally) lost() []string {
	var ids []string
	for _, id := range t.decisionOrder {
		if len(t.results[id]) == 0 {
			ids = append(ids, id)
		}
	}
	return ids
}

// duplicates lists decisions applied more than once.
func (t tally) duplicates() []string {
	var ids []string
	for id, n := range t.applied() {
		if n > 1 {
			ids = append(ids, id)
		}
	}
	return ids
}

// readStream reads every event in the stream (with an ordered consumer on
// its own connection) and tallies them.
func readStream(t *testing.T, url string, opts ...nats.Option) tally {
	t.Helper()
	nc, err := nats.Connect(url, opts...)
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	s, err := js.Stream(ctx, events.StreamName)
	require.NoError(t, err)
	info, err := s.Info(ctx)
	require.NoError(t, err)
	out := tally{decisions: map[string]events.Decision{}, results: map[string][]events.Result{}, snapshotByID: map[string]events.Snapshot{}}
	if info.State.Msgs == 0 {
		return out
	}
	c, err := s.OrderedConsumer(ctx, jetstream.OrderedConsumerConfig{})
	require.NoError(t, err)
	for seen := uint64(0); seen < info.State.Msgs; seen++ {
		msg, err := c.Next(jetstream.FetchMaxWait(10 * time.Second))
		require.NoError(t, err, "reading the stream after %d of %d", seen, info.State.Msgs)
		if meta, err := msg.Metadata(); err == nil && meta.Sequence.Stream > info.State.LastSeq {
			break
		}
		out.add(t, msg)
	}
	return out
}

func (out *tally) add(t *testing.T, msg jetstream.Msg) {
	t.Helper()
	ev, err := events.Decode(&nats.Msg{Subject: msg.Subject(), Header: msg.Headers(), Data: msg.Data()})
	require.NoError(t, err, "a function published an undecodable event on %s", msg.Subject())
	require.NoError(t, events.Check(msg.Subject(), ev), "a function published an invalid event")
	switch ev.Type() {
	case events.TypeSnapshot:
		out.snapshots++
		out.snapshotByID[ev.ID()] = mustData[events.Snapshot](t, ev)
	case events.TypeMetric:
		out.metrics++
	case events.TypeDecision:
		d := mustData[events.Decision](t, ev)
		if _, seen := out.decisions[d.DecisionID]; !seen {
			out.decisionOrder = append(out.decisionOrder, d.DecisionID)
		}
		out.decisions[d.DecisionID] = d
	case events.TypeResult:
		r := mustData[events.Result](t, ev)
		out.results[r.DecisionID] = append(out.results[r.DecisionID], r)
	case events.TypeRejected:
		out.rejected = append(out.rejected, mustData[events.Rejected](t, ev))
	}
}

func mustData[T any](t *testing.T, ev cloudevents.Event) T {
	t.Helper()
	v, err := events.Data[T](ev)
	require.NoError(t, err)
	return v
}

// countSubject returns how many messages the stream holds on filter.
func countSubject(ctx context.Context, js jetstream.JetStream, filter string) (uint64, error) {
	s, err := js.Stream(ctx, events.StreamName)
	if err != nil {
		return 0, err
	}
	info, err := s.Info(ctx, jetstream.WithSubjectFilter(filter))
	if err != nil {
		return 0, err
	}
	var n uint64
	for _, c := range info.State.Subjects {
		n += c
	}
	return n, nil
}
