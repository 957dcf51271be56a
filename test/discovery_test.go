package test

import (
	"context"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	rbacv1 "k8s.io/api/rbac/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/dynamic"

	"github.com/flinkscaler/flinkscaler/functions/actuate/actuator"
	"github.com/flinkscaler/flinkscaler/functions/decide/decider"
	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/functions/metrics-ingest/ingest"
	"github.com/flinkscaler/flinkscaler/internal/discovery"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/function"
	"github.com/flinkscaler/flinkscaler/internal/kubetest"
	"github.com/flinkscaler/flinkscaler/internal/natsserver"
)

// TestNewFlinkDeploymentIsDiscovered: metrics-ingest and actuate start with
// no Flink cluster configured, only discovery of the operator's
// FlinkDeployments (list-only RBAC). A FlinkDeployment created afterwards
// (its REST URL in the flinkscaler.io/url annotation: the emulator) is
// polled, decided on and scaled in native mode, with nothing else edited.
func TestNewFlinkDeploymentIsDiscovered(t *testing.T) {
	api := kubetest.Start(t)
	api.ApplyCRDs(t, "../internal/discovery/testdata/crds")
	sa := api.ServiceAccountConfig(t, "flink", "flinkscaler", []rbacv1.PolicyRule{
		{APIGroups: []string{"flink.apache.org"}, Resources: []string{"flinkdeployments"}, Verbs: []string{"list"}},
	})
	kubeconfig := api.Kubeconfig(t, sa)

	e := startEmulator(t, stepScenario, 60, nil)
	goRun(t, "resource manager", nativeResourceManager(e))
	srv, err := natsserver.Start(natsserver.Config{})
	require.NoError(t, err)
	t.Cleanup(srv.Shutdown)

	icfg := ingestConfig(e, srv.ClientURL())
	icfg.Targets = nil
	icfg.Discover.FlinkDeployments, icfg.Discover.Namespaces, icfg.Discover.Kubeconfig = true, []string{"flink"}, kubeconfig
	icfg.Discover.Every = 200 * time.Millisecond
	require.NoError(t, icfg.Validate())
	goRun(t, "ingest", func(ctx context.Context) error { return ingest.Run(ctx, icfg, testLog(t, "ingest")) })
	startDecide(t, decider.Config{Common: function.Common{NATS: events.ConnOptions{URL: srv.ClientURL(), Name: decider.Function}}, Policy: policy.Defaults()}, testLog(t, "decide"))
	acfg := actuateConfig(t, e, srv.ClientURL())
	acfg.Flink, acfg.TaskManagers, acfg.Kubeconfig = map[string]string{}, actuator.BackendFlink, kubeconfig
	acfg.Discovery = discovery.Config{FlinkDeployments: true, Namespaces: []string{"flink"}}
	acfg.DiscoverEvery = 200 * time.Millisecond
	require.NoError(t, acfg.Validate())
	startActuate(t, acfg, testLog(t, "actuate"))
	c := &kedaChain{e: e, natsURL: srv.ClientURL()}
	_, next := c.results(t)
	decision := decisionsSeen(t, c.natsURL)

	objs, err := kubetest.DecodeYAML([]byte(`{apiVersion: flink.apache.org/v1beta1, kind: FlinkDeployment,
		metadata: {name: orders, namespace: flink, annotations: {flinkscaler.io/url: "` + e.url + `"}},
		spec: {mode: native, flinkConfiguration: {jobmanager.scheduler: adaptive}}}`))
	require.NoError(t, err)
	dyn, err := dynamic.NewForConfig(api.AdminConfig())
	require.NoError(t, err)
	_, err = dyn.Resource(discovery.FlinkDeployments).Namespace("flink").Create(t.Context(), objs[0], metav1.CreateOptions{})
	require.NoError(t, err)

	applied := nextAppliedChange(t, next, decision, 3*time.Minute)
	require.Equal(t, "flink-orders", applied.Cluster, "the cluster is named NAMESPACE-NAME")
	var names []string
	for _, s := range applied.Steps {
		names = append(names, s.Name)
	}
	require.True(t, slices.Contains(names, "put-requirements"), "%v", names)
	raised := false
	for _, v := range e.sim.GroundTruth().Vertices {
		raised = raised || v.Parallelism > 2
	}
	require.True(t, raised, "the discovered job was scaled")
}
