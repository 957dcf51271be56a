package test

import (
	"io"
	"net"
	"net/http"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/flinkscaler/flinkscaler/functions/actuate/actuator"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
	"github.com/flinkscaler/flinkscaler/internal/kubetest"
	"github.com/flinkscaler/flinkscaler/internal/natsserver"
)

// tcpGate forwards TCP connections to a backend while open; closing it
// drops every connection and refuses new ones, as an unreachable API server.
type tcpGate struct {
	l       net.Listener
	backend string
	mu      sync.Mutex
	open    bool
	conns   map[net.Conn]struct{}
}

func startGate(t *testing.T, backend string) *tcpGate {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	g := &tcpGate{l: l, backend: backend, open: true, conns: map[net.Conn]struct{}{}}
	t.Cleanup(func() { _ = l.Close(); g.set(false) })
	go g.serve()
	return g
}

func (g *tcpGate) serve() {
	for {
		c, err := g.l.Accept()
		if err != nil {
			return
		}
		g.mu.Lock()
		if !g.open {
			g.mu.Unlock()
			_ = c.Close()
			continue
		}
		g.conns[c] = struct{}{}
		g.mu.Unlock()
		go g.pipe(c)
	}
}

func (g *tcpGate) pipe(c net.Conn) {
	b, err := net.Dial("tcp", g.backend)
	if err != nil {
		_ = c.Close()
		return
	}
	g.mu.Lock()
	g.conns[b] = struct{}{}
	g.mu.Unlock()
	go func() { _, _ = io.Copy(b, c); _ = b.Close() }()
	_, _ = io.Copy(c, b)
	_ = c.Close()
}

// set opens or closes the gate; closing drops the connections in flight.
func (g *tcpGate) set(open bool) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.open = open
	if !open {
		for c := range g.conns {
			_ = c.Close()
		}
		clear(g.conns)
	}
}

// actuateRules are the Role rules of deploy/rbac/actuate.yaml.
func actuateRules(t *testing.T) []rbacv1.PolicyRule {
	t.Helper()
	return kubetest.RoleRules(t, filepath.Join("..", "deploy", "rbac", "actuate.yaml"))
}

// TestKubeAPIServerUnavailableDuringScale runs actuate against a real
// kube-apiserver (as the ServiceAccount of deploy/rbac/actuate.yaml) through
// a gate, and the emulator following the TaskManager Deployment. While the
// API server is unreachable (10 s; a minute with -soak) a scale-down
// decision arrives: it is not applied while the API server is away; it is
// either retried with backoff until it is back, or reported partial or
// failed with the error. Then the next decision converges: the Deployment
// and the job reach its targets.
func TestKubeAPIServerUnavailableDuringScale(t *testing.T) {
	outage := 10 * time.Second
	if soak() {
		outage = time.Minute
	}
	api := kubetest.Start(t)
	api.CreateDeployment(t, "flink", "flink-taskmanager", 4)
	sa := api.ServiceAccountConfig(t, "flink", "flinkscaler-actuate", actuateRules(t))
	gate := startGate(t, hostOf(t, api.URL()))
	gated := rest.CopyConfig(sa)
	gated.Host = "https://" + gate.l.Addr().String()
	gated.Timeout = 2 * time.Second

	// Armed, the first PUT of resource requirements closes the gate before
	// Flink takes it: the API server goes away in the middle of a scale.
	var armed atomic.Bool
	e := startEmulator(t, stepScenario, 60, func(h http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodPut && strings.HasSuffix(r.URL.Path, "/resource-requirements") && armed.CompareAndSwap(true, false) {
				gate.set(false)
			}
			h.ServeHTTP(w, r)
		})
	})
	e.sim.SetTaskManagers(4)
	w, err := flinksim.ParseWorkload("flink/flink-taskmanager")
	require.NoError(t, err)
	watcher, err := flinksim.NewWorkloadWatcher(api.Kubeconfig(t, api.AdminConfig()), w, e.sim, 50*time.Millisecond)
	require.NoError(t, err)
	goRun(t, "watcher", watcher.Run)

	srv, err := natsserver.Start(natsserver.Config{})
	require.NoError(t, err)
	t.Cleanup(srv.Shutdown)
	acfg := actuateConfig(t, e, srv.ClientURL())
	acfg.TaskManagers, acfg.Kubeconfig, acfg.Workload = actuator.BackendKubernetes, api.Kubeconfig(t, gated), "flink/flink-taskmanager"
	require.NoError(t, acfg.Validate())
	startActuate(t, acfg, testLog(t, "actuate"))

	nc, err := nats.Connect(srv.ClientURL())
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	ctx := t.Context()
	eventually(t, 20*time.Second, func() bool { _, err := js.Stream(ctx, events.StreamName); return err == nil }, "actuate did not provision")
	eventually(t, 20*time.Second, func() bool { return e.sim.TaskManagers() == 4 }, "the emulator did not follow the Deployment")
	results, err := js.OrderedConsumer(ctx, events.StreamName, jetstream.OrderedConsumerConfig{FilterSubjects: []string{events.ResultFilter}})
	require.NoError(t, err)
	next := func(within time.Duration) events.Result {
		msg, err := results.Next(jetstream.FetchMaxWait(within))
		require.NoError(t, err, "no result within %s", within)
		ev, err := events.Decode(&nats.Msg{Subject: msg.Subject(), Header: msg.Headers(), Data: msg.Data()})
		require.NoError(t, err)
		return mustData[events.Result](t, ev)
	}

	gate.set(false)
	downAt := time.Now()
	reopen := time.AfterFunc(outage, func() { gate.set(true) })
	t.Cleanup(func() { reopen.Stop() })
	d1 := publishDecision(t, js, e, 2, 2)
	r1 := next(outage + 3*time.Minute)
	require.Equal(t, d1.DecisionID, r1.DecisionID)
	took := time.Since(downAt)
	t.Logf("a %s outage: decision 4→2 TaskManagers ended %s after %s: %v %s", outage, r1.Outcome, took.Round(time.Millisecond), stepSummary(r1), r1.Error)
	switch r1.Outcome {
	case events.OutcomePartial, events.OutcomeFailed:
		require.NotEmpty(t, r1.Error, "a partial or failed result says why")
	case events.OutcomeApplied:
		// Retried with backoff through the outage: it cannot have
		// removed TaskManagers before the API server was back.
		require.GreaterOrEqual(t, took, outage, "applied while the API server was unreachable")
	default:
		require.Failf(t, "unexpected outcome", "%s", r1.Outcome)
	}
	eventually(t, outage, func() bool { gate.mu.Lock(); defer gate.mu.Unlock(); return gate.open }, "the gate did not reopen")
	reopen.Stop()

	d2 := publishDecision(t, js, e, 2, 2)
	r2 := next(2 * time.Minute)
	require.Equal(t, d2.DecisionID, r2.DecisionID)
	t.Logf("after the outage: the same targets again: %s (%v)", r2.Outcome, stepSummary(r2))
	require.Contains(t, []string{events.OutcomeApplied, events.OutcomeSkipped}, r2.Outcome, r2.Error)
	requireAt(t, api, e, 2)

	// Down in the middle of a scale: requirements lowered to 1, then the
	// TaskManagers cannot be removed.
	<-time.After(acfg.Options.MinInterval) // actuate's per-job rate limit
	armed.Store(true)
	downAt = time.Now()
	d3 := publishDecision(t, js, e, 1, 1)
	r3 := next(outage + 3*time.Minute)
	require.Equal(t, d3.DecisionID, r3.DecisionID)
	took = time.Since(downAt)
	t.Logf("down mid-scale: decision 2→1 ended %s after %s: %v %s", r3.Outcome, took.Round(time.Millisecond), stepSummary(r3), r3.Error)
	require.False(t, armed.Load(), "actuate never declared the requirements")
	require.Contains(t, []string{events.OutcomePartial, events.OutcomeFailed, events.OutcomeApplied}, r3.Outcome)
	if r3.Outcome != events.OutcomeApplied {
		require.NotEmpty(t, r3.Error, "a partial or failed result says why")
	}
	if wait := outage - took; wait > 0 {
		<-time.After(wait) // the rest of the outage
	}
	gate.set(true)
	<-time.After(acfg.Options.MinInterval) // actuate's per-job rate limit
	d4 := publishDecision(t, js, e, 1, 1)
	r4 := next(2 * time.Minute)
	require.Equal(t, d4.DecisionID, r4.DecisionID)
	t.Logf("after the outage: the same targets again: %s (%v)", r4.Outcome, stepSummary(r4))
	require.Contains(t, []string{events.OutcomeApplied, events.OutcomeSkipped}, r4.Outcome, r4.Error)
	requireAt(t, api, e, 1)
}

// requireAt checks that the Deployment, the emulator and Flink's
// requirements are all at n.
func requireAt(t *testing.T, api *kubetest.Server, e *emulator, n int) {
	t.Helper()
	dep, err := api.Admin().AppsV1().Deployments("flink").Get(t.Context(), "flink-taskmanager", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, int32(n), *dep.Spec.Replicas)
	eventually(t, 60*time.Second, func() bool { return e.sim.TaskManagers() == n }, "the emulator did not follow the Deployment to %d", n)
	for id, b := range e.sim.Requirements() {
		require.Equal(t, n, b.Upper, "vertex %s", id)
	}
}

func hostOf(t *testing.T, raw string) string {
	t.Helper()
	u, err := url.Parse(raw)
	require.NoError(t, err)
	return u.Host
}

func stepSummary(r events.Result) []string {
	var out []string
	for _, s := range r.Steps {
		out = append(out, s.Name+":"+s.Status+" "+s.Detail)
	}
	return out
}
