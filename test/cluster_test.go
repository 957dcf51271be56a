package test

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// natsCluster is three embedded JetStream servers routed on loopback.
type natsCluster struct {
	nodes []*events.Embedded
	urls  []string
}

func (c *natsCluster) url() string { return strings.Join(c.urls, ",") }

// startNATSCluster starts a 3-node JetStream cluster and waits until it has
// a meta leader.
func startNATSCluster(t *testing.T) *natsCluster {
	t.Helper()
	ports := []int{freePort(t), freePort(t), freePort(t)}
	var routes []string
	for _, p := range ports {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", p))
	}
	c := &natsCluster{}
	dir := t.TempDir()
	type started struct {
		e   *events.Embedded
		err error
	}
	ch := make([]chan started, len(ports))
	for i, p := range ports {
		ch[i] = make(chan started, 1)
		opts := &server.Options{
			Cluster: server.ClusterOpts{Name: "flinkscaler", Host: "127.0.0.1", Port: p},
			Routes:  server.RoutesFromStr(strings.Join(routes, ",")),
		}
		name := fmt.Sprintf("n%d", i+1)
		go func() {
			e, err := events.StartEmbedded(events.EmbeddedConfig{Options: opts, ServerName: name, StoreDir: filepath.Join(dir, name)})
			ch[i] <- started{e, err}
		}()
	}
	for i := range ports {
		s := <-ch[i]
		require.NoError(t, s.err)
		t.Cleanup(s.e.Shutdown)
		c.nodes = append(c.nodes, s.e)
		c.urls = append(c.urls, s.e.ClientURL())
	}
	eventually(t, 30*time.Second, func() bool {
		nc, err := nats.Connect(c.url())
		if err != nil {
			return false
		}
		defer nc.Close()
		js, err := jetstream.New(nc)
		if err != nil {
			return false
		}
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
		defer cancel()
		_, err = js.AccountInfo(ctx)
		return err == nil
	}, "the 3-node cluster elected no JetStream meta leader")
	return c
}

// TestClusterNodeKilled provisions the stream and buckets with 3 replicas on
// a 3-node JetStream cluster, runs the pipeline, kills the node leading the
// FLINKSCALER stream after the first applied decision, and checks that the
// pipeline continues: new snapshots, decisions and results, none lost, none
// applied twice, the stream still replicated 3 times.
func TestClusterNodeKilled(t *testing.T) {
	nc := startNATSCluster(t)
	admin, err := nats.Connect(nc.url())
	require.NoError(t, err)
	t.Cleanup(admin.Close)
	js, err := jetstream.New(admin)
	require.NoError(t, err)
	ctx := t.Context()
	r3 := events.ProvisionConfig{Replicas: 3}
	require.NoError(t, events.Provision(ctx, js, r3))

	e := startEmulator(t, stepScenario, 60, nil)
	dcfg := decideConfig(t, nc.url())
	dcfg.Provision = r3
	startDecide(t, dcfg, testLog("decide"))
	startActuate(t, actuateConfig(t, e, nc.url()), testLog("actuate"))
	startIngest(t, e, ingestConfig(e, nc.url()), events.ConnOptions{URL: nc.url(), Name: "ingest"}, testLog("ingest"))

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
	before := readStream(t, nc.url())
	for i, n := range nc.nodes {
		if n.Server().Name() == leader {
			n.Shutdown()
			nc.urls = append(nc.urls[:i:i], nc.urls[i+1:]...)
			break
		}
	}
	t.Logf("killed stream leader %s after %d snapshots, %d decisions, %d results", leader, before.snapshots, len(before.decisions), len(before.results))

	eventually(t, 90*time.Second, func() bool { return results() >= uint64(len(before.results))+2 }, "no new results after the node died")
	got := readStream(t, nc.url())
	for range 2 {
		if len(got.lost()) == 0 {
			break
		}
		eventually(t, 30*time.Second, func() bool { return results() > uint64(len(got.results)) }, "decisions %v got no result", got.lost())
		got = readStream(t, nc.url())
	}
	info, err = s.Info(ctx)
	require.NoError(t, err)
	t.Logf("after the kill: new stream leader %s; %d snapshots, %d decisions, %d results, lost %v, applied twice %v",
		info.Cluster.Leader, got.snapshots, len(got.decisions), len(got.results), got.lost(), got.duplicates())
	require.Greater(t, got.snapshots, before.snapshots)
	require.Greater(t, len(got.decisions), len(before.decisions))
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
