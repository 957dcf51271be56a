package decider

import (
	"fmt"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/cputime"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
)

// BenchmarkDecidePipeline drives the decide function over embedded
// JetStream: b.N jobs each send two settled snapshots of a saturated job
// (the second yields a scale-up decision). "max" publishes as fast as
// JetStream accepts; "1000/s" paces snapshots at 1,000/s (10,000 jobs at a
// 10 s interval). Reported: snapshots/s through decide and the p99 latency
// from publishing a snapshot to receiving its decision.
func BenchmarkDecidePipeline(b *testing.B) {
	for _, rate := range []int{0, 1000} {
		name := "max"
		if rate > 0 {
			name = fmt.Sprintf("%d/s", rate)
		}
		b.Run(name, func(b *testing.B) { benchPipeline(b, rate) })
	}
}

func benchPipeline(b *testing.B, rate int) {
	e := startEnv(b)
	runReplica(b, e)
	var mu sync.Mutex
	sent := map[string]time.Time{}
	var lat []time.Duration
	done := make(chan struct{})
	sub, err := e.nc.Subscribe(events.DecisionFilter, func(m *nats.Msg) {
		ev, err := events.Decode(m)
		if err != nil {
			return
		}
		d, err := events.Data[events.Decision](ev)
		if err != nil {
			return
		}
		mu.Lock()
		defer mu.Unlock()
		if at, ok := sent[d.SnapshotID]; ok {
			lat = append(lat, time.Since(at))
			delete(sent, d.SnapshotID)
			if len(lat) == b.N {
				close(done)
			}
		}
	})
	require.NoError(b, err)
	defer func() { _ = sub.Unsubscribe() }()

	b.ResetTimer()
	start, cpu0 := time.Now(), cputime.Process()
	n := 0
	for round, sec := range []int{80, 90} {
		for j := range b.N {
			if rate > 0 {
				if wait := time.Until(start.Add(time.Duration(n) * time.Second / time.Duration(rate))); wait > 0 {
					time.Sleep(wait) // pacing the load generator
				}
			}
			n++
			s := jobSnapshot(fmt.Sprintf("j%06d", j), sec)
			ev, err := events.New(events.TypeSnapshot, "metrics-ingest", s.Cluster, s.JobID, s)
			require.NoError(b, err)
			if round == 1 {
				mu.Lock()
				sent[ev.ID()] = time.Now()
				mu.Unlock()
			}
			msg, err := events.ToMsg(events.SnapshotSubject(s.Cluster, s.JobID), ev)
			require.NoError(b, err)
			_, err = e.js.PublishMsgAsync(msg)
			require.NoError(b, err)
		}
	}
	select {
	case <-done:
	case <-time.After(120 * time.Second):
		b.Fatalf("only %d of %d decisions arrived", len(lat), b.N)
	}
	elapsed, cpu := time.Since(start), cputime.Process()-cpu0
	b.StopTimer()
	b.ReportMetric(float64(cpu.Microseconds())/float64(2*b.N), "cpu-µs/snapshot")
	slices.Sort(lat)
	b.ReportMetric(float64(2*b.N)/elapsed.Seconds(), "snapshots/s")
	b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
}
