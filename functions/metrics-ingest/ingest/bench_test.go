package ingest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/flinksim"
	"github.com/stretchr/testify/require"
)

// cpuTime is the user+system CPU this process has used.
func cpuTime(tb testing.TB) time.Duration {
	var ru syscall.Rusage
	require.NoError(tb, syscall.Getrusage(syscall.RUSAGE_SELF, &ru))
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// emulatorFleet serves n emulated clusters of one scenario, one job each,
// under /c<i>/ on one HTTP server.
func emulatorFleet(tb testing.TB, scenario string, n int) *httptest.Server {
	tb.Helper()
	sc, err := flinksim.LoadScenario(scenario)
	require.NoError(tb, err)
	mux := http.NewServeMux()
	for i := range n {
		c := flinksim.New(sc, flinksim.Options{})
		c.Advance(2 * time.Minute)
		prefix := fmt.Sprintf("/c%d", i)
		mux.Handle(prefix+"/", http.StripPrefix(prefix, c.Handler()))
	}
	srv := httptest.NewServer(mux)
	tb.Cleanup(srv.Close)
	return srv
}

// BenchmarkCycle1000Jobs polls 1,000 emulated jobs of 10 vertices (one per
// cluster) per cycle and reports the CPU seconds one cycle costs the whole
// process, emulator included, so the figure is an upper bound for ingest:
//
//	go test -run '^$' -bench Cycle1000Jobs -benchtime 5x ./functions/metrics-ingest/ingest/
func BenchmarkCycle1000Jobs(b *testing.B) {
	const jobs = 1000
	srv := emulatorFleet(b, "testdata/ten-vertices.yaml", jobs)
	cfg := DefaultConfig()
	cfg.Interval = 10 * time.Second
	for i := range jobs {
		cfg.Targets = append(cfg.Targets, Target{Cluster: fmt.Sprintf("c%d", i), URL: fmt.Sprintf("%s/c%d", srv.URL, i)})
	}
	var logOut io.Writer = io.Discard
	if testing.Verbose() {
		logOut = os.Stderr
	}
	pub := &capture{}
	svc, err := NewService(cfg, Deps{Publisher: pub, Logger: slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: slog.LevelWarn}))})
	require.NoError(b, err)
	svc.Cycle(context.Background()) // warm connections
	pub.take()
	b.ResetTimer()
	complete := 0
	cpu0, wall0 := cpuTime(b), time.Now()
	for range b.N {
		rep := svc.Cycle(context.Background())
		pub.take()
		complete += rep.Published - rep.Incomplete
		if rep.Published != jobs || rep.Incomplete != 0 {
			b.Logf("not every job gave a complete snapshot (a loaded machine times requests out): %+v", rep)
		}
	}
	cpu, wall := cpuTime(b)-cpu0, time.Since(wall0)
	b.ReportMetric(cpu.Seconds()/float64(b.N), "cpu-s/cycle")
	b.ReportMetric(wall.Seconds()/float64(b.N), "wall-s/cycle")
	b.ReportMetric(cpu.Seconds()/float64(b.N)/cfg.Interval.Seconds(), "cores@10s")
	b.ReportMetric(float64(complete)/float64(b.N), "complete/cycle")
}
