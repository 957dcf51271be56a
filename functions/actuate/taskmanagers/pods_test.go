package taskmanagers

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/flinkscaler/flinkscaler/internal/kubetest"
)

// kedaRBAC reads the Role rules shipped in deploy/rbac/actuate-keda.yaml
// (KEDA owns the replicas; actuate reads the workload and marks its pods).
func kedaRBAC(t testing.TB) []rbacv1.PolicyRule { return roleRules(t, "actuate-keda.yaml") }

func createPod(t *testing.T, srv *kubetest.Server, ns, name, app, ip string) {
	t.Helper()
	p := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns, Labels: map[string]string{"app": app}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "taskmanager", Image: "flink:1.20"}}},
	}
	created, err := srv.Admin().CoreV1().Pods(ns).Create(t.Context(), p, metav1.CreateOptions{})
	require.NoError(t, err)
	created.Status.Phase, created.Status.PodIP = corev1.PodRunning, ip
	created.Status.PodIPs = []corev1.PodIP{{IP: ip}}
	_, err = srv.Admin().CoreV1().Pods(ns).UpdateStatus(t.Context(), created, metav1.UpdateOptions{})
	require.NoError(t, err)
}

// TestPodDeletionCost lists a Deployment's pods and sets their deletion
// cost as the ServiceAccount of deploy/rbac/actuate-keda.yaml, against a
// real kube-apiserver; each failure has its error.
func TestPodDeletionCost(t *testing.T) {
	srv := kubetest.Start(t)
	srv.CreateDeployment(t, "flink", "flink-taskmanager", 2)
	createStatefulSet(t, srv, "flink", "flink-taskmanager", 1)
	createPod(t, srv, "flink", "flink-taskmanager-abc-1", "flink-taskmanager", "10.0.0.11")
	createPod(t, srv, "flink", "flink-taskmanager-abc-2", "flink-taskmanager", "10.0.0.12")
	createPod(t, srv, "flink", "other-1", "other", "10.0.0.13")
	srv.CreateNamespace(t, "default")
	createPod(t, srv, "default", "flink-taskmanager-x", "flink-taskmanager", "10.0.1.1")
	saCfg := srv.ServiceAccountConfig(t, "flink", "flinkscaler-actuate", kedaRBAC(t))
	k, err := NewKubernetes(saCfg)
	require.NoError(t, err)
	pods, err := NewPods(saCfg, k)
	require.NoError(t, err)
	ctx := t.Context()

	list, err := pods.List(ctx, "flink/flink-taskmanager")
	require.NoError(t, err)
	require.Len(t, list, 2, "the Deployment's selector, not the other app's pod")
	require.Equal(t, "10.0.0.11", list[0].IP)
	require.False(t, list[0].HasCost)

	require.NoError(t, pods.SetDeletionCost(ctx, list[0], 3))
	require.NoError(t, pods.SetDeletionCost(ctx, list[1], 0))
	list, err = pods.List(ctx, "flink/flink-taskmanager")
	require.NoError(t, err)
	require.Equal(t, []int{3, 0}, []int{list[0].Cost, list[1].Cost})
	require.True(t, list[0].HasCost && list[1].HasCost)
	p, err := srv.Admin().CoreV1().Pods("flink").Get(ctx, "flink-taskmanager-abc-1", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, "3", p.Annotations[DeletionCostAnnotation])
	require.Equal(t, map[string]string{"app": "flink-taskmanager"}, p.Labels, "only the annotation changed")

	t.Run("pod gone", func(t *testing.T) {
		require.NoError(t, srv.Admin().CoreV1().Pods("flink").Delete(ctx, "flink-taskmanager-abc-2", metav1.DeleteOptions{}))
		require.ErrorIs(t, pods.SetDeletionCost(ctx, list[1], 1), ErrPodGone)
	})
	t.Run("statefulset: the ReplicaSet's order does not apply", func(t *testing.T) {
		_, err := pods.List(ctx, "statefulsets/flink/flink-taskmanager")
		require.ErrorIs(t, err, ErrNoDeletionCost)
	})
	t.Run("namespace outside the RBAC", func(t *testing.T) {
		err := pods.SetDeletionCost(ctx, Pod{Namespace: "default", Name: "flink-taskmanager-x"}, 1)
		require.ErrorIs(t, err, ErrRejected)
	})
	t.Run("without patch on pods", func(t *testing.T) {
		var rules []rbacv1.PolicyRule
		for _, r := range kedaRBAC(t) {
			if len(r.Resources) == 1 && r.Resources[0] == "pods" {
				r.Verbs = []string{"list"}
			}
			rules = append(rules, r)
		}
		cfg := srv.ServiceAccountConfig(t, "flink", "no-patch", rules)
		k, err := NewKubernetes(cfg)
		require.NoError(t, err)
		noPatch, err := NewPods(cfg, k)
		require.NoError(t, err)
		_, err = noPatch.List(ctx, "flink/flink-taskmanager")
		require.NoError(t, err)
		require.ErrorIs(t, noPatch.SetDeletionCost(ctx, list[0], 1), ErrRejected)
	})
	t.Run("API server down", func(t *testing.T) {
		srv.Stop()
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		require.ErrorIs(t, pods.SetDeletionCost(ctx, list[0], 1), ErrUnreachable)
		_, err := pods.List(ctx, "flink/flink-taskmanager")
		require.ErrorIs(t, err, ErrUnreachable)
	})
}

// TestReadsDeletionCost: only a ReplicaSet (a Deployment's) reads the
// pods' deletion cost, so only such workloads' pods are marked.
func TestReadsDeletionCost(t *testing.T) {
	for w, want := range map[string]bool{
		"flink/flink-taskmanager":                  true,
		"deployments/flink/flink-taskmanager":      true,
		"deployments.apps/flink/flink-taskmanager": true,
		"replicasets.apps/flink/flink-taskmanager": true,
		"statefulsets/flink/flink-taskmanager":     false,
		"taskmanagers.example.com/flink/tm":        false,
		"":                                         false,
		"flink":                                    false,
	} {
		assert.Equal(t, want, ReadsDeletionCost(w), w)
	}
}
