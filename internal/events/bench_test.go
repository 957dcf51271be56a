package events

import (
	"context"
	"encoding/json"
	"fmt"
	"slices"
	"strconv"
	"sync"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	"github.com/flinkscaler/flinkscaler/internal/cputime"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

// BenchmarkEventThroughput measures publish → JetStream → runner → handler
// → ack with ~1 KiB snapshot events through one durable consumer. "max"
// publishes as fast as JetStream accepts; "2000/s" paces publishing to
// 2,000 events/s. Each reports events/s and the p99 publish-to-handler
// latency in ms.
func BenchmarkEventThroughput(b *testing.B) {
	for _, rate := range []int{0, 2000} {
		name := "max"
		if rate > 0 {
			name = fmt.Sprintf("%d/s", rate)
		}
		b.Run(name, func(b *testing.B) { benchThroughput(b, rate) })
	}
}

func benchThroughput(b *testing.B, rate int) {
	_, js := startJS(b)
	lat := make([]time.Duration, 0, b.N)
	var mu sync.Mutex
	done := make(chan struct{})
	handled := 0
	r, err := NewRunner(js, RunnerConfig{Function: "bench", Durable: "bench", FilterSubjects: []string{SnapshotFilter}},
		func(_ context.Context, ev cloudevents.Event) ([]cloudevents.Event, error) {
			sent, _ := strconv.ParseInt(fmt.Sprint(ev.Extensions()["benchts"]), 10, 64)
			mu.Lock()
			lat = append(lat, time.Since(time.Unix(0, sent)))
			handled++
			if handled == b.N {
				close(done)
			}
			mu.Unlock()
			return nil, nil
		})
	require.NoError(b, err)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = r.Run(ctx) }()
	ev := snapshotEvent(b)
	msg0, err := ToMsg(SnapshotSubject("demo", ev.Subject()), ev)
	require.NoError(b, err)
	b.Logf("event size %d bytes", len(msg0.Data))
	start, cpu0 := publishPaced(b, js, ev, rate)
	<-done
	elapsed, cpu := time.Since(start), cputime.Process()-cpu0
	b.StopTimer()
	b.ReportMetric(float64(cpu.Microseconds())/float64(b.N), "cpu-µs/event")
	slices.Sort(lat)
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "events/s")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}

// publishPaced publishes b.N copies of ev asynchronously, at rate per
// second when rate > 0. The messages are encoded before the clock starts (a
// producer is another process in production); each gets its publish time
// as the ce-benchts header as it goes out.
//
// It returns when publishing began, in wall-clock and process CPU time.
func publishPaced(b *testing.B, js jetstream.JetStream, ev cloudevents.Event, rate int) (time.Time, time.Duration) {
	msgs := make([]*nats.Msg, b.N)
	for i := range b.N {
		e := ev.Clone()
		e.SetID(strconv.Itoa(i))
		e.SetSubject(fmt.Sprintf("job%02d", i%64)) // 64 jobs, as a fleet would send
		msg, err := ToMsg(SnapshotSubject("demo", e.Subject()), e)
		require.NoError(b, err)
		msg.Data = jobData(b, e.Subject())
		msgs[i] = msg
	}
	b.ResetTimer()
	start, cpu0 := time.Now(), cputime.Process()
	for i, msg := range msgs {
		if rate > 0 {
			if wait := time.Until(start.Add(time.Duration(i) * time.Second / time.Duration(rate))); wait > 0 {
				time.Sleep(wait) // pacing the load generator
			}
		}
		msg.Header.Set("ce-benchts", strconv.FormatInt(time.Now().UnixNano(), 10))
		_, err := js.PublishMsgAsync(msg)
		require.NoError(b, err)
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(30 * time.Second):
		b.Fatal("publishes not acknowledged")
	}
	return start, cpu0
}

var jobDataCache sync.Map

// jobData is the sample snapshot's data for job, so subject and data agree.
func jobData(b *testing.B, job string) []byte {
	if d, ok := jobDataCache.Load(job); ok {
		return d.([]byte)
	}
	s := sampleSnapshot()
	s.JobID = job
	d, err := json.Marshal(s)
	require.NoError(b, err)
	jobDataCache.Store(job, d)
	return d
}
