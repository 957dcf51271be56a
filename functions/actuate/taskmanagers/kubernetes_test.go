package taskmanagers

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/rest"

	"github.com/flinkscaler/flinkscaler/internal/kubetest"
)

// actuateRBAC reads the Role rules shipped in deploy/rbac/actuate.yaml, so the
// tests run with exactly the permissions a user deploys.
func actuateRBAC(t testing.TB) (rules []rbacv1.PolicyRule, names []string) {
	t.Helper()
	rules = roleRules(t, "actuate.yaml")
	for _, r := range rules {
		names = append(names, r.ResourceNames...)
	}
	return rules, names
}

// roleRules are the rules of the Role in deploy/rbac/<file>.
func roleRules(t testing.TB, file string) []rbacv1.PolicyRule {
	t.Helper()
	return kubetest.RoleRules(t, "../../../deploy/rbac/"+file)
}

func createStatefulSet(t *testing.T, srv *kubetest.Server, ns, name string, replicas int32) {
	t.Helper()
	labels := map[string]string{"app": name}
	ss := &appsv1.StatefulSet{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: ns},
		Spec: appsv1.StatefulSetSpec{
			Replicas: &replicas, Selector: &metav1.LabelSelector{MatchLabels: labels},
			Template: corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "taskmanager", Image: "flink:1.20"}}},
			},
		},
	}
	_, err := srv.Admin().AppsV1().StatefulSets(ns).Create(t.Context(), ss, metav1.CreateOptions{})
	require.NoError(t, err)
}

// conflictOnce makes the first scale update race with a writer: just before
// it reaches the API server, the admin changes the same scale, so the
// server answers a real 409 Conflict and Scale must re-read and retry.
type conflictOnce struct {
	next   http.RoundTripper
	bump   func()
	bumped atomic.Bool
}

func (c *conflictOnce) RoundTrip(r *http.Request) (*http.Response, error) {
	if r.Method == http.MethodPut && c.bumped.CompareAndSwap(false, true) {
		c.bump()
	}
	return c.next.RoundTrip(r)
}

func TestKubernetesScaleSubresource(t *testing.T) {
	srv := kubetest.Start(t)
	rules, names := actuateRBAC(t)
	require.Contains(t, names, "flink-taskmanager")
	srv.CreateDeployment(t, "flink", "flink-taskmanager", 2)
	srv.CreateDeployment(t, "flink", "other", 1)
	createStatefulSet(t, srv, "flink", "flink-taskmanager", 1)
	saCfg := srv.ServiceAccountConfig(t, "flink", "flinkscaler-actuate", rules)
	fromFile, err := LoadConfig(srv.Kubeconfig(t, saCfg))
	require.NoError(t, err)
	k, err := NewKubernetes(fromFile)
	require.NoError(t, err)
	ctx := t.Context()

	t.Run("deployment by default", func(t *testing.T) {
		n, err := k.Replicas(ctx, "c", "flink/flink-taskmanager")
		require.NoError(t, err)
		require.Equal(t, 2, n)
		require.NoError(t, k.Scale(ctx, "c", "flink/flink-taskmanager", 5))
		requireDeploymentReplicas(t, srv, "flink-taskmanager", 5)
	})
	t.Run("statefulset", func(t *testing.T) {
		require.NoError(t, k.Scale(ctx, "c", "statefulsets/flink/flink-taskmanager", 3))
		n, err := k.Replicas(ctx, "c", "statefulsets.apps/flink/flink-taskmanager")
		require.NoError(t, err)
		require.Equal(t, 3, n)
	})
	t.Run("conflict is retried", func(t *testing.T) {
		cfg := rest.CopyConfig(saCfg)
		race := &conflictOnce{bump: func() { setDeploymentReplicas(t, srv, "flink-taskmanager", 9) }}
		cfg.Wrap(func(rt http.RoundTripper) http.RoundTripper {
			race.next = rt
			return race
		})
		racing, err := NewKubernetes(cfg)
		require.NoError(t, err)
		require.NoError(t, racing.Scale(ctx, "c", "flink/flink-taskmanager", 4))
		require.True(t, race.bumped.Load(), "the update raced with a writer")
		requireDeploymentReplicas(t, srv, "flink-taskmanager", 4)
	})

	refused := []struct {
		name     string
		workload string
		want     error
	}{
		{"workload outside the RBAC names", "flink/other", ErrRejected},
		{"namespace outside the RBAC", "default/flink-taskmanager", ErrRejected},
		{"resource without a scale subresource", "configmaps/flink/flink-taskmanager", ErrWorkload},
		{"unknown resource", "nosuchthings.example.com/flink/flink-taskmanager", ErrWorkload},
		{"malformed reference", "flink-taskmanager", ErrWorkload},
	}
	for _, tt := range refused {
		t.Run(tt.name, func(t *testing.T) {
			require.ErrorIs(t, k.Scale(ctx, "c", tt.workload, 3), tt.want)
		})
	}
	t.Run("not found", func(t *testing.T) {
		admin, err := NewKubernetes(srv.AdminConfig())
		require.NoError(t, err)
		_, err = admin.Replicas(ctx, "c", "flink/missing")
		require.ErrorIs(t, err, ErrWorkload)
	})
	t.Run("API server down", func(t *testing.T) {
		srv.Stop()
		ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
		defer cancel()
		require.ErrorIs(t, k.Scale(ctx, "c", "flink/flink-taskmanager", 6), ErrUnreachable)
	})
}

func requireDeploymentReplicas(t *testing.T, srv *kubetest.Server, name string, want int32) {
	t.Helper()
	d, err := srv.Admin().AppsV1().Deployments("flink").Get(t.Context(), name, metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, want, *d.Spec.Replicas)
}

func setDeploymentReplicas(t *testing.T, srv *kubetest.Server, name string, n int32) {
	s, err := srv.Admin().AppsV1().Deployments("flink").GetScale(context.Background(), name, metav1.GetOptions{})
	if err != nil {
		t.Error(err)
		return
	}
	s.Spec.Replicas = n
	if _, err := srv.Admin().AppsV1().Deployments("flink").UpdateScale(context.Background(), name, s, metav1.UpdateOptions{}); err != nil {
		t.Error(err)
	}
}

func TestParseWorkload(t *testing.T) {
	tests := []struct {
		in      string
		want    string
		wantErr bool
	}{
		{"flink/tm", "deployments.apps/flink/tm", false},
		{"deployments/flink/tm", "deployments.apps/flink/tm", false},
		{"StatefulSets/flink/tm", "statefulsets.apps/flink/tm", false},
		{"flinkdeployments.flink.apache.org/ns/job", "", true},
		{"flinkdeployments/ns/job", "", true},
		{"rollouts.argoproj.io/ns/tm", "rollouts.argoproj.io/ns/tm", false},
		{"tm", "", true},
		{"a/b/c/d", "", true},
		{"/flink/tm", "", true},
		{"Flink_NS/tm", "", true},
		{"flink/", "", true},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			w, err := ParseWorkload(tt.in)
			if tt.wantErr {
				require.ErrorIs(t, err, ErrWorkload)
				if strings.HasPrefix(tt.in, "flinkdeployments") {
					require.ErrorContains(t, err, "--taskmanagers flink", "the refusal names the fix")
				}
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, w.String())
		})
	}
}
