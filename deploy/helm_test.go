package deploy_test

import (
	"encoding/json"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"

	"github.com/flinkscaler/flinkscaler/functions/actuate/actuator"
	"github.com/flinkscaler/flinkscaler/functions/actuate/taskmanagers"
	"github.com/flinkscaler/flinkscaler/functions/decide/decider"
	"github.com/flinkscaler/flinkscaler/functions/metrics-ingest/ingest"
	"github.com/flinkscaler/flinkscaler/internal/kubetest"
)

// chartDir is flinkscaler's Helm chart.
const chartDir = "helm/flinkscaler"

// renderChart renders the chart (kubetest.RenderChart) as manifests.
func renderChart(t *testing.T, values ...string) ([]manifest, error) {
	t.Helper()
	objs, err := kubetest.RenderChart(t, chartDir, values...)
	if err != nil {
		return nil, err
	}
	var ms []manifest
	for _, o := range objs {
		ms = append(ms, manifest{file: chartDir, obj: o})
	}
	return ms, nil
}

// TestHelmChart renders the chart for each TaskManager owner and applies
// every object with a server-side dry-run against the test kube-apiserver
// with KEDA's CRDs; the functions' command lines go through their own flag
// parsing and validation, and RBAC is exactly what the owner needs.
func TestHelmChart(t *testing.T) {
	srv := kubetest.Start(t)
	srv.ApplyCRDs(t, kedaCRDs(t))
	a := srv.Applier(t)
	tests := []struct {
		name  string
		sets  []string
		owner string
	}{
		{"defaults: KEDA owns the TaskManagers", nil, actuator.BackendKEDA},
		{"KEDA with the HPA's tolerance 0", []string{"taskManagers.hpaToleranceZero=true"}, actuator.BackendKEDA},
		{"actuate owns them, no KEDA", []string{"taskManagers.owner=kubernetes", "keda.enabled=false"}, actuator.BackendKubernetes},
		{"native Flink (the operator's default mode)", []string{"taskManagers.owner=flink", "keda.scaleFunctions=false"}, actuator.BackendFlink},
		{"a base policy", []string{"@testdata/policy-values.yaml"}, actuator.BackendKEDA},
		{"native FlinkDeployments discovered, no cluster listed", []string{"taskManagers.owner=flink", "keda.scaleFunctions=false",
			"discovery.flinkDeployments=true", "clusters=null"}, actuator.BackendFlink},
		{"labelled Services discovered in one namespace", []string{"discovery.services=true", "discovery.namespaces[0]=flink"}, actuator.BackendKEDA},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			all, err := renderChart(t, tt.sets...)
			require.NoError(t, err)
			for _, m := range all {
				if ns := m.obj.GetNamespace(); ns != "" {
					srv.CreateNamespace(t, ns)
				}
			}
			for _, m := range all {
				warnings, err := a.Create(t.Context(), m.obj, true)
				require.NoError(t, err, m.String())
				require.Empty(t, warnings, m.String())
			}
			act := parseActuate(t, container(t, all, "actuate"))
			require.Equal(t, tt.owner, act.TaskManagers)
			dec := parseDecide(t, all)
			require.Equal(t, "adaptive", dec.Policy.Mode, "decide keeps its default mode whoever owns the TaskManagers")
			ing := parseIngest(t, all)
			for _, target := range ing.Targets {
				require.Contains(t, act.Flink, target.Cluster)
			}
			tmScaledObjects := 0
			for _, m := range all {
				if m.obj.GetKind() == "ScaledObject" && m.obj.GetNamespace() == "flink" {
					tmScaledObjects++
					fallback, _, _ := unstructured.NestedString(m.obj.Object, "spec", "fallback", "behavior")
					require.Equal(t, "currentReplicas", fallback)
				}
			}
			w, err := taskmanagers.ParseWorkload("flink/flink-taskmanager")
			require.NoError(t, err)
			switch tt.owner {
			case actuator.BackendKEDA:
				require.Equal(t, 1, tmScaledObjects)
				require.False(t, rbacAllowsScale(t, all, w), "KEDA scales; actuate only reads the workload for its Events")
				require.Equal(t, "deployments/flink/flink-taskmanager", act.Workload, "where the Events go")
				require.True(t, rbacAllowsPods(t, all, "flink", "patch"), "its pods are marked before a scale-down")
				require.False(t, rbacAllowsPods(t, all, "flink", "delete"), "with KEDA owning the TaskManagers actuate replaces none")
				if slices.Contains(tt.sets, "taskManagers.hpaToleranceZero=true") {
					require.InDelta(t, 0, act.Options.HPATolerance, 0)
				} else {
					require.InDelta(t, 0.1, act.Options.HPATolerance, 0)
				}
			case actuator.BackendKubernetes:
				require.Zero(t, tmScaledObjects)
				require.True(t, rbacAllowsScale(t, all, w))
				require.Equal(t, "deployments/flink/flink-taskmanager", act.Workload)
				require.True(t, rbacAllowsPods(t, all, "flink", "patch"), "its pods are marked before a scale-down")
				require.True(t, rbacAllowsPods(t, all, "flink", "delete"), "its pods that never registered are replaced")
			case actuator.BackendFlink:
				require.Zero(t, tmScaledObjects)
				require.False(t, rbacAllowsScale(t, all, w))
			}
			requireLeastPrivilege(t, all)
			discovers := slices.ContainsFunc(tt.sets, func(s string) bool { return strings.HasPrefix(s, "discovery.") })
			require.Equal(t, discovers, act.Discovery.Enabled())
			require.Equal(t, discovers, ing.Discover.Services || ing.Discover.FlinkDeployments)
			if tt.name == "a base policy" {
				require.InDelta(t, 0.8, dec.Policy.Utilization.Max, 0)
				require.Equal(t, 12, dec.Policy.MaxTaskManagers)
			}
		})
	}
}

// requireLeastPrivilege: namespaced Roles for the scale subresource of
// named workloads and creating Events; discovery may only list Services
// and FlinkDeployments (cluster-wide when no namespaces are given).
func requireLeastPrivilege(t *testing.T, all []manifest) {
	t.Helper()
	for _, m := range all {
		switch m.obj.GetKind() {
		case "ClusterRole", "Role":
			rules, _, err := unstructured.NestedSlice(m.obj.Object, "rules")
			require.NoError(t, err)
			for _, r := range rules {
				rule := r.(map[string]any)
				res := rule["resources"].([]any)
				if slices.Equal(res, []any{"services"}) || slices.Equal(res, []any{"flinkdeployments"}) {
					require.Equal(t, []any{"list"}, rule["verbs"], "%s: discovery only lists", m)
					continue
				}
				require.Equal(t, "Role", m.obj.GetKind(), "%s: nothing but discovery is cluster-wide", m)
				if slices.Equal(rule["resources"].([]any), []any{"events"}) {
					require.Equal(t, []any{"create"}, rule["verbs"], "%s: events are only created", m)
					continue
				}
				if slices.Equal(rule["resources"].([]any), []any{"pods"}) {
					verbs := rule["verbs"].([]any)
					require.True(t, slices.Equal(verbs, []any{"list", "patch"}) || slices.Equal(verbs, []any{"list", "patch", "delete"}),
						"%s: pods are only listed, annotated and (when actuate owns the replicas) deleted for their ReplicaSet to replace: %v", m, verbs)
					continue
				}
				for _, res := range rule["resources"].([]any) {
					require.True(t, strings.HasSuffix(res.(string), "/scale"), "%s: %v", m, res)
				}
				require.NotEmpty(t, rule["resourceNames"], "%s: named workloads only", m)
				verbs := rule["verbs"].([]any)
				require.True(t, slices.Equal(verbs, []any{"get"}) || slices.Equal(verbs, []any{"get", "update", "patch"}), "%s: %v", m, verbs)
			}
		}
	}
}

// TestHelmChartRefusesValuesThatCannotWork: each fails the render with a
// message that names the fix.
func TestHelmChartRefusesValuesThatCannotWork(t *testing.T) {
	tests := []struct {
		name string
		sets []string
		want string
	}{
		{"KEDA owner without KEDA", []string{"keda.enabled=false"}, "taskManagers.owner keda needs keda.enabled: true"},
		{"no cluster and no discovery", []string{"clusters=null"}, "or enable discovery.services or discovery.flinkDeployments"},
		{"unknown owner", []string{"taskManagers.owner=hpa"}, `taskManagers.owner: "hpa" is not keda, kubernetes, flink or none`},
		{"a FlinkDeployment as the workload", []string{"taskManagers.workloads[0].kind=FlinkDeployment"}, "a FlinkDeployment is not a scale target"},
		{"mode keda in the policy", []string{"policy.mode=keda"}, "policy.mode: keda is not needed"},
		{"a bad cluster name", []string{"clusters[0].name=prod.eu"}, `clusters: name "prod.eu"`},
		{"a JobManager URL that is not one", []string{"clusters[0].name=prod", "clusters[0].url=wordcount-rest:8081"}, "want http(s)://host:port"},
		{"tolerance 0 without KEDA", []string{"taskManagers.owner=kubernetes", "keda.enabled=false", "taskManagers.hpaToleranceZero=true"}, "applies to owner keda only"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := renderChart(t, tt.sets...)
			require.Error(t, err)
			require.Contains(t, err.Error(), tt.want)
		})
	}
}

// TestChartMonitoringUsesRealMetrics: the ServiceMonitors and the
// PrometheusRule pass a server-side dry-run with the Prometheus Operator's
// CRDs; every metric the rule alerts on and the Grafana dashboard plots is
// one the functions export; the dashboard is valid JSON.
func TestChartMonitoringUsesRealMetrics(t *testing.T) {
	all, err := renderChart(t, "metrics.prometheusRule.enabled=true", "metrics.dashboard.enabled=true", "metrics.serviceMonitor.enabled=true")
	require.NoError(t, err)
	srv := kubetest.Start(t)
	srv.ApplyCRDs(t, prometheusOperatorCRDs(t))
	srv.CreateNamespace(t, "flinkscaler")
	a := srv.Applier(t)
	for _, m := range all {
		if k := m.obj.GetKind(); k == "ServiceMonitor" || k == "PrometheusRule" || k == "ConfigMap" {
			warnings, err := a.Create(t.Context(), m.obj, true)
			require.NoError(t, err, m.String())
			require.Empty(t, warnings, m.String())
		}
	}
	exported := exportedMetrics(t)
	var used []string
	kinds := map[string]int{}
	for _, m := range all {
		kinds[m.obj.GetKind()]++
		switch m.obj.GetKind() {
		case "PrometheusRule":
			raw, err := json.Marshal(m.obj.Object)
			require.NoError(t, err)
			used = append(used, metricRE.FindAllString(string(raw), -1)...)
		case "ConfigMap":
			if dash, ok := m.obj.Object["data"].(map[string]any)["flinkscaler.json"].(string); ok {
				var v map[string]any
				require.NoError(t, json.Unmarshal([]byte(dash), &v), "dashboard JSON")
				require.NotEmpty(t, v["panels"])
				used = append(used, metricRE.FindAllString(dash, -1)...)
			}
		}
	}
	require.Equal(t, 3, kinds["ServiceMonitor"], "one per function")
	require.Equal(t, 1, kinds["PrometheusRule"])
	require.NotEmpty(t, used)
	for _, name := range used {
		require.Contains(t, exported, name, "the chart uses a metric no function exports")
	}
}

var metricRE = regexp.MustCompile(`flinkscaler_[a-z_]+[a-z]`)

// exportedMetrics lists the metric names ingest, decide and actuate
// register.
func exportedMetrics(t *testing.T) map[string]bool {
	t.Helper()
	reg := prometheus.NewRegistry()
	decider.NewMetrics(reg)
	actuator.NewMetrics(reg)
	descs := make(chan *prometheus.Desc, 256)
	go func() {
		reg.Describe(descs)
		ingest.NewTelemetry(time.Second).Registry().Describe(descs)
		close(descs)
	}()
	names := map[string]bool{}
	nameRE := regexp.MustCompile(`fqName: "([^"]+)"`)
	for d := range descs {
		if m := nameRE.FindStringSubmatch(d.String()); m != nil {
			names[m[1]] = true
		}
	}
	return names
}
