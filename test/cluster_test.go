package test

import (
	"context"
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
// times. (Whether decide makes a new decision after the kill is the policy's
// call: the job may have converged already.)
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

	e := startEmulator(t, restepScenario, 60, nil)
	dcfg := decideConfig(t, nc.URL())
	dcfg.Provision = r3
	startDecide(t, dcfg, testLog("decide"))
	startActuate(t, actuateConfig(t, e, nc.URL()), testLog("actuate"))
	startIngest(t, e, ingestConfig(e, nc.URL()), events.ConnOptions{URL: nc.URL(), Name: "ingest"}, testLog("ingest"))

	results := func() uint64 {
		c, cancel := context.WithTimeout(ctx, 2*time.Second)
		defer cancel()
		n, _ := countSubject(c, js, events.ResultFilter)
		return n
	}
	eventually(t, 60*time.Second, func() bool { return results() >= 1 }, "no result before the kill")
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
	t.Logf("killed stream leader %s after %d snapshots, %d decisions, %d results", leader, before.snapshots, len(before.decisions), len(before.results))

	eventually(t, 90*time.Second, func() bool { return results() >= uint64(len(before.results))+2 }, "no new results after the node died")
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
	t.Logf("after the kill: new stream leader %s; %d snapshots, %d decisions, %d results, lost %v, applied twice %v",
		info.Cluster.Leader, got.snapshots, len(got.decisions), len(got.results), got.lost(), got.duplicates())
	require.Greater(t, got.snapshots, before.snapshots)
	require.GreaterOrEqual(t, len(got.decisions), len(before.decisions))
	require.Empty(t, got.lost())
	require.Empty(t, got.duplicates())
}

func streamReplicas(t *testing.T, js jetstream.JetStream) int {
	t.Helper()
	s, err := js.Stream(t.Context(), events.StreamName)
	require.NoError(t, err)
	info, err := s.Info(t.Context())
	require.NoError(t, err)
	return info.Config.Replicas
}
