package test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/demo"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
)

// loadScenario reads a shipped scenario file.
func loadScenario(t *testing.T, name string) *flinksim.Scenario {
	t.Helper()
	sc, err := flinksim.LoadScenario(filepath.Join("..", "scenarios", name))
	require.NoError(t, err)
	return sc
}

// TestDemoRejectsHostileMessages runs `flinkscaler demo` in-process with its
// NATS server exposed on a port (--nats-listen) and, once the pipeline is
// consuming, publishes 1,000 hostile messages of six kinds on the subjects
// decide and actuate consume. Every one is rejected with a reason, and the
// demo still runs to its end and decides as usual.
func TestDemoRejectsHostileMessages(t *testing.T) {
	const hostile = 1000
	cfg := demo.Defaults(loadScenario(t, "wordcount.yaml"))
	cfg.Speed, cfg.Duration, cfg.NATSListen = 120, 20*time.Minute, freeAddr(t)
	var (
		mu       sync.Mutex
		reasons  = map[string]int{}
		injected = make(chan error, 1)
	)
	cfg.OnStart = func(ep demo.Endpoints) {
		injected <- injectHostile(ep.NATS, hostile, func(r events.Rejected) {
			mu.Lock()
			defer mu.Unlock()
			reasons[r.Function]++
		})
	}
	out, err := demo.Run(context.Background(), cfg)
	require.NoError(t, err)
	require.NoError(t, <-injected)
	require.False(t, out.Interrupted, "the demo did not run to its end")
	mu.Lock()
	defer mu.Unlock()
	t.Logf("demo ran %s simulated in %s with %d decisions; %d hostile messages published, %d rejected (by function %v)",
		out.Simulated, out.Wall.Round(time.Millisecond), len(out.Decisions), hostile, out.Rejected, reasons)
	require.Equal(t, hostile, out.Rejected, "rejections counted by the demo")
	require.Equal(t, hostile, reasons["decide"]+reasons["actuate"], "rejected events seen on NATS")
	require.NotEmpty(t, out.Decisions, "the demo made no decision")
}

// injectHostile publishes n malformed messages (the flood kinds, and the
// same on decision subjects for actuate) and, on its own subscription,
// hands every rejected event seen to seen until all n arrived.
func injectHostile(url string, n int, seen func(events.Rejected)) error {
	nc, err := nats.Connect(url)
	if err != nil {
		return err
	}
	defer nc.Close()
	got := make(chan struct{}, n)
	sub, err := nc.Subscribe(events.RejectedFilter, func(m *nats.Msg) {
		ev, err := events.Decode(m)
		if err != nil {
			return
		}
		if r, err := events.Data[events.Rejected](ev); err == nil && r.Reason != "" {
			seen(r)
			got <- struct{}{}
		}
	})
	if err != nil {
		return err
	}
	defer sub.Unsubscribe()
	js, err := nc.JetStream()
	if err != nil {
		return err
	}
	kinds := hostileKinds()
	for i := range n {
		m := kinds[i%len(kinds)].msg(i)
		if i%2 == 1 {
			m.Subject = events.DecisionSubject("demo", fmt.Sprintf("%032x", i))
		}
		if _, err := js.PublishMsgAsync(m); err != nil {
			return err
		}
	}
	select {
	case <-js.PublishAsyncComplete():
	case <-time.After(30 * time.Second):
		return fmt.Errorf("publishing %d hostile messages stalled", n)
	}
	deadline := time.After(60 * time.Second)
	for i := range n {
		select {
		case <-got:
		case <-deadline:
			return fmt.Errorf("%d of %d hostile messages rejected within a minute", i, n)
		}
	}
	return nil
}

// TestSoakDemo runs the demo on the spiky, dedicated-slot scenario at speed
// 600 (2 simulated hours by default; 10 hours with -soak) while sampling the
// live heap (in use after a collection) and the goroutines of this process,
// which runs all of it, at every progress line of the demo (every 5
// simulated minutes, 500 ms of wall time at 600×): the samples follow the
// run's simulated time, so a stalled process takes as many as an idle one
// (a wall-clock ticker dropped its ticks while the process was stopped, and
// the 2-hour run ended with too few).
// After the first fifth (warm-up), goroutines may not grow and the heap may
// grow by at most half plus 8 MiB. Some growth is by design: the demo records
// every interval for its report, and the embedded NATS server buffers the
// stream, which keeps every event of the run (FLINKSCALER_SOAK_HEAP=FILE
// writes heap profiles FILE.30 and FILE.110, 150 and 550 simulated minutes
// in; FLINKSCALER_SOAK_CSV=FILE the samples).
func TestSoakDemo(t *testing.T) {
	dur := 2 * time.Hour
	if soak() {
		dur = 10 * time.Hour
	}
	cfg := demo.Defaults(loadScenario(t, "spikes-dedicated.yaml"))
	cfg.Speed, cfg.Duration = 600, dur
	cfg.ProgressEvery = soakSampleEvery
	sampler := &soakSampler{start: time.Now()}
	cfg.Progress = sampler
	out, err := demo.Run(context.Background(), cfg)
	require.NoError(t, err)
	require.False(t, out.Interrupted)
	samples := sampler.taken()
	// One per progress line from 0:00:00 to the end, whatever the wall
	// clock did meanwhile.
	require.GreaterOrEqual(t, len(samples), int(dur/soakSampleEvery), "a sample per %s of simulated time", soakSampleEvery)

	// The first fifth is warm-up; the last twentieth is the run's end, when
	// the demo assembles its outcome from what it recorded.
	warm, end := len(samples)/5, len(samples)-len(samples)/20
	half := warm + (end-warm)/2
	mid, last := samples[warm:half], samples[half:end]
	// The heap's peak, and the goroutines' median: a sample falls on a
	// moment of the run (a poll in flight, a connection being dialled
	// again after a stall's timeout), which adds a few goroutines for a
	// moment; a leak raises the median of the later half as well.
	peak := func(s []soakSample) (heap uint64, gr int) {
		grs := make([]int, 0, len(s))
		for _, x := range s {
			heap = max(heap, x.heap)
			grs = append(grs, x.goroutines)
		}
		slices.Sort(grs)
		return heap, grs[len(grs)/2]
	}
	midHeap, midGR := peak(mid)
	lastHeap, lastGR := peak(last)
	t.Logf("soak: %s simulated in %s (%d decisions, %d rejected); %d samples; after warm-up: heap in use peak %.1f MiB (first half) → %.1f MiB (second half), goroutines median %d → %d",
		out.Simulated, out.Wall.Round(time.Millisecond), len(out.Decisions), out.Rejected, len(samples),
		float64(midHeap)/(1<<20), float64(lastHeap)/(1<<20), midGR, lastGR)
	if f := os.Getenv("FLINKSCALER_SOAK_CSV"); f != "" {
		writeSamples(t, f, func(w func(string, ...any)) {
			w("seconds,heap_inuse_bytes,goroutines\n")
			for _, s := range samples {
				w("%.2f,%d,%d\n", s.at.Seconds(), s.heap, s.goroutines)
			}
		})
	}
	require.LessOrEqual(t, lastHeap, midHeap+midHeap/2+8<<20, "heap in use grew after warm-up")
	require.LessOrEqual(t, lastGR, midGR+8, "goroutines grew after warm-up")
}

// soakSampleEvery is the simulated time between TestSoakDemo's samples
// (the demo's progress interval).
const soakSampleEvery = 5 * time.Minute

// soakSample is the process at one of the demo's progress lines.
type soakSample struct {
	at         time.Duration // wall time since the start
	heap       uint64        // heap in use after a collection
	goroutines int
}

// soakSampler is the demo's progress writer: at each progress line (a line
// that starts with the simulated clock and the offered rate; the demo
// writes each in one call) it collects garbage and samples the live heap
// and the goroutines, so the samples follow the simulated time.
type soakSampler struct {
	start   time.Time
	mu      sync.Mutex
	samples []soakSample
}

// progressLine is a progress line of the demo: "  0:05:00  12.0k  …",
// not a header, a decision or a result.
var progressLine = regexp.MustCompile(`^  [0-9]+:[0-9]{2}:[0-9]{2} +[0-9]`)

func (s *soakSampler) Write(p []byte) (int, error) {
	if !progressLine.Match(p) {
		return len(p), nil
	}
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	s.mu.Lock()
	defer s.mu.Unlock()
	s.samples = append(s.samples, soakSample{time.Since(s.start), m.HeapInuse, runtime.NumGoroutine()})
	if path := os.Getenv("FLINKSCALER_SOAK_HEAP"); path != "" && (len(s.samples) == 30 || len(s.samples) == 110) {
		writeHeapProfile(fmt.Sprintf("%s.%d", path, len(s.samples)))
	}
	return len(p), nil
}

// taken returns the samples so far.
func (s *soakSampler) taken() []soakSample {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]soakSample(nil), s.samples...)
}

func writeSamples(t *testing.T, path string, body func(w func(string, ...any))) {
	t.Helper()
	f, err := os.Create(path)
	require.NoError(t, err)
	defer f.Close()
	body(func(format string, args ...any) { _, _ = fmt.Fprintf(f, format, args...) })
}

// writeHeapProfile writes a heap profile to path when it is set.
func writeHeapProfile(path string) {
	if path == "" {
		return
	}
	f, err := os.Create(path)
	if err != nil {
		return
	}
	defer f.Close()
	_ = pprof.WriteHeapProfile(f)
}
