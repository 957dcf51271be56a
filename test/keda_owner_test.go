package test

import (
	"context"
	"fmt"
	"math"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"

	"github.com/flinkscaler/flinkscaler/functions/actuate/actuator"
	"github.com/flinkscaler/flinkscaler/functions/decide/decider"
	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
	"github.com/flinkscaler/flinkscaler/internal/function"
	"github.com/flinkscaler/flinkscaler/internal/kubetest"
	"github.com/flinkscaler/flinkscaler/internal/natsserver"
)

// hpa plays KEDA's operator and the HorizontalPodAutoscaler it creates for
// the shipped ScaledObject: every interval it asks actuate's external
// scaler, with KEDA's own generated client, for the metric spec, the value
// and the activity, and sets the Deployment's replicas through the scale
// subresource as the HPA does: ⌈value / target⌉ under AverageValue, unless
// within the HPA's tolerance, bounded by min and max replicas.
type hpa struct {
	client     externalscaler.ExternalScalerClient
	ref        *externalscaler.ScaledObjectRef
	kube       kubernetes.Interface
	namespace  string
	deployment string
	tolerance  float64
	min, max   int32

	mu     sync.Mutex
	values []float64 // every metric value read, in order
	errs   []string  // failed scaler calls
}

func (h *hpa) run(ctx context.Context) error {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		h.once(ctx)
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

func (h *hpa) once(ctx context.Context) {
	spec, err := h.client.GetMetricSpec(ctx, h.ref)
	if err != nil || len(spec.MetricSpecs) == 0 {
		h.failed("GetMetricSpec", err)
		return
	}
	m, err := h.client.GetMetrics(ctx, &externalscaler.GetMetricsRequest{ScaledObjectRef: h.ref, MetricName: "s0-" + spec.MetricSpecs[0].MetricName})
	if err != nil || len(m.MetricValues) == 0 {
		h.failed("GetMetrics", err)
		return
	}
	if _, err := h.client.IsActive(ctx, h.ref); err != nil {
		h.failed("IsActive", err)
		return
	}
	value, target := m.MetricValues[0].MetricValueFloat, spec.MetricSpecs[0].TargetSizeFloat
	h.mu.Lock()
	h.values = append(h.values, value)
	h.mu.Unlock()
	scale, err := h.kube.AppsV1().Deployments(h.namespace).GetScale(ctx, h.deployment, metav1.GetOptions{})
	if err != nil {
		return
	}
	cur := scale.Spec.Replicas
	if ratio := value / (target * float64(cur)); math.Abs(ratio-1) <= h.tolerance {
		return
	}
	want := min(max(int32(math.Ceil(value/target)), h.min), h.max)
	if want == cur {
		return
	}
	scale.Spec = autoscalingv1.ScaleSpec{Replicas: want}
	_, _ = h.kube.AppsV1().Deployments(h.namespace).UpdateScale(ctx, h.deployment, scale, metav1.UpdateOptions{})
}

func (h *hpa) failed(method string, err error) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.errs = append(h.errs, fmt.Sprintf("%s: %v", method, err))
}

// seen returns the values read and the failed calls.
func (h *hpa) seen() ([]float64, []string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	return slices.Clone(h.values), slices.Clone(h.errs)
}

// kedaChain is a TaskManager Deployment on a real kube-apiserver that the
// emulator follows, NATS, actuate with --taskmanagers keda, and KEDA played
// by an hpa with KEDA's client (not started: the test runs it).
type kedaChain struct {
	api     *kubetest.Server
	e       *emulator
	natsURL string
	keda    *hpa
	acfg    actuator.Config
}

func startKEDAChain(t *testing.T, scenario string, replicas int32, actuateTolerance, hpaTolerance float64) *kedaChain {
	t.Helper()
	api := kubetest.Start(t)
	api.CreateDeployment(t, "flink", "flink-taskmanager", replicas)
	e := startEmulator(t, scenario, 60, nil)
	w, err := flinksim.ParseWorkload("flink/flink-taskmanager")
	require.NoError(t, err)
	watcher, err := flinksim.NewWorkloadWatcher(api.Kubeconfig(t, api.AdminConfig()), w, e.sim, 50*time.Millisecond)
	require.NoError(t, err)
	goRun(t, "watcher", watcher.Run)

	srv, err := natsserver.Start(natsserver.Config{})
	require.NoError(t, err)
	t.Cleanup(srv.Shutdown)
	acfg := actuateConfig(t, e, srv.ClientURL())
	acfg.TaskManagers, acfg.KEDAListen, acfg.KEDAPoll = actuator.BackendKEDA, freeAddr(t), 100*time.Millisecond
	acfg.Options.HPATolerance = actuateTolerance
	require.NoError(t, acfg.Validate())
	startActuate(t, acfg, testLog(t, "actuate"))

	cc, err := grpc.NewClient(acfg.KEDAListen, grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	keda := &hpa{
		client: externalscaler.NewExternalScalerClient(cc),
		ref: &externalscaler.ScaledObjectRef{Name: "wordcount-taskmanagers", Namespace: "flink",
			ScalerMetadata: map[string]string{"scalerAddress": acfg.KEDAListen, "cluster": cluster, "job": e.sim.Scenario().Job.Name}},
		kube: api.Admin(), namespace: "flink", deployment: "flink-taskmanager", tolerance: hpaTolerance, min: 1, max: 64,
	}
	return &kedaChain{api: api, e: e, natsURL: srv.ClientURL(), keda: keda, acfg: acfg}
}

// results follows the result events from now on.
func (c *kedaChain) results(t *testing.T) (jetstream.JetStream, func(within time.Duration) events.Result) {
	t.Helper()
	nc, err := nats.Connect(c.natsURL)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	js, err := jetstream.New(nc)
	require.NoError(t, err)
	eventually(t, 20*time.Second, func() bool { _, err := js.Stream(t.Context(), events.StreamName); return err == nil }, "actuate did not provision")
	cons, err := js.OrderedConsumer(t.Context(), events.StreamName, jetstream.OrderedConsumerConfig{FilterSubjects: []string{events.ResultFilter}})
	require.NoError(t, err)
	return js, func(within time.Duration) events.Result {
		msg, err := cons.Next(jetstream.FetchMaxWait(within))
		require.NoError(t, err, "no result within %s", within)
		ev, err := events.Decode(&nats.Msg{Subject: msg.Subject(), Header: msg.Headers(), Data: msg.Data()})
		require.NoError(t, err)
		r := mustData[events.Result](t, ev)
		t.Logf("result %s: %v %s", r.Outcome, stepSummary(r), r.Error)
		return r
	}
}

func (c *kedaChain) replicas(t *testing.T) int32 {
	t.Helper()
	scale, err := c.api.Admin().AppsV1().Deployments("flink").GetScale(t.Context(), "flink-taskmanager", metav1.GetOptions{})
	require.NoError(t, err)
	return scale.Spec.Replicas
}

// TestKEDAOwnsTaskManagersEndToEnd runs the chain as shipped in deploy/:
// decide with the default policy a user gets, actuate with
// --taskmanagers keda and its external scaler, and KEDA (played by the hpa
// above with KEDA's client) scaling the TaskManager Deployment on a real
// kube-apiserver, which the emulator follows. Before any decision the
// scaler answers the job's current TaskManagers; after the load step the
// desired count rises, KEDA scales the Deployment, the TaskManagers
// register, and the job runs at the decided parallelism.
func TestKEDAOwnsTaskManagersEndToEnd(t *testing.T) {
	c := startKEDAChain(t, stepScenario, 2, 0.1, 0.1)
	keda := c.keda
	_, next := c.results(t)
	decision := decisionsSeen(t, c.natsURL)
	eventually(t, 30*time.Second, func() bool { values, _ := keda.seen(); keda.once(t.Context()); return len(values) > 0 },
		"the scaler never answered the steady job")
	values, before := keda.seen()
	require.Equal(t, 2.0, values[0], "before any decision: the job's current TaskManagers")
	for _, e := range before {
		require.NotContains(t, e, "NotFound", "a steady job is never unknown once actuate has looked at its cluster")
	}
	goRun(t, "keda", keda.run)
	startIngest(t, c.e, ingestConfig(c.e, c.natsURL), events.ConnOptions{URL: c.natsURL, Name: "ingest"}, testLog(t, "ingest"))
	// The policy a user gets: nothing in it says who owns the TaskManagers.
	startDecide(t, decider.Config{Common: function.Common{NATS: events.ConnOptions{URL: c.natsURL, Name: decider.Function}}, Policy: policy.Defaults()}, testLog(t, "decide"))

	applied := nextAppliedChange(t, next, decision, 3*time.Minute)
	names := []string{}
	for _, s := range applied.Steps {
		names = append(names, s.Name)
	}
	require.Contains(t, names, "declare-taskmanagers", "the TaskManagers were declared to KEDA")
	require.NotContains(t, names, "scale-taskmanagers", "actuate never touched the replicas")

	values, errs := keda.seen()
	require.Len(t, errs, len(before), "the scaler answered every call once it had: %v", errs[len(before):])
	peak := slices.Max(values)
	require.Greater(t, peak, 2.0, "KEDA read a rising desired count")
	replicas := c.replicas(t)
	require.Greater(t, replicas, int32(2), "KEDA scaled the TaskManager Deployment")
	gt := c.e.sim.GroundTruth()
	require.Greater(t, gt.RegisteredTaskManagers, 2, "the new TaskManagers registered")
	raised := false
	for _, v := range gt.Vertices {
		raised = raised || v.Parallelism > 2
	}
	require.True(t, raised, "the job runs at a higher parallelism: %+v", gt.Vertices)
	t.Logf("KEDA read %d values (peak %.0f; %d calls failed before actuate listened); Deployment at %d, %d TaskManagers registered",
		len(values), peak, len(before), replicas, gt.RegisteredTaskManagers)
}

// largeScenario is a two-vertex job at parallelism 10 on 10 one-slot
// TaskManagers.
const largeScenario = `
name: large
duration: 2h
seed: 5
cluster: {scaling: adaptive, slotsPerTaskManager: 1, initialTaskManagers: 10, maxTaskManagers: 32, taskManagerStartup: 5s, restart: 5s}
job:
  name: orders
  vertices:
    - {name: "Source: orders", parallelism: 10, maxParallelism: 64, capacity: 60000, partitions: 32}
    - {name: enrich, inputs: ["Source: orders"], parallelism: 10, maxParallelism: 64, capacity: 10000}
load: {pattern: constant, rate: 50000}
`

// TestKEDASmallStepAtTenTaskManagers: +1 TaskManager at 10 is inside the
// HPA's default 10 % tolerance, which would ignore it and leave actuate
// waiting for slots that never come. With the HPA's default tolerance
// actuate declares 12 (the smallest count outside the band) and the step
// completes; with an HPA whose behavior sets tolerance 0 (Kubernetes 1.33+)
// and --hpa-tolerance 0 it declares exactly 11.
func TestKEDASmallStepAtTenTaskManagers(t *testing.T) {
	tests := []struct {
		name         string
		tolerance    float64
		wantReplicas int32
	}{
		{"default HPA tolerance", 0.1, 12},
		{"tolerance 0 in the ScaledObject's behavior", 0, 11},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := startKEDAChain(t, largeScenario, 10, tt.tolerance, tt.tolerance)
			js, next := c.results(t)
			eventually(t, 30*time.Second, func() bool { return c.e.sim.GroundTruth().RegisteredTaskManagers == 10 }, "10 TaskManagers never registered")
			goRun(t, "keda", c.keda.run)
			d := publishDecision(t, js, c.e, 11, 11)
			r := next(time.Minute)
			require.Equal(t, d.DecisionID, r.DecisionID)
			require.Equal(t, events.OutcomeApplied, r.Outcome, "%v %s", stepSummary(r), r.Error)
			require.Equal(t, tt.wantReplicas, c.replicas(t))
			for id, b := range c.e.sim.Requirements() {
				require.Equal(t, 11, b.Upper, "vertex %s", id)
			}
		})
	}
}

// decisionsSeen subscribes to every decision from now on and returns a
// lookup by decision ID. Decide publishes a decision before actuate acts
// on it, so by the time a result arrives its decision is in the
// subscription.
func decisionsSeen(t *testing.T, natsURL string) func(id string) events.Decision {
	t.Helper()
	nc, err := nats.Connect(natsURL)
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	sub, err := nc.SubscribeSync(events.DecisionFilter)
	require.NoError(t, err)
	seen := map[string]events.Decision{}
	return func(id string) events.Decision {
		for {
			if d, ok := seen[id]; ok {
				return d
			}
			msg, err := sub.NextMsg(10 * time.Second)
			require.NoError(t, err, "decision %s never seen", id)
			ev, err := events.Decode(msg)
			require.NoError(t, err)
			d := mustData[events.Decision](t, ev)
			seen[d.DecisionID] = d
		}
	}
}

// nextAppliedChange follows results until one is applied whose decision
// changes the job. Decide's first decision on a job whose bounds no
// decision has declared keeps every vertex and the TaskManagers and only
// declares what runs (docs/policy.md "Bounds declared before the first
// decision"); the tests of a load step look at the change after it.
func nextAppliedChange(t *testing.T, next func(time.Duration) events.Result, decision func(string) events.Decision, within time.Duration) events.Result {
	t.Helper()
	deadline := time.Now().Add(within)
	for {
		r := next(time.Until(deadline))
		if r.Outcome != events.OutcomeApplied {
			continue
		}
		d := decision(r.DecisionID)
		if d.TaskManagers.Target != d.TaskManagers.Current || slices.ContainsFunc(d.Vertices, func(v events.VertexDecision) bool { return v.Target != v.Current }) {
			return r
		}
		t.Logf("applied %s keeps the job as it runs: %s", r.DecisionID, d.Rationale)
	}
}
