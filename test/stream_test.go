package test

import (
	"context"
	"errors"
	"fmt"
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

// readStream reads every event in the stream, by sequence on its own
// connection, and tallies them. Reads are retried for up to 30 s, so a
// clustered stream may change leaders meanwhile.
func readStream(t *testing.T, url string, opts ...nats.Option) tally {
	t.Helper()
	nc, err := nats.Connect(url, opts...)
	require.NoError(t, err)
	defer nc.Close()
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var s jetstream.Stream
	var info *jetstream.StreamInfo
	retry(t, ctx, "stream info", func(ctx context.Context) (err error) {
		if s, err = js.Stream(ctx, events.StreamName); err == nil {
			info, err = s.Info(ctx)
		}
		return err
	})
	out := tally{decisions: map[string]events.Decision{}, results: map[string][]events.Result{}, snapshotByID: map[string]events.Snapshot{}}
	for seq := info.State.FirstSeq; info.State.Msgs > 0 && seq <= info.State.LastSeq; seq++ {
		var m *jetstream.RawStreamMsg
		retry(t, ctx, fmt.Sprintf("message %d", seq), func(ctx context.Context) (err error) {
			m, err = s.GetMsg(ctx, seq)
			if errors.Is(err, jetstream.ErrMsgNotFound) {
				return nil // deleted or aged out
			}
			return err
		})
		if m != nil {
			out.add(t, m.Subject, m.Header, m.Data)
		}
	}
	return out
}

// retry calls f until it succeeds or ctx ends, 50 ms apart.
func retry(t *testing.T, ctx context.Context, what string, f func(context.Context) error) {
	t.Helper()
	tick := time.NewTicker(50 * time.Millisecond)
	defer tick.Stop()
	for {
		c, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := f(c)
		cancel()
		if err == nil {
			return
		}
		select {
		case <-ctx.Done():
			require.NoError(t, err, "reading the stream: %s", what)
		case <-tick.C:
		}
	}
}

func (out *tally) add(t *testing.T, subject string, h nats.Header, data []byte) {
	t.Helper()
	ev, err := events.Decode(&nats.Msg{Subject: subject, Header: h, Data: data})
	require.NoError(t, err, "a function published an undecodable event on %s", subject)
	require.NoError(t, events.Check(subject, ev), "a function published an invalid event")
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
