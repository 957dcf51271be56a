package kedascaler

import (
	"context"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
	"github.com/stretchr/testify/require"
)

// BenchmarkKEDAGetMetrics offers GetMetrics from KEDA's generated client at
// a fixed 1,000 requests/s (open loop: a request starts every millisecond
// whatever the previous ones do) against 1,000 jobs in the view, and reports
// the 99th percentile latency as p99-ms.
func BenchmarkKEDAGetMetrics(b *testing.B) {
	h := startHarness(b, nil)
	c := dial(b, h.addr, nil)
	const jobs = 1000
	ids := make([]string, jobs)
	for i := range ids {
		ids[i] = jobIDOf(i)
		h.put(b, Desired{Cluster: "prod", JobID: ids[i], JobName: "job-" + ids[i][:8], TaskManagers: i%50 + 1, Running: true})
	}
	ctx := context.Background()
	last := ref("prod", ids[jobs-1])
	require.Eventually(b, func() bool {
		_, err := c.GetMetrics(ctx, &externalscaler.GetMetricsRequest{ScaledObjectRef: last, MetricName: MetricName})
		return err == nil
	}, 10*time.Second, 5*time.Millisecond)

	lat := make([]time.Duration, b.N)
	errs := make([]error, b.N)
	var wg sync.WaitGroup
	tick := time.NewTicker(time.Millisecond)
	defer tick.Stop()
	b.ResetTimer()
	for i := range b.N {
		<-tick.C
		wg.Add(1)
		go func() {
			defer wg.Done()
			req := &externalscaler.GetMetricsRequest{ScaledObjectRef: ref("prod", ids[i%jobs]), MetricName: MetricName}
			start := time.Now()
			_, errs[i] = c.GetMetrics(ctx, req)
			lat[i] = time.Since(start)
		}()
	}
	wg.Wait()
	b.StopTimer()
	for _, err := range errs {
		require.NoError(b, err)
	}
	slices.Sort(lat)
	p99 := lat[min(len(lat)-1, len(lat)*99/100)]
	b.ReportMetric(float64(p99.Microseconds())/1000, "p99-ms")
	b.ReportMetric(float64(lat[len(lat)/2].Microseconds())/1000, "p50-ms")
}

func jobIDOf(i int) string {
	const hex = "0123456789abcdef"
	id := []byte("00000000000000000000000000000000")
	for p := len(id) - 1; i > 0; p-- {
		id[p] = hex[i%16]
		i /= 16
	}
	return string(id)
}

// BenchmarkKEDAGetMetricsHandler measures the server's own work per
// GetMetrics (metadata check, view lookup by job name among 10,000 jobs,
// response), without gRPC: the part of the latency this code controls.
func BenchmarkKEDAGetMetricsHandler(b *testing.B) {
	h := startHarness(b, nil)
	const jobs = 10000
	for i := range jobs {
		id := jobIDOf(i)
		h.put(b, Desired{Cluster: "prod", JobID: id, JobName: "job-" + id, TaskManagers: i%50 + 1, Running: true})
	}
	view := NewView()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go func() { _ = view.Watch(ctx, h.kv) }() // ends with ctx; its error is irrelevant here
	<-view.Ready()
	s := NewServer(view, nil)
	req := &externalscaler.GetMetricsRequest{ScaledObjectRef: ref("prod", "job-"+jobIDOf(jobs-1)), MetricName: MetricName}
	b.ResetTimer()
	for b.Loop() {
		if _, err := s.GetMetrics(ctx, req); err != nil {
			b.Fatal(err)
		}
	}
}
