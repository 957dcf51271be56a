package test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// TestNATSKilledAndRestarted runs the whole pipeline against nats-server as
// a separate process with file storage, kills it with SIGKILL after the first
// applied decision and starts it again on the same port and store: every
// function reconnects, every decision gets a result, none is applied twice.
// It runs the emulator at outageSpeed, as TestClusterNodeKilled does, and
// its waits are wall-time upper bounds.
func TestNATSKilledAndRestarted(t *testing.T) {
	ns := startNATSProcess(t)
	e := startEmulator(t, restepScenario, outageSpeed, nil)
	startDecide(t, decideConfig(t, ns.url()), testLog(t, "decide"))
	startActuate(t, actuateConfig(t, e, ns.url()), testLog(t, "actuate"))
	startIngest(t, e, ingestConfig(e, ns.url()), events.ConnOptions{URL: ns.url(), Name: "ingest"}, testLog(t, "ingest"))

	count := func(filter string, within time.Duration) (uint64, error) {
		nc, err := nats.Connect(ns.url(), nats.MaxReconnects(0))
		if err != nil {
			return 0, err
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			return 0, err
		}
		ctx, cancel := context.WithTimeout(context.Background(), within)
		defer cancel()
		return countSubject(ctx, js, filter)
	}
	results := func() uint64 {
		n, _ := count(events.ResultFilter, 2*time.Second)
		return n
	}
	// progress says how far the pipeline got when a wait fails (the events
	// stored by kind, the simulated time), formatted only then.
	progress := lazyString(func() string {
		nsnap, err := count(events.SnapshotFilter, 5*time.Second)
		if err != nil {
			return fmt.Sprintf("stream unreadable: %v; at %s simulated", err, e.sim.Now().Sub(e.start).Round(time.Second))
		}
		nd, _ := count(events.DecisionFilter, 5*time.Second)
		nr, _ := count(events.ResultFilter, 5*time.Second)
		return fmt.Sprintf("%d snapshots, %d decisions, %d results stored at %s simulated",
			nsnap, nd, nr, e.sim.Now().Sub(e.start).Round(time.Second))
	})
	eventually(t, 3*time.Minute, func() bool { return results() >= 1 }, "no result before the kill (%s)", progress)
	before := readStream(t, ns.url())
	ns.kill()
	t.Logf("killed nats-server at %s simulated after %d snapshots, %d decisions, %d results",
		e.sim.Now().Sub(e.start).Round(time.Second), before.snapshots, len(before.decisions), len(before.results))
	// The outage: ingest's polls fail to publish, decide and actuate lose
	// their consumers; all keep reconnecting.
	<-time.After(2 * time.Second)
	ns.restart()

	// Upper bound: 5 minutes of wall time is 100 simulated minutes at
	// outageSpeed, three or more of restepScenario's steps after any kill.
	eventually(t, 5*time.Minute, func() bool {
		return results() >= uint64(len(before.results))+2
	}, "no new results after the restart (%s)", progress)
	got := readStream(t, ns.url())
	for range 2 {
		if len(got.lost()) == 0 {
			break
		}
		// A decision published just now may still be in actuate's hands.
		eventually(t, 30*time.Second, func() bool { return results() > uint64(len(got.results)) }, "decisions %v got no result", got.lost())
		got = readStream(t, ns.url())
	}
	t.Logf("after restart: %d snapshots, %d decisions, %d results, %d applied, lost %v, applied twice %v",
		got.snapshots, len(got.decisions), len(got.results), len(got.applied()), got.lost(), got.duplicates())
	require.Greater(t, got.snapshots, before.snapshots, "ingest published nothing after the restart")
	require.Greater(t, len(got.decisions), len(before.decisions), "decide decided nothing after the restart")
	require.Empty(t, got.lost(), "decisions without a result")
	require.Empty(t, got.duplicates(), "decisions applied twice")
	require.Empty(t, got.rejected, "rejections in a clean run")
}
