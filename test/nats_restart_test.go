package test

import (
	"context"
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
func TestNATSKilledAndRestarted(t *testing.T) {
	ns := startNATSProcess(t)
	e := startEmulator(t, restepScenario, 60, nil)
	startDecide(t, decideConfig(t, ns.url()), testLog("decide"))
	startActuate(t, actuateConfig(t, e, ns.url()), testLog("actuate"))
	startIngest(t, e, ingestConfig(e, ns.url()), events.ConnOptions{URL: ns.url(), Name: "ingest"}, testLog("ingest"))

	results := func() uint64 {
		nc, err := nats.Connect(ns.url(), nats.MaxReconnects(0))
		if err != nil {
			return 0
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			return 0
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		n, _ := countSubject(ctx, js, events.ResultFilter)
		return n
	}
	eventually(t, 60*time.Second, func() bool { return results() >= 1 }, "no result before the kill")
	before := readStream(t, ns.url())
	ns.kill()
	t.Logf("killed nats-server after %d snapshots, %d decisions, %d results", before.snapshots, len(before.decisions), len(before.results))
	// The outage: ingest's polls fail to publish, decide and actuate lose
	// their consumers; all keep reconnecting.
	<-time.After(2 * time.Second)
	ns.restart()

	eventually(t, 90*time.Second, func() bool {
		return results() >= uint64(len(before.results))+2
	}, "no new results after the restart")
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
