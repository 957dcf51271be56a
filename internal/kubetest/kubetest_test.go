package kubetest_test

import (
	"testing"

	"github.com/flinkscaler/flinkscaler/internal/kubetest"
	"github.com/stretchr/testify/require"
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// scaleRules is the least privilege a TaskManager scaler needs: the scale
// subresource of one named Deployment.
var scaleRules = []rbacv1.PolicyRule{{
	APIGroups:     []string{"apps"},
	Resources:     []string{"deployments/scale"},
	ResourceNames: []string{"taskmanager"},
	Verbs:         []string{"get", "update", "patch"},
}}

func TestServerScaleSubresourceUnderRBAC(t *testing.T) {
	srv := kubetest.Start(t)
	srv.CreateDeployment(t, "flink", "taskmanager", 2)
	srv.CreateDeployment(t, "flink", "other", 1)
	cfg := srv.ServiceAccountConfig(t, "flink", "actuate", scaleRules)
	path := srv.Kubeconfig(t, cfg)
	fromFile, err := clientcmd.BuildConfigFromFlags("", path)
	require.NoError(t, err)
	sa, err := kubernetes.NewForConfig(fromFile)
	require.NoError(t, err)
	deployments := sa.AppsV1().Deployments("flink")
	ctx := t.Context()

	scale, err := deployments.GetScale(ctx, "taskmanager", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, int32(2), scale.Spec.Replicas)

	scale.Spec.Replicas = 5
	_, err = deployments.UpdateScale(ctx, "taskmanager", scale, metav1.UpdateOptions{})
	require.NoError(t, err)
	d, err := srv.Admin().AppsV1().Deployments("flink").Get(ctx, "taskmanager", metav1.GetOptions{})
	require.NoError(t, err)
	require.Equal(t, int32(5), *d.Spec.Replicas)

	forbidden := map[string]error{}
	_, forbidden["scale of another deployment"] = deployments.GetScale(ctx, "other", metav1.GetOptions{})
	_, forbidden["list deployments"] = deployments.List(ctx, metav1.ListOptions{})
	_, forbidden["get the deployment itself"] = deployments.Get(ctx, "taskmanager", metav1.GetOptions{})
	_, forbidden["scale in another namespace"] = sa.AppsV1().Deployments("default").UpdateScale(ctx, "taskmanager",
		&autoscalingv1.Scale{ObjectMeta: metav1.ObjectMeta{Name: "taskmanager"}}, metav1.UpdateOptions{})
	for name, err := range forbidden {
		require.Truef(t, apierrors.IsForbidden(err), "%s: want Forbidden, got %v", name, err)
	}

	srv.Stop()
	_, err = deployments.GetScale(ctx, "taskmanager", metav1.GetOptions{})
	require.Error(t, err, "a stopped server answers nothing")
}

func TestDecodeYAML(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		kinds   []string
		wantErr string
	}{
		{name: "two documents", in: "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\n", kinds: []string{"Namespace", "ConfigMap"}},
		{name: "empty documents skipped", in: "---\n# only a comment\n---\napiVersion: v1\nkind: Secret\n---\n", kinds: []string{"Secret"}},
		{name: "json", in: `{"apiVersion":"v1","kind":"Service"}`, kinds: []string{"Service"}},
		{name: "missing kind", in: "apiVersion: v1\nmetadata: {name: a}\n", wantErr: "document 1: apiVersion and kind are required"},
		{name: "broken yaml", in: "apiVersion: v1\nkind: [\n", wantErr: "document 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := kubetest.DecodeYAML([]byte(tt.in))
			if tt.wantErr != "" {
				require.ErrorContains(t, err, tt.wantErr)
				return
			}
			require.NoError(t, err)
			var kinds []string
			for _, o := range objs {
				kinds = append(kinds, o.GetKind())
			}
			require.Equal(t, tt.kinds, kinds)
		})
	}
}
