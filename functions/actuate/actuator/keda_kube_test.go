package actuator

import (
	"context"
	"fmt"
	"log/slog"
	"math"
	"net"
	"net/http"
	"sync"
	"testing"
	"time"

	"github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flinkscaler/flinkscaler/functions/actuate/kedascaler"
	"github.com/flinkscaler/flinkscaler/functions/actuate/taskmanagers"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
	"github.com/flinkscaler/flinkscaler/internal/kubetest"
)

// kedaRules are the Role rules of deploy/rbac/actuate-keda.yaml.
func kedaRules(t *testing.T) []rbacv1.PolicyRule { return roleRules(t, "actuate-keda.yaml") }

// podCluster is a TaskManager Deployment on a real kube-apiserver whose
// pods the emulator's ReplicaSet plays (flinksim.ReplicaSetPods: the pods
// a lower replica count deletes are chosen as a ReplicaSet does, and
// exactly their TaskManagers leave the emulated cluster).
type podCluster struct {
	srv     *kubetest.Server
	saCfg   string // kubeconfig of actuate's ServiceAccount with the given Role rules
	mu      sync.Mutex
	deleted []string // TaskManagers whose pods the ReplicaSet deleted
}

// kedaCluster is a KEDA set-up on a podCluster: actuate's KEDA scaler
// serving the desired-TM bucket, and an HPA loop that reads the count with
// KEDA's own external-scaler client and sets the TaskManager Deployment's
// replicas (AverageValue, target 1, tolerance 0.1).
type kedaCluster struct{ *podCluster }

const kedaWorkload = "flink/flink-taskmanager"

// startPodCluster creates the Deployment flink/flink-taskmanager with tms
// replicas, actuate's ServiceAccount with rules, and runs the ReplicaSet's
// pods for e's emulator until the test ends.
func startPodCluster(t *testing.T, e *env, tms int32, rules []rbacv1.PolicyRule) (*podCluster, context.Context) {
	t.Helper()
	pc := &podCluster{srv: kubetest.Start(t)}
	pc.srv.CreateDeployment(t, "flink", "flink-taskmanager", tms)
	pc.saCfg = pc.srv.Kubeconfig(t, pc.srv.ServiceAccountConfig(t, "flink", "flinkscaler-actuate", rules))
	admin := pc.srv.Kubeconfig(t, pc.srv.AdminConfig())
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	t.Cleanup(func() { cancel(); wg.Wait() })

	w, err := flinksim.ParseWorkload(kedaWorkload)
	require.NoError(t, err)
	rs, err := flinksim.NewReplicaSetPods(admin, w, e.sim, 20*time.Millisecond)
	require.NoError(t, err)
	rs.OnError = func(err error) { t.Logf("replicaset: %v", err) }
	rs.OnDelete = func(ids []string) {
		pc.mu.Lock()
		defer pc.mu.Unlock()
		pc.deleted = append(pc.deleted, ids...)
	}
	wg.Add(1)
	go func() { defer wg.Done(); _ = rs.Run(ctx) }()
	require.Eventually(t, func() bool {
		pods, err := pc.srv.Admin().CoreV1().Pods("flink").List(ctx, metav1.ListOptions{LabelSelector: "app=flink-taskmanager"})
		return err == nil && len(pods.Items) == int(tms) && e.sim.GroundTruth().State == "RUNNING"
	}, 10*time.Second, 20*time.Millisecond, "a pod per TaskManager, the job running")
	return pc, ctx
}

func startKEDACluster(t *testing.T, e *env, tms int32, rules []rbacv1.PolicyRule) *kedaCluster {
	t.Helper()
	pc, ctx := startPodCluster(t, e, tms, rules)
	kc := &kedaCluster{pc}
	var wg sync.WaitGroup
	ctx, cancel := context.WithCancel(ctx)
	t.Cleanup(func() { cancel(); wg.Wait() })

	view := kedascaler.NewView()
	lis, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	wg.Add(2)
	go func() { defer wg.Done(); _ = view.Watch(ctx, e.kv[events.BucketDesiredTMs]) }()
	go func() {
		defer wg.Done()
		_ = kedascaler.NewServer(view, slog.New(slog.DiscardHandler)).Serve(ctx, lis, nil)
	}()
	cc, err := grpc.NewClient(lis.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	require.NoError(t, err)
	t.Cleanup(func() { _ = cc.Close() })
	keda := externalscaler.NewExternalScalerClient(cc)
	wg.Add(1)
	go func() { defer wg.Done(); kc.hpa(ctx, keda) }()
	return kc
}

// hpa plays KEDA and the HPA: every 20 ms it reads the job's desired count
// through KEDA's external-scaler client and, outside the HPA's 10 %
// tolerance, sets the Deployment's replicas to it (AverageValue with
// target 1: desired = ⌈value / 1⌉; the shipped ScaledObject's scale-down
// stabilization is 0).
func (kc *kedaCluster) hpa(ctx context.Context, keda externalscaler.ExternalScalerClient) {
	ref := &externalscaler.ScaledObjectRef{Name: "wordcount-taskmanagers", Namespace: "flink",
		ScalerMetadata: map[string]string{"scalerAddress": "actuate:9090", kedascaler.KeyCluster: "prod", kedascaler.KeyJob: "orders"}}
	deps := kc.srv.Admin().AppsV1().Deployments("flink")
	tick := time.NewTicker(20 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
		m, err := keda.GetMetrics(ctx, &externalscaler.GetMetricsRequest{ScaledObjectRef: ref, MetricName: kedascaler.MetricName})
		if err != nil || len(m.MetricValues) == 0 {
			continue // not declared yet
		}
		want := int32(math.Ceil(m.MetricValues[0].MetricValueFloat))
		s, err := deps.GetScale(ctx, "flink-taskmanager", metav1.GetOptions{})
		if err != nil || s.Spec.Replicas == want || math.Abs(float64(want)/float64(s.Spec.Replicas)-1) <= 0.1 {
			continue
		}
		s.Spec.Replicas = want
		_, _ = deps.UpdateScale(ctx, "flink-taskmanager", s, metav1.UpdateOptions{})
	}
}

// clients returns the workload and pod clients of actuate's ServiceAccount.
func (pc *podCluster) clients(t *testing.T) (*taskmanagers.Kubernetes, *taskmanagers.Pods) {
	t.Helper()
	restCfg, err := taskmanagers.LoadConfig(pc.saCfg)
	require.NoError(t, err)
	k8s, err := taskmanagers.NewKubernetes(restCfg)
	require.NoError(t, err)
	pods, err := taskmanagers.NewPods(restCfg, k8s)
	require.NoError(t, err)
	return k8s, pods
}

// costs returns the deletion cost annotation of each TaskManager pod.
func (kc *podCluster) costs(t *testing.T) map[string]string {
	t.Helper()
	pods, err := kc.srv.Admin().CoreV1().Pods("flink").List(context.Background(), metav1.ListOptions{LabelSelector: "app=flink-taskmanager"})
	require.NoError(t, err)
	out := map[string]string{}
	for _, p := range pods.Items {
		out[p.Name] = p.Annotations[taskmanagers.DeletionCostAnnotation]
	}
	return out
}

// kedaEnv is the spread (or packed) fold scenario with KEDA owning the
// TaskManagers and actuate marking their pods through saCfg.
func kedaEnv(t *testing.T, placement string, fold bool, rules []rbacv1.PolicyRule) (*env, *kedaCluster) {
	t.Helper()
	opt := foldOptions(fold)
	opt.ReleaseWait = 5 * time.Second
	opt.KEDAOwnsTaskManagers, opt.HPATolerance, opt.DefaultWorkload = true, 0.1, kedaWorkload
	e := newPacedEnvOf(t, fmt.Sprintf(spreadScenario, placement+checkpoints), false, opt)
	kc := startKEDACluster(t, e, 4, rules)
	_, e.deps.Pods = kc.clients(t)
	e.use(nil)
	return e, kc
}

// kedaScaleDown applies 8/8 → 2/2 (one 2-slot TaskManager) and returns the
// result and the restarts it cost, once KEDA has applied the count.
func (e *env) kedaScaleDown(t *testing.T, kc *kedaCluster) (events.Result, int) {
	t.Helper()
	before := e.restarts(t)
	d := e.decision(events.ModeAdaptive, 2, 2)
	d.Slots.PerTaskManager = 2
	r, err := e.act.Actuate(context.Background(), d)
	require.NoError(t, err)
	require.Eventually(t, func() bool { return len(kc.costs(t)) == 1 }, 10*time.Second, 20*time.Millisecond, "KEDA applied 1 TaskManager")
	require.Eventually(t, func() bool { return e.sim.GroundTruth().State == "RUNNING" }, 10*time.Second, 20*time.Millisecond)
	time.Sleep(300 * time.Millisecond) // let a late failover show
	return r, e.restarts(t) - before
}

// TestKEDAScaleDownOnKubernetes: KEDA owns the TaskManagers, and the
// ReplicaSet behind its HPA picks which pods go. actuate (as the
// ServiceAccount of deploy/rbac/actuate-keda.yaml) marks each pod with the
// subtasks its TaskManager runs, and serves the lower count before the
// requirements (folded): the job, spread over all 4 TaskManagers, fails
// over once as KEDA removes 3 pods and comes back at 2/2 in that restart.
// The old order (rescale, then the lower count) fails it over a second
// time (after the rescale 2 TaskManagers hold a subtask of each vertex, 2
// none: the ReplicaSet removes the 2 idle ones first, then one that runs
// subtasks). With the job packed, the plain order's rescale leaves 3
// TaskManagers idle, and the ReplicaSet removes exactly those.
func TestKEDAScaleDownOnKubernetes(t *testing.T) {
	for _, tt := range []struct {
		name      string
		placement string
		fold      bool
		restarts  int
		steps     []string
		left      string // the deletion cost of the pod left
	}{
		{"spread, folded", "", true, 1, []string{"mark-taskmanagers:done", "wait-checkpoint:done", "declare-taskmanagers:done",
			"wait-released:done", "put-requirements:done", "verify-requirements:done", "wait-parallelism:done"}, "4"},
		{"spread, old order", "", false, 2, []string{"wait-checkpoint:done", "put-requirements:done", "verify-requirements:done",
			"wait-parallelism:done", "mark-taskmanagers:done", "declare-taskmanagers:done"}, "2"},
		{"packed, old order", "  taskManagerPlacement: packed\n", false, 1, []string{"wait-checkpoint:done", "put-requirements:done",
			"verify-requirements:done", "wait-parallelism:done", "mark-taskmanagers:done", "declare-taskmanagers:done"}, "4"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, kc := kedaEnv(t, tt.placement, tt.fold, kedaRules(t))
			r, restarts := e.kedaScaleDown(t, kc)
			require.Equal(t, events.OutcomeApplied, r.Outcome, "%v %s", stepNames(r), r.Error)
			assert.Equal(t, tt.steps, stepNames(r))
			assert.Equal(t, tt.restarts, restarts, "restarts for one scale-down")
			assert.Equal(t, []int{2, 2}, e.parallelism(t))
			assert.Equal(t, 1, e.desired(t).TaskManagers)
			mark := r.Steps[stepIndex(r, "mark-taskmanagers")].Detail
			assert.NotContains(t, mark, "not marked", mark)
			for _, cost := range kc.costs(t) {
				assert.Equal(t, tt.left, cost, "the pod left is marked with the subtasks it ran")
			}
			if tt.fold {
				assert.Contains(t, mark, "4 run some", mark)
				assert.Contains(t, mark, "so the removal fails the job over", "spread: every TaskManager runs subtasks")
				assert.NotContains(t, r.Steps[stepIndex(r, "wait-released")].Detail, "anyway")
			}
			if tt.placement != "" {
				assert.Contains(t, mark, "3 run none of the job's subtasks", mark)
				kc.mu.Lock()
				assert.Len(t, kc.deleted, 3)
				kc.mu.Unlock()
			}
		})
	}
}

func stepIndex(r events.Result, name string) int {
	for i, s := range r.Steps {
		if s.Name == name {
			return i
		}
	}
	return -1
}

// TestKEDAMarkFailures: marking the pods never fails a scale-down. Each
// failure leaves the pods as they were, says why in the mark step, and
// the folded scale-down still costs one restart.
func TestKEDAMarkFailures(t *testing.T) {
	noPatch := func(t *testing.T) []rbacv1.PolicyRule {
		var rules []rbacv1.PolicyRule
		for _, r := range kedaRules(t) {
			if len(r.Resources) == 1 && r.Resources[0] == "pods" {
				r.Verbs = []string{"list"}
			}
			rules = append(rules, r)
		}
		return rules
	}
	for _, tt := range []struct {
		name  string
		rules func(*testing.T) []rbacv1.PolicyRule
		setup func(t *testing.T, e *env, kc *kedaCluster)
		want  string
	}{
		{"annotation refused (no patch on pods)", noPatch, nil, "forbidden"},
		{"Flink unreachable", kedaRules, func(t *testing.T, e *env, _ *kedaCluster) {
			e.inject(func(r *http.Request) (int, string, bool) {
				return http.StatusServiceUnavailable, `{"errors":["unavailable"]}`, r.URL.Path == "/taskmanagers"
			})
		}, "Flink's TaskManagers could not be read"},
		{"a pod gone before its patch", kedaRules, func(t *testing.T, e *env, kc *kedaCluster) {
			e.deps.Pods = &deleteFirst{Pods: e.deps.Pods, kc: kc}
			e.use(nil)
		}, "1 pods were gone"},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e, kc := kedaEnv(t, "", true, tt.rules(t))
			if tt.setup != nil {
				tt.setup(t, e, kc)
			}
			r, restarts := e.kedaScaleDown(t, kc)
			require.Equal(t, events.OutcomeApplied, r.Outcome, "%v %s", stepNames(r), r.Error)
			assert.Equal(t, 1, restarts)
			mark := r.Steps[0]
			assert.Equal(t, "mark-taskmanagers:done", mark.Name+":"+mark.Status)
			assert.Contains(t, mark.Detail, tt.want)
			assert.Equal(t, []int{2, 2}, e.parallelism(t))
		})
	}
}

// deleteFirst deletes the first pod it is asked to mark just before
// marking it, as if the pod went between the list and the patch.
type deleteFirst struct {
	Pods
	kc   *kedaCluster
	done bool
}

func (d *deleteFirst) SetDeletionCost(ctx context.Context, pod taskmanagers.Pod, cost int) error {
	if !d.done {
		d.done = true
		if err := d.kc.srv.Admin().CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{}); err != nil {
			return err
		}
	}
	return d.Pods.SetDeletionCost(ctx, pod, cost)
}
