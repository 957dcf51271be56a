package test

import (
	"fmt"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/functions/decide/decider"
	"github.com/flinkscaler/flinkscaler/internal/events"
)

// malformed is one kind of hostile message: a subject and a message for
// the i-th copy.
type malformed struct {
	name string
	msg  func(i int) *nats.Msg
}

func hostileKinds() []malformed {
	binary := func(subject string, h map[string]string, body string) *nats.Msg {
		m := nats.NewMsg(subject)
		for k, v := range h {
			m.Header.Set(k, v)
		}
		m.Data = []byte(body)
		return m
	}
	job := func(i int) string { return fmt.Sprintf("%032x", i%64) }
	ce := func(typ, cluster, subject string) map[string]string {
		return map[string]string{"ce-specversion": "1.0", "ce-id": "x", "ce-source": "/evil", "ce-type": typ,
			"ce-subject": subject, "ce-cluster": cluster, "content-type": events.DataJSON}
	}
	return []malformed{
		{"not a CloudEvent", func(i int) *nats.Msg {
			return binary(events.SnapshotSubject(cluster, job(i)), nil, "\x00\xff garbage "+fmt.Sprint(i))
		}},
		{"binary mode without id and type", func(i int) *nats.Msg {
			return binary(events.SnapshotSubject(cluster, job(i)), map[string]string{"ce-specversion": "1.0"}, "{}")
		}},
		{"structured mode, broken JSON", func(i int) *nats.Msg {
			return binary(events.MetricSubject(cluster, job(i)), map[string]string{"content-type": events.StructuredJSON}, `{"specversion":"1.0","id":`)
		}},
		{"unknown type", func(i int) *nats.Msg {
			return binary(events.SnapshotSubject(cluster, job(i)), ce("com.evil.v1", cluster, job(i)), `{}`)
		}},
		{"snapshot failing its schema", func(i int) *nats.Msg {
			return binary(events.SnapshotSubject(cluster, job(i)), ce(events.TypeSnapshot, cluster, job(i)),
				`{"cluster":5,"jobId":[],"vertices":{"a":1e999}}`)
		}},
		{"metric for another job than its subject", func(i int) *nats.Msg {
			return binary(events.MetricSubject(cluster, job(i)), ce(events.TypeMetric, cluster, job(i)),
				`{"cluster":"other","job":"j","name":"lag","value":-1,"observedAt":"2024-01-01T00:00:00Z"}`)
		}},
	}
}

// TestFloodOfMalformedMessages publishes 100,000 malformed messages of six
// kinds into a running decide (decider.Run, whose runner consumes snapshots
// and metrics) over nats-server as a separate process, and checks that every
// one is reported on flinkscaler.rejected.decide with a reason and that the
// heap of the process running decide stays bounded.
func TestFloodOfMalformedMessages(t *testing.T) {
	const total = 100_000
	ns := startNATSProcess(t)
	cfg := decideConfig(t, ns.url())
	startDecide(t, cfg, testLog(t, "decide"))
	nc, err := nats.Connect(ns.url())
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx := t.Context()
	eventually(t, 60*time.Second, func() bool {
		_, err := js.Consumer(ctx, events.StreamName, decider.Function)
		return err == nil
	}, "decide did not start")

	base := heapInuse()
	var peak uint64
	sample := func() { peak = max(peak, heapInuse()) }
	kinds := hostileKinds()
	start := time.Now()
	for i := range total {
		if _, err := js.PublishMsgAsync(kinds[i%len(kinds)].msg(i)); err != nil {
			require.NoError(t, err)
		}
		if i%2000 == 1999 {
			select {
			case <-js.PublishAsyncComplete():
			case <-time.After(30 * time.Second):
				require.FailNow(t, "publishing stalled", "after %d messages", i)
			}
			sample()
		}
	}
	published := time.Since(start)
	rejected := func() uint64 {
		n, _ := countSubject(ctx, js, events.RejectedSubject(decider.Function))
		sample()
		return n
	}
	eventually(t, 5*time.Minute, func() bool { return rejected() >= total },
		"decide rejected %d of %d", rejected(), total)
	took := time.Since(start)
	runtime.GC()
	after := heapInuse()

	reasons := rejectionReasons(t, js, len(kinds)*10)
	t.Logf("%d malformed messages (%d kinds) published in %s; all %d rejected with a reason after %s (%.0f/s); heap in use %d MiB before, peak %d MiB, %d MiB after GC",
		total, len(kinds), published.Round(time.Millisecond), rejected(), took.Round(time.Millisecond),
		float64(total)/took.Seconds(), base>>20, peak>>20, after>>20)
	for r, n := range reasons {
		t.Logf("  %4d × %s", n, r)
	}
	require.Equal(t, uint64(total), rejected(), "each malformed message rejected exactly once")
	require.Less(t, peak, base+256<<20, "heap grew by more than 256 MiB during the flood")
	require.Less(t, after, base+32<<20, "heap kept more than 32 MiB after the flood")
}

// heapInuse is HeapInuse after a collection.
func heapInuse() uint64 {
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapInuse
}

// rejectionReasons reads the first n rejected events and counts their
// reasons; every one must name its subject and a reason.
func rejectionReasons(t *testing.T, js jetstream.JetStream, n int) map[string]int {
	t.Helper()
	c, err := js.OrderedConsumer(t.Context(), events.StreamName, jetstream.OrderedConsumerConfig{FilterSubjects: []string{events.RejectedFilter}})
	require.NoError(t, err)
	out := map[string]int{}
	for range n {
		msg, err := c.Next(jetstream.FetchMaxWait(10 * time.Second))
		require.NoError(t, err)
		ev, err := events.Decode(&nats.Msg{Subject: msg.Subject(), Header: msg.Headers(), Data: msg.Data()})
		require.NoError(t, err)
		r := mustData[events.Rejected](t, ev)
		require.NotEmpty(t, r.Reason)
		require.NotEmpty(t, r.Subject)
		// Group by the reason's start: the rest names jobs and fields.
		reason, _, _ := strings.Cut(r.Reason, "\n")
		if len(reason) > 60 {
			reason = reason[:60] + "…"
		}
		out[reason]++
	}
	return out
}
