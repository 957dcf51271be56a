package discovery

import (
	"context"
	"log/slog"
	"testing"

	"github.com/stretchr/testify/require"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/flinkscaler/flinkscaler/internal/kubetest"
)

// readRules are the least the finder needs.
var readRules = []rbacv1.PolicyRule{
	{APIGroups: []string{""}, Resources: []string{"services"}, Verbs: []string{"list"}},
	{APIGroups: []string{"flink.apache.org"}, Resources: []string{"flinkdeployments"}, Verbs: []string{"list"}},
}

func service(name string, labels map[string]string, ports ...corev1.ServicePort) *corev1.Service {
	return &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: name, Labels: labels},
		Spec: corev1.ServiceSpec{Ports: ports, Selector: map[string]string{"app": name}}}
}

// TestFindOnKubernetes: labelled JobManager Services and the operator's
// FlinkDeployments are found on a real kube-apiserver, as a ServiceAccount
// with list-only RBAC; objects that must not be scaled are skipped with the
// reason; a new FlinkDeployment appears at the next refresh.
func TestFindOnKubernetes(t *testing.T) {
	srv := kubetest.Start(t)
	srv.ApplyCRDs(t, "testdata/crds")
	srv.CreateNamespace(t, "flink")
	ctx := context.Background()
	admin := srv.Admin()
	for _, s := range []*corev1.Service{
		service("orders-jm", map[string]string{ClusterLabel: "orders"}, corev1.ServicePort{Name: "rest", Port: 8081}, corev1.ServicePort{Name: "blob", Port: 6124}),
		service("payments-jm", map[string]string{ClusterLabel: "payments"}, corev1.ServicePort{Name: "http", Port: 18081}),
		service("bad-jm", map[string]string{ClusterLabel: "bad.name"}, corev1.ServicePort{Port: 8081}),
		service("unrelated", nil, corev1.ServicePort{Port: 80}),
	} {
		_, err := admin.CoreV1().Services("flink").Create(ctx, s, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	dynAdmin, err := dynamic.NewForConfig(srv.AdminConfig())
	require.NoError(t, err)
	fd := func(name string, labels map[string]string, conf map[string]any) {
		t.Helper()
		objs, err := kubetest.DecodeYAML([]byte(`{apiVersion: flink.apache.org/v1beta1, kind: FlinkDeployment, metadata: {name: ` + name + `, namespace: flink}, spec: {mode: native}}`))
		require.NoError(t, err)
		o := objs[0]
		o.SetLabels(labels)
		if conf != nil {
			o.Object["spec"].(map[string]any)["flinkConfiguration"] = conf
		}
		_, err = dynAdmin.Resource(FlinkDeployments).Namespace("flink").Create(ctx, o, metav1.CreateOptions{})
		require.NoError(t, err)
	}
	fd("wordcount", nil, map[string]any{"jobmanager.scheduler": "adaptive"})
	fd("clicks", map[string]string{ClusterLabel: "clicks"}, map[string]any{"rest.port": "9081"})
	fd("tuned", nil, map[string]any{"job.autoscaler.enabled": "true"})
	fd("manual", map[string]string{ScaleLabel: "false"}, nil)

	sa := srv.ServiceAccountConfig(t, "flink", "discovery", readRules)
	core, err := kubernetes.NewForConfig(sa)
	require.NoError(t, err)
	dyn, err := dynamic.NewForConfig(sa)
	require.NoError(t, err)
	reg := NewRegistry(NewFinder(Config{Namespaces: []string{"flink"}, Services: true, FlinkDeployments: true}, core, dyn), 0, slog.New(slog.DiscardHandler))
	require.NoError(t, reg.Refresh(ctx))
	require.Equal(t, []Target{
		{Cluster: "clicks", URL: "http://clicks-rest.flink.svc:9081", From: "flinkdeployment/flink/clicks"},
		{Cluster: "flink-wordcount", URL: "http://wordcount-rest.flink.svc:8081", From: "flinkdeployment/flink/wordcount"},
		{Cluster: "orders", URL: "http://orders-jm.flink.svc:8081", From: "service/flink/orders-jm"},
		{Cluster: "payments", URL: "http://payments-jm.flink.svc:18081", From: "service/flink/payments-jm"},
	}, reg.Targets())
	_, skipped, err := reg.finder.Find(ctx)
	require.NoError(t, err)
	require.Len(t, skipped, 3)
	require.Contains(t, skipped[0]+skipped[1]+skipped[2], "the operator's own autoscaler is on")
	require.Contains(t, skipped[0]+skipped[1]+skipped[2], ScaleLabel+"=false")
	require.Contains(t, skipped[0]+skipped[1]+skipped[2], "service/flink/bad-jm")

	fd("late", nil, nil)
	require.NoError(t, reg.Refresh(ctx))
	url, ok := reg.URL("flink-late")
	require.True(t, ok)
	require.Equal(t, "http://late-rest.flink.svc:8081", url)

	// Outside its namespace the ServiceAccount may list nothing: an error,
	// and the clusters found before stay.
	other := NewRegistry(NewFinder(Config{Services: true}, core, dyn), 0, slog.New(slog.DiscardHandler))
	require.ErrorContains(t, other.Refresh(ctx), "forbidden")
	reg.finder = other.finder
	require.Error(t, reg.Refresh(ctx))
	require.Len(t, reg.Targets(), 5)
}
