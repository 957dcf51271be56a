package test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/functions/decide/decider"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/events/eventstest"
)

// TestClusterNodeKilled provisions the stream and buckets with 3 replicas on
// a 3-node JetStream cluster, runs the pipeline, kills the node leading the
// FLINKSCALER stream after the first applied decision, and checks that the
// pipeline continues: new snapshots that decide reads, results for every
// decision, none lost, none applied twice, the stream still replicated 3
// times. The load keeps stepping (restepScenario), so decide has new
// decisions to make after the kill.
//
// It runs the emulator at outageSpeed, not 60×: metrics-ingest's cycle,
// publish included, is bounded by its poll interval (10 simulated seconds,
// 166 ms of wall time at 60×), and a process that a loaded machine stalls
// for seconds at a time lost minutes of simulated time between the
// snapshots that landed, too few for decide to decide: under a SIGSTOP loop
// (stopped 1.5–4 s every 0.2–0.5 s) the test at 60× found no result within
// 60 s, or none in 90 s after the kill; at 20× it passed, the first result
// within 12 simulated minutes.
func TestClusterNodeKilled(t *testing.T) {
	nc := eventstest.StartCluster(t)
	admin, err := nats.Connect(nc.URL())
	require.NoError(t, err)
	t.Cleanup(admin.Close)
	js, err := jetstream.New(admin)
	require.NoError(t, err)
	ctx := t.Context()
	r3 := events.ProvisionConfig{Replicas: 3}
	require.NoError(t, events.Provision(ctx, js, r3))

	e := startEmulator(t, restepScenario, outageSpeed, nil)
	dcfg := decideConfig(t, nc.URL())
	dcfg.Provision = r3
	startDecide(t, dcfg, testLog(t, "decide"))
	startActuate(t, actuateConfig(t, e, nc.URL()), testLog(t, "actuate"))
	startIngest(t, e, ingestConfig(e, nc.URL()), events.ConnOptions{URL: nc.URL(), Name: "ingest"}, testLog(t, "ingest"))

	results := func() uint64 {
		c, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		n, _ := countSubject(c, js, events.ResultFilter)
		return n
	}
	// progress says how far the pipeline got when a wait fails (the events
	// stored by kind, the simulated time), formatted only then.
	progress := lazyString(func() string {
		c, cancel := context.WithTimeout(ctx, 5*time.Second)
		defer cancel()
		ns, _ := countSubject(c, js, events.SnapshotFilter)
		nd, _ := countSubject(c, js, events.DecisionFilter)
		nr, _ := countSubject(c, js, events.ResultFilter)
		return fmt.Sprintf("%d snapshots, %d decisions, %d results stored at %s simulated",
			ns, nd, nr, e.sim.Now().Sub(e.start).Round(time.Second))
	})
	eventually(t, 3*time.Minute, func() bool { return results() >= 1 }, "no result before the kill (%s)", progress)
	replicas := streamReplicas(t, js)
	require.Equal(t, 3, replicas, "a function's start-up provisioning lowered the stream's replicas")

	s, err := js.Stream(ctx, events.StreamName)
	require.NoError(t, err)
	info, err := s.Info(ctx)
	require.NoError(t, err)
	leader := info.Cluster.Leader
	lastSeq := info.State.LastSeq
	before := readStream(t, nc.URL())
	for i, n := range nc.Nodes {
		if n.Server().Name() == leader {
			n.Shutdown()
			nc.URLs = append(nc.URLs[:i:i], nc.URLs[i+1:]...)
			break
		}
	}
	killedAt := e.sim.Now().Sub(e.start)
	t.Logf("killed stream leader %s at %s simulated after %d snapshots, %d decisions, %d results",
		leader, killedAt.Round(time.Second), before.snapshots, len(before.decisions), len(before.results))

	// Upper bound: 5 minutes of wall time is 100 simulated minutes at
	// outageSpeed, three or more of restepScenario's steps after any kill.
	eventually(t, 5*time.Minute, func() bool { return results() >= uint64(len(before.results))+2 }, "no new results after the node died (%s)", progress)
	eventually(t, 60*time.Second, func() bool {
		c, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		cons, err := js.Consumer(c, events.StreamName, decider.Function)
		if err != nil {
			return false
		}
		ci, err := cons.Info(c)
		return err == nil && ci.AckFloor.Stream > lastSeq
	}, "decide acknowledged nothing published after the node died")
	got := readStream(t, nc.URL())
	for range 2 {
		if len(got.lost()) == 0 {
			break
		}
		eventually(t, 30*time.Second, func() bool { return results() > uint64(len(got.results)) }, "decisions %v got no result", got.lost())
		got = readStream(t, nc.URL())
	}
	info, err = s.Info(ctx)
	require.NoError(t, err)
	t.Logf("after the kill: new stream leader %s; at %s simulated %d snapshots, %d decisions, %d results, lost %v, applied twice %v",
		info.Cluster.Leader, e.sim.Now().Sub(e.start).Round(time.Second), got.snapshots, len(got.decisions), len(got.results), got.lost(), got.duplicates())
	require.Greater(t, got.snapshots, before.snapshots)
	require.GreaterOrEqual(t, len(got.decisions), len(before.decisions))
	require.Empty(t, got.lost())
	require.Empty(t, got.duplicates())
}

// lazyString is a value whose text is worked out when it is formatted.
type lazyString func() string

func (f lazyString) String() string { return f() }

// outageSpeed is the emulator speed of the tests that kill a server
// (TestClusterNodeKilled, TestNATSKilledAndRestarted): ingest polls every
// 500 ms of wall time, and a decision follows a step within seconds.
const outageSpeed = 20

func streamReplicas(t *testing.T, js jetstream.JetStream) int {
	t.Helper()
	s, err := js.Stream(t.Context(), events.StreamName)
	require.NoError(t, err)
	info, err := s.Info(t.Context())
	require.NoError(t, err)
	return info.Config.Replicas
}
