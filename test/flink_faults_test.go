package test

import (
	"math/rand/v2"
	"net/http"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/natsserver"
)

// faultProxy stands in front of the emulator: while on, it fails a share of
// requests (500, a dropped connection or a truncated body, in turn) and
// delays the others by up to maxDelay.
type faultProxy struct {
	next     http.Handler
	on       atomic.Bool
	share    float64
	maxDelay time.Duration
	mu       sync.Mutex
	rnd      *rand.Rand
	failed   atomic.Int64
	served   atomic.Int64
}

func (p *faultProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.served.Add(1)
	if !p.on.Load() {
		p.next.ServeHTTP(w, r)
		return
	}
	p.mu.Lock()
	fail, kind, delay := p.rnd.Float64() < p.share, p.rnd.IntN(3), time.Duration(p.rnd.Int64N(int64(p.maxDelay)))
	p.mu.Unlock()
	// A slow JobManager: the delay is the fault itself, not a wait.
	select {
	case <-time.After(delay):
	case <-r.Context().Done():
		return
	}
	if !fail {
		p.next.ServeHTTP(w, r)
		return
	}
	p.failed.Add(1)
	switch kind {
	case 0:
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = w.Write([]byte(`{"errors":["Internal server error."]}`))
	case 1:
		panic(http.ErrAbortHandler) // the connection drops without an answer
	default:
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"jid":"`)) // a truncated body
	}
}

// TestFlinkRESTFailingAndSlow runs the pipeline with 30% of Flink REST
// requests failing and every request delayed by up to a tenth of the poll
// interval, for the first 10 simulated minutes, while the load only rises.
// No decision is built from an incomplete snapshot, none scales below the
// offered load while it rises (trimming an overshoot is allowed), every
// snapshot's numbers come from Flink (none is a zero standing in for a
// failed read), and once Flink heals, snapshots are complete again and
// decide follows the load down.
func TestFlinkRESTFailingAndSlow(t *testing.T) {
	const snapshotSpan = time.Minute // simulated: how long after its stamp a snapshot's reads may come
	proxy := &faultProxy{share: 0.3, rnd: rand.New(rand.NewPCG(9, 9))}
	e := startEmulator(t, stepScenario, 60, func(h http.Handler) http.Handler { proxy.next = h; return proxy })
	proxy.maxDelay = e.scaled(10*time.Second, 0) / 10
	proxy.on.Store(true)
	srv, err := natsserver.Start(natsserver.Config{})
	require.NoError(t, err)
	t.Cleanup(srv.Shutdown)
	startDecide(t, decideConfig(t, srv.ClientURL()), testLog(t, "decide"))
	startActuate(t, actuateConfig(t, e, srv.ClientURL()), testLog(t, "actuate"))
	startIngest(t, e, ingestConfig(e, srv.ClientURL()), events.ConnOptions{URL: srv.ClientURL()}, testLog(t, "ingest"))

	healAt := e.sim.Now().Add(10 * time.Minute)
	eventually(t, 60*time.Second, func() bool { return e.sim.Now().After(healAt) }, "the emulator did not reach 10 minutes")
	proxy.on.Store(false)
	failed, served := proxy.failed.Load(), proxy.served.Load()
	faulty := readStream(t, srv.ClientURL())

	// The load steps down at 14 minutes; decide scales down after its
	// 5-minute window.
	eventually(t, 90*time.Second, func() bool {
		for _, d := range readStream(t, srv.ClientURL()).decisions {
			if d.TaskManagers.Target < d.TaskManagers.Current {
				return true
			}
		}
		return false
	}, "no scale-down after Flink healed and the load fell")
	got := readStream(t, srv.ClientURL())

	incomplete := 0
	for _, s := range faulty.snapshotByID {
		if !s.Complete {
			incomplete++
		}
	}
	for _, id := range got.decisionOrder {
		d := got.decisions[id]
		snap, ok := got.snapshotByID[d.SnapshotID]
		require.True(t, ok, "decision %s names snapshot %s, not in the stream", id, d.SnapshotID)
		require.True(t, snap.Complete, "decision %s was built from an incomplete snapshot: %v", id, snap.Incomplete)
		if snap.ObservedAt.Before(healAt.Add(4*time.Minute)) && d.TaskManagers.Target < d.TaskManagers.Current {
			// Trimming an overshoot while the load holds is the policy's
			// call; a scale-down below what the load needs is a faulty
			// read acted on.
			enrich := d.TaskManagers.Target * stepSlotsPerTaskManager
			for _, v := range d.Vertices {
				if v.Name == "enrich" {
					enrich = v.Target
				}
			}
			// A snapshot is stamped when its poll starts; its reads
			// follow, each delayed by the proxy, while the emulator runs
			// on at 60× (a loaded machine stretches them over simulated
			// seconds): what it read may come from a little after its
			// stamp, so the need is the lowest offered rate in the
			// simulated minute after it.
			need := min(e.offered(snap.ObservedAt), e.offered(snap.ObservedAt.Add(snapshotSpan)))
			require.GreaterOrEqual(t, float64(enrich)*stepEnrichCapacity, need,
				"decision %s scaled enrich below the offered %.0f rec/s while the load rose: %s", id, need, d.Rationale)
		}
	}
	for id, s := range got.snapshotByID {
		for _, v := range s.Vertices {
			if v.RecordsInPerSecond != nil && *v.RecordsInPerSecond == 0 && s.JobState == "RUNNING" && s.Complete {
				require.Failf(t, "invented zero", "snapshot %s: vertex %s reads 0 records/s while the job runs", id, v.Name)
			}
		}
	}
	t.Logf("faulty phase: %d of %d Flink requests failed, %d snapshots (%d incomplete), %d decisions; after healing: %d snapshots, %d decisions, %d results; every decision from a complete snapshot, none down while the load rose",
		failed, served, faulty.snapshots, incomplete, len(faulty.decisions), got.snapshots, len(got.decisions), len(got.results))
	require.Positive(t, failed)
}
