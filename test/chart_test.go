package test

import (
	"flag"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/kedacore/keda/v2/pkg/scalers/externalscaler"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"

	"github.com/flinkscaler/flinkscaler/functions/actuate/actuator"
	"github.com/flinkscaler/flinkscaler/functions/decide/decider"
	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
	"github.com/flinkscaler/flinkscaler/internal/function"
	"github.com/flinkscaler/flinkscaler/internal/kubetest"
	"github.com/flinkscaler/flinkscaler/internal/natsserver"
	"github.com/flinkscaler/flinkscaler/internal/testpki"
)

// chartActuate is actuate's configuration exactly as the chart's Deployment
// passes it (its own flag parsing), with what a test machine must change:
// the NATS server, the JobManager URL, loopback listen addresses, the
// kubeconfig, files under the pod's mounts, and waits scaled to the
// emulator's speed.
func chartActuate(t *testing.T, objs []*unstructured.Unstructured, e *emulator, natsURL, mountDir, kubeconfig string) actuator.Config {
	t.Helper()
	var dep appsv1.Deployment
	for _, o := range objs {
		if o.GetKind() == "Deployment" && o.GetName() == "actuate" {
			require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(o.Object, &dep))
		}
	}
	c := dep.Spec.Template.Spec.Containers[0]
	require.Equal(t, "actuate", c.Args[0])
	var args []string
	for _, a := range c.Args[1:] {
		args = append(args, strings.ReplaceAll(a, "/etc/flinkscaler/keda-tls", mountDir))
	}
	cfg := actuator.DefaultConfig()
	fs := flag.NewFlagSet("actuate", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfg.RegisterFlags(fs)
	require.NoError(t, fs.Parse(args))
	require.NoError(t, cfg.Validate(), "the chart's actuate flags")
	cfg.NATS = events.ConnOptions{URL: natsURL, Name: "actuate"}
	for name := range cfg.Flink {
		cfg.Flink[name] = e.url
	}
	cfg.HTTPListen, cfg.Kubeconfig = "", kubeconfig
	if cfg.KEDAListen != "" {
		cfg.KEDAListen, cfg.KEDAPoll = freeAddr(t), 100*time.Millisecond
	}
	test := actuateConfig(t, e, natsURL)
	cfg.Options.SlotWait, cfg.Options.ParallelismWait, cfg.Options.Poll = test.Options.SlotWait, test.Options.ParallelismWait, test.Options.Poll
	cfg.Options.MinInterval, cfg.Options.CheckpointWait = test.Options.MinInterval, test.Options.CheckpointWait
	require.NoError(t, cfg.Validate())
	return cfg
}

// TestChartDefaultsScaleUpAndDown installs the chart's RBAC on a real
// kube-apiserver and runs actuate with the chart's own command line, decide
// with the chart's policy ConfigMap (the defaults) and metrics-ingest, for
// a job whose load steps up and later down: with the chart's defaults (KEDA
// owns the TaskManagers, mutual TLS to the scaler, KEDA's client in the
// HPA's place) and with actuate owning them (its Role, as its
// ServiceAccount). The TaskManagers go up and then down, and each decision
// and result is an Event on the TaskManager Deployment.
func TestChartDefaultsScaleUpAndDown(t *testing.T) {
	tests := []struct {
		name   string
		values []string
	}{
		{"defaults: KEDA owns the TaskManagers", []string{"taskManagers.workloads[0].job=orders", "taskManagers.workloads[0].cluster=prod",
			"taskManagers.workloads[0].namespace=flink", "taskManagers.workloads[0].kind=Deployment", "taskManagers.workloads[0].name=flink-taskmanager"}},
		{"actuate owns the TaskManagers", []string{"taskManagers.owner=kubernetes", "keda.enabled=false"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := kubetest.RenderChart(t, "../deploy/helm/flinkscaler", tt.values...)
			require.NoError(t, err)
			api := kubetest.Start(t)
			api.CreateDeployment(t, "flink", "flink-taskmanager", 2)
			api.CreateNamespace(t, "flinkscaler")
			a := api.Applier(t)
			for _, o := range objs {
				if k := o.GetKind(); k == "ServiceAccount" || k == "Role" || k == "RoleBinding" {
					_, err := a.Create(t.Context(), o, false)
					require.NoError(t, err, "%s %s", k, o.GetName())
				}
			}
			kubeconfig := api.Kubeconfig(t, api.TokenConfig(t, "flinkscaler", "actuate"))
			e := startEmulator(t, stepScenario, 60, nil)
			w, err := flinksim.ParseWorkload("flink/flink-taskmanager")
			require.NoError(t, err)
			watcher, err := flinksim.NewWorkloadWatcher(api.Kubeconfig(t, api.AdminConfig()), w, e.sim, 50*time.Millisecond)
			require.NoError(t, err)
			goRun(t, "watcher", watcher.Run)

			serverCA, clientCA := testpki.NewCA(t, "keda-server"), testpki.NewCA(t, "keda-clients")
			mount := t.TempDir()
			srvCert, srvKey := serverCA.Issue("actuate", true)
			for dst, src := range map[string]string{"tls.crt": srvCert, "tls.key": srvKey, "ca.crt": clientCA.CAFile} {
				b, err := os.ReadFile(src)
				require.NoError(t, err)
				require.NoError(t, os.WriteFile(filepath.Join(mount, dst), b, 0o600))
			}
			srv, err := natsserver.Start(natsserver.Config{})
			require.NoError(t, err)
			t.Cleanup(srv.Shutdown)
			acfg := chartActuate(t, objs, e, srv.ClientURL(), mount, kubeconfig)
			startActuate(t, acfg, testLog(t, "actuate"))
			c := &kedaChain{api: api, e: e, natsURL: srv.ClientURL(), acfg: acfg}
			c.results(t) // waits for actuate to provision the stream
			if acfg.KEDAListen != "" {
				cliCert, cliKey := clientCA.Issue("keda-operator", false)
				c.keda = &hpa{client: kedaClient(t, acfg.KEDAListen, clientTLS(t, serverCA, cliCert, cliKey)),
					ref: &externalscaler.ScaledObjectRef{Name: "prod-orders-taskmanagers", Namespace: "flink",
						ScalerMetadata: scaledObjectMetadata(t, objs)},
					kube: api.Admin(), namespace: "flink", deployment: "flink-taskmanager", tolerance: 0.1, min: 1, max: 64}
				goRun(t, "keda", c.keda.run)
			}
			startIngest(t, e, ingestConfig(e, srv.ClientURL()), events.ConnOptions{URL: srv.ClientURL(), Name: "ingest"}, testLog(t, "ingest"))
			pol, err := policy.Load(strings.NewReader(chartPolicy(t, objs)), policy.Defaults())
			require.NoError(t, err)
			require.NoError(t, pol.Validate())
			startDecide(t, decider.Config{Common: function.Common{NATS: events.ConnOptions{URL: srv.ClientURL(), Name: decider.Function}}, Policy: pol}, testLog(t, "decide"))

			// The Deployment's replicas, read every second: up from 2, then
			// down from the highest seen. Read on their own, not once per
			// applied result: with KEDA the HPA moves them after the result
			// (so a result's read can come before its scale-down), and a
			// partial scale-up (slots still registering at the wait's end)
			// is a peak too.
			peak, seen := 2, []int{2}
			deadline := time.Now().Add(4 * time.Minute)
			for {
				n := int(c.replicas(t))
				if n != seen[len(seen)-1] {
					seen = append(seen, n)
				}
				peak = max(peak, n)
				if peak > 2 && n < peak {
					t.Logf("TaskManagers went up to %d and down to %d (replicas seen: %v)", peak, n, seen)
					break
				}
				require.True(t, time.Now().Before(deadline), "the TaskManagers did not go up and then down within 4m (replicas seen: %v)", seen)
				time.Sleep(time.Second)
			}
			// Each decision and its result are Events on the TaskManager
			// Deployment, recorded as the chart's ServiceAccount (the
			// result's shortly after the scale it records).
			var reasons map[string]int
			deadline = time.Now().Add(time.Minute)
			for {
				evs, err := api.Admin().CoreV1().Events("flink").List(t.Context(), metav1.ListOptions{FieldSelector: "involvedObject.name=flink-taskmanager"})
				require.NoError(t, err)
				reasons = map[string]int{}
				for _, ev := range evs.Items {
					reasons[ev.Reason]++
				}
				if reasons["ScalingDecision"] > 0 && reasons["Rescaled"] > 0 || time.Now().After(deadline) {
					break
				}
				time.Sleep(time.Second)
			}
			require.Positive(t, reasons["ScalingDecision"], "%v", reasons)
			require.Positive(t, reasons["Rescaled"], "%v", reasons)
		})
	}
}

// scaledObjectMetadata is the trigger metadata of the chart's TaskManager
// ScaledObject, as KEDA sends it to the scaler.
func scaledObjectMetadata(t *testing.T, objs []*unstructured.Unstructured) map[string]string {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() != "ScaledObject" || o.GetNamespace() != "flink" {
			continue
		}
		triggers, _, err := unstructured.NestedSlice(o.Object, "spec", "triggers")
		require.NoError(t, err)
		md := map[string]string{}
		for k, v := range triggers[0].(map[string]any)["metadata"].(map[string]any) {
			md[k] = v.(string)
		}
		return md
	}
	require.FailNow(t, "no TaskManager ScaledObject in the chart")
	return nil
}

// chartPolicy is decide's policy file from the chart's ConfigMap.
func chartPolicy(t *testing.T, objs []*unstructured.Unstructured) string {
	t.Helper()
	for _, o := range objs {
		if o.GetKind() == "ConfigMap" && o.GetName() == "decide-policy" {
			s, _, err := unstructured.NestedString(o.Object, "data", "policy.yaml")
			require.NoError(t, err)
			return s
		}
	}
	require.FailNow(t, "no decide-policy ConfigMap in the chart")
	return ""
}
