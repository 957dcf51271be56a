// Package deploy_test checks the manifests in deploy/: every Kubernetes
// object is accepted by a server-side dry-run against a real kube-apiserver
// with KEDA's CRDs installed, and the NATS users' permissions let each
// function do its work and nothing else (nats_test.go).
package deploy_test

import (
	"encoding/json"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/kubetest"
	"github.com/stretchr/testify/require"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/yaml"
)

// manifest is one Kubernetes object and where it came from.
type manifest struct {
	file string
	obj  *unstructured.Unstructured
}

func (m manifest) String() string {
	return m.file + ":" + m.obj.GetKind() + "/" + m.obj.GetName()
}

// TestManifestsAcceptedByServerDryRun: every object in deploy/ passes a
// server-side dry-run (admission, validation, strict field checks) with
// KEDA's CRDs installed and draws no warning (PodSecurity "restricted"
// warns on pod templates in namespace flinkscaler). Namespaces are created
// for real first, since namespaced objects need theirs to exist. Broken
// objects are rejected, so acceptance means something.
func TestManifestsAcceptedByServerDryRun(t *testing.T) {
	manifests := loadManifests(t, ".")
	srv := kubetest.Start(t)
	srv.ApplyCRDs(t, kedaCRDs(t))
	a := srv.Applier(t)
	for _, m := range manifests {
		if m.obj.GetKind() == "Namespace" {
			warnings, err := a.Create(t.Context(), m.obj, false)
			require.NoError(t, err, m.String())
			require.Empty(t, warnings, m.String())
		}
	}
	for _, m := range manifests {
		if m.obj.GetNamespace() != "" {
			srv.CreateNamespace(t, m.obj.GetNamespace())
		}
	}
	for _, m := range manifests {
		if m.obj.GetKind() == "Namespace" {
			continue
		}
		t.Run(m.String(), func(t *testing.T) {
			warnings, err := a.Create(t.Context(), m.obj, true)
			require.NoError(t, err)
			require.Empty(t, warnings)
		})
	}
	for _, tt := range brokenManifests {
		t.Run("rejects "+tt.name, func(t *testing.T) {
			objs, err := kubetest.DecodeYAML([]byte(tt.yaml))
			require.NoError(t, err)
			_, err = a.Create(t.Context(), objs[0], true)
			require.ErrorContains(t, err, tt.wantErr)
		})
	}
	t.Run("PodSecurity warns on a pod template that may run as root", func(t *testing.T) {
		objs, err := kubetest.DecodeYAML([]byte(`{apiVersion: apps/v1, kind: Deployment, metadata: {name: x, namespace: flinkscaler},
			spec: {selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: b}}, spec: {containers: [{name: c, image: i}]}}}}`))
		require.NoError(t, err)
		warnings, err := a.Create(t.Context(), objs[0], true)
		require.NoError(t, err)
		require.NotEmpty(t, warnings)
	})
}

// brokenManifests must fail the dry-run the way a typo in deploy/ would.
var brokenManifests = []struct{ name, yaml, wantErr string }{
	{
		name: "unknown ScaledObject field",
		yaml: `{apiVersion: keda.sh/v1alpha1, kind: ScaledObject, metadata: {name: x, namespace: flinkscaler},
			spec: {scaleTargetRef: {name: decide}, triggerz: [], triggers: [{type: external, metadata: {scalerAddress: "a:1"}}]}}`,
		wantErr: `unknown field "spec.triggerz"`,
	},
	{
		name:    "ScaledObject without scaleTargetRef",
		yaml:    `{apiVersion: keda.sh/v1alpha1, kind: ScaledObject, metadata: {name: x, namespace: flinkscaler}, spec: {triggers: []}}`,
		wantErr: "spec.scaleTargetRef: Required value",
	},
	{
		name:    "TriggerAuthentication with a misspelt parameter list",
		yaml:    `{apiVersion: keda.sh/v1alpha1, kind: TriggerAuthentication, metadata: {name: x, namespace: flink}, spec: {secretTargetRefs: []}}`,
		wantErr: `unknown field "spec.secretTargetRefs"`,
	},
	{
		name:    "Role with a bad verb list",
		yaml:    `{apiVersion: rbac.authorization.k8s.io/v1, kind: Role, metadata: {name: x, namespace: flink}, rules: [{apiGroups: [apps], resources: [deployments/scale]}]}`,
		wantErr: "rules[0].verbs: Required value",
	},
	{
		name: "Deployment whose selector misses its labels",
		yaml: `{apiVersion: apps/v1, kind: Deployment, metadata: {name: x, namespace: flinkscaler},
			spec: {selector: {matchLabels: {a: b}}, template: {metadata: {labels: {a: c}}, spec: {containers: [{name: c, image: i}]}}}}`,
		wantErr: "`selector` does not match template `labels`",
	},
}

// TestScaledObjectsMatchTheEventContract keeps KEDA's nats-jetstream
// triggers on the stream and durable consumer names the functions use.
func TestScaledObjectsMatchTheEventContract(t *testing.T) {
	consumers := map[string]bool{}
	for _, m := range loadManifests(t, ".") {
		if m.obj.GetKind() != "ScaledObject" {
			continue
		}
		triggers, _, err := unstructured.NestedSlice(m.obj.Object, "spec", "triggers")
		require.NoError(t, err, m.String())
		for _, tr := range triggers {
			trigger := tr.(map[string]any)
			md, _ := trigger["metadata"].(map[string]any)
			switch trigger["type"] {
			case "nats-jetstream":
				require.Equal(t, events.StreamName, md["stream"], m.String())
				consumers[md["consumer"].(string)] = true
			case "external", "external-push":
				require.Equal(t, "actuate.flinkscaler.svc.cluster.local:9090", md["scalerAddress"], m.String())
				require.NotEmpty(t, md["cluster"], m.String())
				require.NotEmpty(t, md["job"], m.String())
			}
		}
	}
	require.Equal(t, map[string]bool{"decide": true, "actuate": true}, consumers)
}

// loadManifests reads every YAML document under dir that names an
// apiVersion and a kind. A YAML file with no such document is not a
// Kubernetes manifest and is skipped; a file mixing both is an error.
func loadManifests(t *testing.T, dir string) []manifest {
	t.Helper()
	var out []manifest
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err == nil && d.IsDir() && d.Name() == "helm" {
			return filepath.SkipDir // the chart's templates; helm_test.go renders them
		}
		if err != nil || d.IsDir() || !isYAML(path) {
			return err
		}
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		if !isKubernetes(t, path, data) {
			t.Logf("skipping %s: no Kubernetes objects", path)
			return nil
		}
		objs, err := kubetest.DecodeYAML(data)
		require.NoError(t, err, path)
		for _, o := range objs {
			out = append(out, manifest{file: path, obj: o})
		}
		return nil
	})
	require.NoError(t, err)
	require.NotEmpty(t, out, "no manifests under %s", dir)
	return out
}

func isYAML(path string) bool {
	return strings.HasSuffix(path, ".yaml") || strings.HasSuffix(path, ".yml")
}

// isKubernetes reports whether any document of data has apiVersion and kind.
func isKubernetes(t *testing.T, path string, data []byte) bool {
	t.Helper()
	dec := yaml.NewYAMLOrJSONDecoder(strings.NewReader(string(data)), 4096)
	for {
		var head struct {
			APIVersion string `json:"apiVersion"`
			Kind       string `json:"kind"`
		}
		if err := dec.Decode(&head); err != nil {
			return false // EOF, or not YAML this test understands: DecodeYAML reports it if it is a manifest
		}
		if head.APIVersion != "" && head.Kind != "" {
			return true
		}
	}
}

// kedaCRDs is KEDA's CRD folder in the module cache, at the version in
// go.mod; `go mod download` fetches it on first use.
func kedaCRDs(t *testing.T) string {
	t.Helper()
	return filepath.Join(moduleDir(t, "github.com/kedacore/keda/v2"), "config", "crd", "bases")
}

// moduleDir downloads a module (at go.mod's version, or module@version)
// into the module cache and returns its directory.
func moduleDir(t *testing.T, module string) string {
	t.Helper()
	out, err := exec.Command("go", "mod", "download", "-json", module).Output()
	require.NoError(t, err, "go mod download %s: %s", module, out)
	var mod struct{ Dir, Error string }
	require.NoError(t, json.Unmarshal(out, &mod))
	require.Empty(t, mod.Error)
	return mod.Dir
}

// prometheusOperatorCRDs is a directory with the Prometheus Operator's
// ServiceMonitor and PrometheusRule CRDs (the chart's monitoring objects),
// at a fixed release.
func prometheusOperatorCRDs(t *testing.T) string {
	t.Helper()
	src := filepath.Join(moduleDir(t, "github.com/prometheus-operator/prometheus-operator@v0.86.1"), "example", "prometheus-operator-crd")
	dir := t.TempDir()
	for _, name := range []string{"monitoring.coreos.com_servicemonitors.yaml", "monitoring.coreos.com_prometheusrules.yaml"} {
		b, err := os.ReadFile(filepath.Join(src, name))
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), b, 0o600))
	}
	return dir
}
