package eventstest

import (
	"context"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/natsserver"
	"github.com/flinkscaler/flinkscaler/internal/testport"
	"github.com/nats-io/nats-server/v2/server"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

// Cluster is three embedded JetStream servers routed on loopback, as
// production runs NATS (streams and buckets with 3 replicas).
type Cluster struct {
	Nodes []*natsserver.Server
	URLs  []string
}

// URL is the comma-separated client URL list of the nodes.
func (c *Cluster) URL() string { return strings.Join(c.URLs, ",") }

// StartCluster starts a 3-node JetStream cluster, waits until it has a meta
// leader, and shuts it down when the test ends. Nothing is provisioned.
func StartCluster(t testing.TB) *Cluster {
	t.Helper()
	ports := []int{testport.Port(t), testport.Port(t), testport.Port(t)}
	var routes []string
	for _, p := range ports {
		routes = append(routes, fmt.Sprintf("nats://127.0.0.1:%d", p))
	}
	c := &Cluster{}
	dir := t.TempDir()
	type started struct {
		e   *natsserver.Server
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
			e, err := natsserver.Start(natsserver.Config{Options: opts, ServerName: name, StoreDir: filepath.Join(dir, name)})
			ch[i] <- started{e, err}
		}()
	}
	for i := range ports {
		s := <-ch[i]
		require.NoError(t, s.err)
		t.Cleanup(s.e.Shutdown)
		c.Nodes = append(c.Nodes, s.e)
		c.URLs = append(c.URLs, s.e.ClientURL())
	}
	// An upper bound, returned from as soon as a leader is there (a few
	// seconds idle): on a loaded machine under the race detector the three
	// in-process servers' election took more than 30 s.
	require.Eventually(t, func() bool { return c.hasLeader() }, 2*time.Minute, 50*time.Millisecond,
		"the 3-node cluster elected no JetStream meta leader")
	return c
}

func (c *Cluster) hasLeader() bool {
	nc, err := nats.Connect(c.URL())
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
}
