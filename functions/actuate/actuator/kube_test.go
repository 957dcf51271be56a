package actuator

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"

	"github.com/flinkscaler/flinkscaler/functions/actuate/taskmanagers"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
	"github.com/flinkscaler/flinkscaler/internal/kubetest"
)

// deployedRules are the Role rules of deploy/rbac/actuate.yaml.
func deployedRules(t *testing.T) []rbacv1.PolicyRule { return roleRules(t, "actuate.yaml") }

// ownDeployment starts a real kube-apiserver whose Deployment of tms
// TaskManager pods the emulator's ReplicaSet plays (startPodCluster), and
// has e's actuate own it as the ServiceAccount granted rules: its default
// workload that Deployment, its pods read and deleted there.
func ownDeployment(t *testing.T, e *env, tms int32, rules []rbacv1.PolicyRule) (*podCluster, context.Context) {
	t.Helper()
	pc, ctx := startPodCluster(t, e, tms, rules)
	k8s, pods := pc.clients(t)
	e.options.DefaultWorkload = "deployments/" + kedaWorkload
	e.deps.Pods = pods
	e.use(k8s)
	return pc, ctx
}

// rulesWithoutPodDelete is deploy/rbac/actuate.yaml's Role without delete
// on pods: what a cluster whose operator left that verb out grants.
func rulesWithoutPodDelete(t *testing.T) []rbacv1.PolicyRule {
	rules := deployedRules(t)
	for i, r := range rules {
		if slices.Contains(r.Resources, "pods") {
			rules[i].Verbs = slices.DeleteFunc(slices.Clone(r.Verbs), func(v string) bool { return v == "delete" })
		}
	}
	return rules
}

// podsDeleted is the names of the pods w reports deleted, in order, until
// most of them (0: no limit) or 2 s without one.
func podsDeleted(w watch.Interface, most int) []string {
	var gone []string
	for most == 0 || len(gone) < most {
		select {
		case ev := <-w.ResultChan():
			if p, ok := ev.Object.(*corev1.Pod); ok && ev.Type == watch.Deleted {
				gone = append(gone, p.Name)
			}
			continue
		case <-time.After(2 * time.Second):
		}
		break
	}
	return gone
}

// roleRules are the rules of the Role in deploy/rbac/<file>.
func roleRules(t *testing.T, file string) []rbacv1.PolicyRule {
	t.Helper()
	return kubetest.RoleRules(t, "../../../deploy/rbac/"+file)
}

// TestScaleUpOnKubernetes checks the whole loop against a real
// kube-apiserver with RBAC on: decision → TaskManager Deployment scaled (as
// the ServiceAccount of deploy/rbac/actuate.yaml) → the emulator, watching
// the Deployment, registers the TaskManagers → PUT requirements → the job
// runs at the new parallelism. Then the API server goes down.
func TestScaleUpOnKubernetes(t *testing.T) {
	srv := kubetest.Start(t)
	srv.CreateDeployment(t, "flink", "flink-taskmanager", 2)
	saCfg := srv.ServiceAccountConfig(t, "flink", "flinkscaler-actuate", deployedRules(t))
	kubeconfig := srv.Kubeconfig(t, saCfg)

	e := newPacedEnvOf(t, fmt.Sprintf(scenario, events.ModeAdaptive), false, Options{})
	restCfg, k8s := e.watchDeployment(t, srv, kubeconfig)

	r, err := e.act.Actuate(context.Background(), e.decision(events.ModeAdaptive, 5, 4))
	require.NoError(t, err)
	require.Equal(t, events.OutcomeApplied, r.Outcome, "%v %s", stepNames(r), r.Error)
	require.Equal(t, []string{"scale-taskmanagers:done", "wait-slots:done", "put-requirements:done",
		"verify-requirements:done", "wait-parallelism:done"}, stepNames(r))
	d, err := srv.Admin().AppsV1().Deployments("flink").Get(context.Background(), "flink-taskmanager", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, int32(5), *d.Spec.Replicas)
	require.Equal(t, []int{5, 4}, e.parallelism(t))

	// The decision and its result are Events on the Deployment, recorded as
	// the ServiceAccount (create-only on events).
	recorder, err := taskmanagers.NewEvents(restCfg, k8s)
	require.NoError(t, err)
	e.deps.Events = recorder
	e.use(k8s)
	<-time.After(e.options.MinInterval)
	r, err = e.act.Actuate(context.Background(), e.decision(events.ModeAdaptive, 6, 4))
	require.NoError(t, err)
	require.Equal(t, events.OutcomeApplied, r.Outcome, "%v %s", stepNames(r), r.Error)
	evs, err := srv.Admin().CoreV1().Events("flink").List(context.Background(), metav1.ListOptions{
		FieldSelector: "involvedObject.name=flink-taskmanager,involvedObject.kind=Deployment,involvedObject.uid=" + string(d.UID)})
	require.NoError(t, err)
	var reasons []string
	for _, ev := range evs.Items {
		reasons = append(reasons, ev.Reason)
		require.Contains(t, ev.Message, "decision d-")
	}
	require.ElementsMatch(t, []string{"ScalingDecision", "Rescaled"}, reasons)

	// A workload outside the RBAC: refused for good, nothing changed.
	refused := e.decision(events.ModeAdaptive, 6, 6)
	refused.Workload = "flink/other"
	r, err = e.act.Actuate(context.Background(), refused)
	require.NoError(t, err)
	require.Equal(t, events.OutcomeFailed, r.Outcome)
	require.Contains(t, r.Error, "forbidden")

	// API server down: a transient failure before any change, retried.
	srv.Stop()
	_, err = e.act.Actuate(context.Background(), e.decision(events.ModeAdaptive, 2, 2))
	require.ErrorIs(t, err, ErrTransient)
	require.Equal(t, []int{6, 4}, e.parallelism(t))
}

// TestFoldedScaleDownOnKubernetes: a folded scale-down against a real
// kube-apiserver (as the ServiceAccount of deploy/rbac/actuate.yaml): the
// Deployment goes 4 → 1 first, the emulator watching it drops the
// TaskManagers (the job, spread over all 4, fails over), actuate waits for
// them to leave the JobManager and declares 2/2 while the job restarts:
// one restart for the whole change.
func TestFoldedScaleDownOnKubernetes(t *testing.T) {
	srv := kubetest.Start(t)
	srv.CreateDeployment(t, "flink", "flink-taskmanager", 4)
	kubeconfig := srv.Kubeconfig(t, srv.ServiceAccountConfig(t, "flink", "flinkscaler-actuate", deployedRules(t)))

	opt := foldOptions(true)
	opt.ReleaseWait = 5 * time.Second
	e := newPacedEnvOf(t, fmt.Sprintf(spreadScenario, checkpoints), false, opt)
	e.watchDeployment(t, srv, kubeconfig)

	r, restarts := e.scaleDown(t)
	require.Equal(t, events.OutcomeApplied, r.Outcome, "%v %s", stepNames(r), r.Error)
	require.Equal(t, []string{"wait-checkpoint:done", "scale-taskmanagers:done", "wait-released:done",
		"put-requirements:done", "verify-requirements:done", "wait-parallelism:done"}, stepNames(r))
	require.NotContains(t, r.Steps[2].Detail, "anyway", "the TaskManagers left within the wait")
	require.Equal(t, 1, restarts)
	d, err := srv.Admin().AppsV1().Deployments("flink").Get(context.Background(), "flink-taskmanager", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, int32(1), *d.Spec.Replicas)
	require.Equal(t, []int{2, 2}, e.parallelism(t))
}

// watchDeployment has e's Actuator scale flink/flink-taskmanager through
// kubeconfig, and the emulator follow that Deployment's replicas.
func (e *env) watchDeployment(t *testing.T, srv *kubetest.Server, kubeconfig string) (*rest.Config, *taskmanagers.Kubernetes) {
	t.Helper()
	restCfg, err := taskmanagers.LoadConfig(kubeconfig)
	require.NoError(t, err)
	k8s, err := taskmanagers.NewKubernetes(restCfg)
	require.NoError(t, err)
	e.options.DefaultWorkload = "deployments/flink/flink-taskmanager"
	e.use(k8s)
	w, err := flinksim.ParseWorkload("flink/flink-taskmanager")
	require.NoError(t, err)
	watcher, err := flinksim.NewWorkloadWatcher(srv.Kubeconfig(t, srv.AdminConfig()), w, e.sim, 50*time.Millisecond)
	require.NoError(t, err)
	ctx, cancel := context.WithCancel(context.Background())
	watched := make(chan error, 1)
	go func() { watched <- watcher.Run(ctx) }()
	t.Cleanup(func() { cancel(); require.NoError(t, <-watched) })
	return restCfg, k8s
}

// TestKubernetesScaleDownMarksPods: actuate owns the TaskManager
// Deployment (as the ServiceAccount of deploy/rbac/actuate.yaml) and
// scales it; the Deployment's ReplicaSet picks which pods go. Before the
// replicas drop, actuate marks each pod with the subtasks its TaskManager
// runs, so the ReplicaSet deletes idle TaskManagers' pods first. Packed
// and not folded (a job whose restart strategy is bounded, say), the
// rescale leaves 3 of the 4 TaskManagers idle and exactly those go: one
// restart. Spread and folded, every TaskManager runs subtasks: the
// removal is the one restart, and the mark says so. Without the pods rule
// (the Role before pods were marked) nothing is marked, the detail says
// why, and the scale-down goes on.
func TestKubernetesScaleDownMarksPods(t *testing.T) {
	noPods := func(t *testing.T) []rbacv1.PolicyRule {
		var rules []rbacv1.PolicyRule
		for _, r := range deployedRules(t) {
			if !slices.Contains(r.Resources, "pods") {
				rules = append(rules, r)
			}
		}
		return rules
	}
	for _, tt := range []struct {
		name      string
		placement string
		fold      bool
		rules     func(*testing.T) []rbacv1.PolicyRule
		steps     []string
		mark      []string // in the mark step's detail
		left      string   // the deletion cost of the pod left
		idleGone  bool     // the ReplicaSet deleted idle TaskManagers only
	}{
		{"packed, old order", "  taskManagerPlacement: packed\n", false, deployedRules,
			[]string{"wait-checkpoint:done", "put-requirements:done", "verify-requirements:done", "wait-parallelism:done",
				"mark-taskmanagers:done", "scale-taskmanagers:done"},
			[]string{"3 run none of the job's subtasks", "1 run some"}, "4", true},
		{"spread, folded", "", true, deployedRules,
			[]string{"mark-taskmanagers:done", "wait-checkpoint:done", "scale-taskmanagers:done", "wait-released:done",
				"put-requirements:done", "verify-requirements:done", "wait-parallelism:done"},
			[]string{"4 run some", "so the removal fails the job over"}, "", false},
		{"no pods rule: not marked", "  taskManagerPlacement: packed\n", false, noPods,
			[]string{"wait-checkpoint:done", "put-requirements:done", "verify-requirements:done", "wait-parallelism:done",
				"mark-taskmanagers:done", "scale-taskmanagers:done"},
			[]string{"not marked", "forbidden", "the ReplicaSet picks the pods by its own order"}, "", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			opt := foldOptions(tt.fold)
			opt.ReleaseWait = 5 * time.Second
			e := newPacedEnvOf(t, fmt.Sprintf(spreadScenario, tt.placement+checkpoints), false, opt)
			pc, _ := ownDeployment(t, e, 4, tt.rules(t))

			r, restarts := e.scaleDown(t)
			require.Equal(t, events.OutcomeApplied, r.Outcome, "%v %s", stepNames(r), r.Error)
			assert.Equal(t, tt.steps, stepNames(r))
			require.Eventually(t, func() bool { return len(pc.costs(t)) == 1 }, 10*time.Second, 20*time.Millisecond, "1 pod left")
			assert.Equal(t, 1, restarts, "restarts for one scale-down")
			assert.Equal(t, []int{2, 2}, e.parallelism(t))
			mark := r.Steps[stepIndex(r, "mark-taskmanagers")].Detail
			for _, want := range tt.mark {
				assert.Contains(t, mark, want)
			}
			if tt.left != "" {
				for _, cost := range pc.costs(t) {
					assert.Equal(t, tt.left, cost, "the pod left is marked with the subtasks it ran")
				}
			}
			if tt.idleGone {
				pc.mu.Lock()
				assert.Len(t, pc.deleted, 3)
				pc.mu.Unlock()
			}
		})
	}
}

// TestKubernetesReplacesPodsThatNeverRegister: actuate owns the
// TaskManager Deployment (as the ServiceAccount of deploy/rbac/actuate.yaml)
// on a real kube-apiserver, the emulator's ReplicaSet plays its pods, and a
// scale-up 2 → 4 starts one TaskManager that registers and one that never
// does (taskManagerNeverRegisters 0.5, the seed fixes the draws). When the
// slot wait runs out, actuate deletes the pod that runs no registered
// TaskManager (matched by its IP) and waits once more. The emulator's
// ReplicaSet puts a pod back for the TaskManager it still runs (it does
// not play a deleted pod's container stopping), so the second wait runs
// out too and the registered TaskManagers are kept: partial, as without
// the replacement. Without delete on pods the replacement fails, is
// recorded so, and the registered ones are kept at once.
func TestKubernetesReplacesPodsThatNeverRegister(t *testing.T) {
	for _, tt := range []struct {
		name    string
		rules   func(*testing.T) []rbacv1.PolicyRule
		steps   []string
		detail  string // of replace-taskmanagers
		deleted bool   // actuate deleted the pod of the TaskManager that never registered
	}{
		{"deployed rules: the pod is deleted", deployedRules,
			[]string{"scale-taskmanagers:done", "wait-slots:failed", "replace-taskmanagers:done", "wait-slots:failed",
				"keep-taskmanagers:done", "put-requirements:done", "verify-requirements:done", "wait-parallelism:done"},
			"3 of 4 TaskManagers registered (2 before) when the slot wait ran out: replaced the 1 that did not (pods [flink-taskmanager-", true},
		{"no delete on pods: kept at once", rulesWithoutPodDelete,
			[]string{"scale-taskmanagers:done", "wait-slots:failed", "replace-taskmanagers:failed",
				"keep-taskmanagers:done", "put-requirements:done", "verify-requirements:done", "wait-parallelism:done"},
			"forbidden", false},
	} {
		t.Run(tt.name, func(t *testing.T) {
			doc := strings.Replace(fmt.Sprintf(scenario, events.ModeAdaptive), "seed: 11\n", "seed: 2\n", 1)
			doc = strings.Replace(doc, "  restart: 2s\n", "  restart: 2s\n  taskManagerNeverRegisters: 0.5\n", 1)
			e := newPacedEnvOf(t, doc, false, Options{SlotWait: 3 * time.Second, ParallelismWait: 10 * time.Second,
				Poll: 20 * time.Millisecond, ReplaceUnregistered: true})
			pc, ctx := ownDeployment(t, e, 2, tt.rules(t))
			w, err := pc.srv.Admin().CoreV1().Pods("flink").Watch(ctx, metav1.ListOptions{LabelSelector: "app=flink-taskmanager"})
			require.NoError(t, err)
			defer w.Stop()

			r, err := e.act.Actuate(context.Background(), e.decision(events.ModeAdaptive, 4, 4))
			require.NoError(t, err)
			require.Equal(t, tt.steps, stepNames(r), "%s", r.Error)
			require.Equal(t, events.OutcomePartial, r.Outcome)
			require.Contains(t, detailOf(r, "replace-taskmanagers"), tt.detail)
			require.Equal(t, []int{3, 3}, e.parallelism(t))

			// The pods deleted: by actuate (the replacement), then by the
			// ReplicaSet as the count fell to the 3 registered (keep).
			gone := podsDeleted(w, 3)
			replaced := detailOf(r, "replace-taskmanagers")
			if tt.deleted {
				require.Len(t, gone, 2, "the replaced pod, then the one put back for its TaskManager")
				require.Equal(t, gone[0], gone[1], "both the pod of the TaskManager that never registered")
				require.Contains(t, replaced, gone[0])
			} else {
				require.Len(t, gone, 1, "only the ReplicaSet's, at keep")
			}
			pc.mu.Lock()
			defer pc.mu.Unlock()
			require.Len(t, pc.deleted, 1, "one TaskManager removed at keep")
			for _, tm := range e.sim.TaskManagerStatuses() {
				require.True(t, tm.Registered, "the TaskManagers left are registered")
			}
		})
	}
}

// TestKubernetesReplacesPodsOfADownJobWithNoSlot: actuate owns the
// TaskManager Deployment (as the ServiceAccount of deploy/rbac/actuate.yaml)
// on a real kube-apiserver, the emulator's ReplicaSet plays its pods. Both
// TaskManagers are lost and the two the ReplicaSet starts in their place
// do not register (a 1 h start-up): the job is down with no slot. A
// decision at the size the job has makes actuate delete exactly those two
// pods (pod watch) and wait for slots; the emulator's ReplicaSet puts a pod
// back for each TaskManager it still runs (it does not play a deleted
// pod's container stopping), so the wait runs out: partial, saying the
// replacements did not register either. Without delete on pods the
// replacement fails, forbidden, nothing is deleted, and the decision fails
// saying why.
func TestKubernetesReplacesPodsOfADownJobWithNoSlot(t *testing.T) {
	for _, tt := range []struct {
		name    string
		rules   func(*testing.T) []rbacv1.PolicyRule
		outcome string
		steps   []string
		detail  string // of replace-taskmanagers
		deleted int    // pods actuate deleted
	}{
		{"deployed rules: both pods deleted", deployedRules, events.OutcomePartial,
			[]string{"replace-taskmanagers:done", "wait-slots:failed"},
			"the job is down with no slot registered and 2 of 2 TaskManagers not registered: replaced them (pods [flink-taskmanager-", 2},
		{"no delete on pods: failed, nothing deleted", rulesWithoutPodDelete, events.OutcomeFailed,
			[]string{"replace-taskmanagers:failed"}, "forbidden", 0},
	} {
		t.Run(tt.name, func(t *testing.T) {
			doc := strings.Replace(fmt.Sprintf(scenario, events.ModeAdaptive), "taskManagerStartup: 2s", "taskManagerStartup: 1h", 1)
			e := newPacedEnvOf(t, doc, false, Options{SlotWait: 2 * time.Second, ParallelismWait: 5 * time.Second,
				Poll: 20 * time.Millisecond, ReplaceUnregistered: true})
			pc, ctx := ownDeployment(t, e, 2, tt.rules(t))

			var lost []string
			for _, tm := range e.sim.TaskManagerStatuses() {
				lost = append(lost, tm.ID)
			}
			e.sim.RemoveTaskManagers(lost...)
			require.Eventually(t, func() bool {
				tms := e.sim.TaskManagerStatuses()
				p, err := pc.srv.Admin().CoreV1().Pods("flink").List(ctx, metav1.ListOptions{LabelSelector: "app=flink-taskmanager"})
				if err != nil || len(p.Items) != 2 || len(tms) != 2 || slices.ContainsFunc(tms, func(s flinksim.TaskManagerStatus) bool {
					return s.Registered || slices.Contains(lost, s.ID)
				}) {
					return false
				}
				for _, pod := range p.Items { // the lost TaskManagers' pods gone, the new ones' created
					if id := pod.Annotations["flinksim.flinkscaler.io/taskmanager"]; id == "" || slices.Contains(lost, id) || pod.DeletionTimestamp != nil {
						return false
					}
				}
				return true
			}, 10*time.Second, 20*time.Millisecond, "two new TaskManagers, not registered, in pods of their own")
			w, err := pc.srv.Admin().CoreV1().Pods("flink").Watch(ctx, metav1.ListOptions{LabelSelector: "app=flink-taskmanager"})
			require.NoError(t, err)
			defer w.Stop()

			r, err := e.act.Actuate(context.Background(), e.decision(events.ModeAdaptive, 2, 2))
			require.NoError(t, err)
			require.Equal(t, tt.steps, stepNames(r), "%s", r.Error)
			require.Equal(t, tt.outcome, r.Outcome, "%s", r.Error)
			require.Contains(t, detailOf(r, "replace-taskmanagers"), tt.detail)

			gone := podsDeleted(w, 0)
			require.Len(t, gone, tt.deleted, "pods deleted: %v", gone)
			for _, name := range gone {
				require.Contains(t, detailOf(r, "replace-taskmanagers"), name)
			}
		})
	}
}
