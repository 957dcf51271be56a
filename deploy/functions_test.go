package deploy_test

import (
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/flinkscaler/flinkscaler/functions/actuate/actuator"
	"github.com/flinkscaler/flinkscaler/functions/actuate/taskmanagers"
	"github.com/flinkscaler/flinkscaler/functions/decide/decider"
	"github.com/flinkscaler/flinkscaler/functions/metrics-ingest/ingest"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/stretchr/testify/require"
	appsv1 "k8s.io/api/apps/v1"
	corev1 "k8s.io/api/core/v1"
	rbacv1 "k8s.io/api/rbac/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime"
)

// TestFunctionDeploymentsParse runs each function Deployment's command line
// and environment through the function's own flag parsing and validation,
// and checks that the pieces agree: actuate knows the clusters ingest
// polls; as shipped KEDA owns TaskManager replicas and reaches actuate's
// scaler on the port it listens on; and the documented alternative, actuate
// owning them, is valid and covered by deploy/rbac.
func TestFunctionDeploymentsParse(t *testing.T) {
	all := loadManifests(t, ".")
	ingestCfg := parseIngest(t, all)
	decideCfg := parseDecide(t, all)
	c := container(t, all, "actuate")
	actuateCfg := parseActuate(t, c)

	require.Equal(t, "ingest", ingestCfg.NATS.User)
	require.Equal(t, "decide", decideCfg.NATS.User)
	require.Equal(t, "actuate", actuateCfg.NATS.User)
	for _, cfg := range []events.ConnOptions{ingestCfg.NATS, decideCfg.NATS, actuateCfg.NATS} {
		require.Equal(t, "nats://nats.flinkscaler.svc.cluster.local:4222", cfg.URL)
		require.Equal(t, "secret-"+cfg.User, cfg.Password, "the %s password from Secret flinkscaler-nats", cfg.User)
	}
	for _, target := range ingestCfg.Targets {
		require.Contains(t, actuateCfg.Flink, target.Cluster, "actuate has no --flink for ingest's cluster")
	}
	require.Equal(t, actuator.BackendKEDA, actuateCfg.TaskManagers, "KEDA owns TaskManager replicas as shipped")
	require.Equal(t, events.ModeAdaptive, decideCfg.Policy.Mode, "one setting: decide runs its default mode whoever owns the TaskManagers")
	_, port, err := net.SplitHostPort(actuateCfg.KEDAListen)
	require.NoError(t, err)
	require.Equal(t, "9090", port, "the actuate Service and the ScaledObjects use 9090")

	owned := actuateOwnsTaskManagers(c, "flink/flink-taskmanager")
	ownedCfg := parseActuate(t, owned)
	w, err := taskmanagers.ParseWorkload(ownedCfg.Workload)
	require.NoError(t, err)
	require.True(t, rbacAllowsScale(t, all, w), "deploy/rbac does not let actuate scale %s", w)
	for _, verb := range []string{"list", "patch", "delete"} {
		require.True(t, rbacAllowsPods(t, all, w.Namespace, verb), "deploy/rbac does not let actuate %s the pods of %s it marks (or replaces)", verb, w)
	}

	// As shipped (KEDA owns them) actuate may read the workload's scale
	// subresource for its Events, and only that.
	kw, err := taskmanagers.ParseWorkload(actuateCfg.Workload)
	require.NoError(t, err)
	require.True(t, rbacAllows(t, all, kw, "get"), "deploy/rbac does not let actuate read %s for its Events", kw)
	// and list and annotate its pods (pod-deletion-cost before a scale-down).
	for _, verb := range []string{"list", "patch"} {
		require.True(t, rbacAllowsPods(t, all, kw.Namespace, verb), "deploy/rbac does not let actuate %s pods in %s", verb, kw.Namespace)
	}
}

// actuateOwnsTaskManagers edits c as the comment in actuate.yaml says.
func actuateOwnsTaskManagers(c corev1.Container, workload string) corev1.Container {
	c.Args = slices.DeleteFunc(slices.Clone(c.Args), func(a string) bool {
		return strings.HasPrefix(a, "--keda-") || strings.HasPrefix(a, "--taskmanagers=") || strings.HasPrefix(a, "--hpa-") ||
			strings.HasPrefix(a, "--taskmanager-workload=")
	})
	c.Args = append(c.Args, "--taskmanagers=kubernetes", "--taskmanager-workload="+workload)
	return c
}

func parseIngest(t *testing.T, all []manifest) ingest.Config {
	t.Helper()
	c := container(t, all, "metrics-ingest")
	dir := t.TempDir()
	data := configMapData(t, all, "metrics-ingest")
	for k, v := range data {
		require.NoError(t, os.WriteFile(filepath.Join(dir, k), []byte(v), 0o600))
	}
	env := containerEnv(c)
	cfg, err := ingest.ParseArgs(verbArgs(t, c, "ingest", "/etc/flinkscaler", dir), getenv(env), io.Discard)
	require.NoError(t, err, "metrics-ingest configuration")
	return cfg
}

func parseDecide(t *testing.T, all []manifest) decider.Config {
	t.Helper()
	c := container(t, all, "decide")
	dir := t.TempDir() // the policy ConfigMap, mounted
	for k, v := range configMapData(t, all, "decide-policy") {
		require.NoError(t, os.WriteFile(filepath.Join(dir, k), []byte(v), 0o600))
	}
	cfg, _, err := decider.ParseArgs(verbArgs(t, c, "decide", "/etc/flinkscaler", dir), getenv(containerEnv(c)), io.Discard)
	require.NoError(t, err, "decide configuration")
	return cfg
}

func parseActuate(t *testing.T, c corev1.Container) actuator.Config {
	t.Helper()
	cfg, err := actuator.ParseArgs(verbArgs(t, c, "actuate", "", ""), getenv(containerEnv(c)), io.Discard)
	require.NoError(t, err, "actuate configuration")
	return cfg
}

// getenv looks a container's environment up as the function would its own.
func getenv(env map[string]string) func(string) string {
	return func(k string) string { return env[k] }
}

// container returns the one container of Deployment name.
func container(t *testing.T, all []manifest, name string) corev1.Container {
	t.Helper()
	for _, m := range all {
		if m.obj.GetKind() == "Deployment" && m.obj.GetName() == name {
			var d appsv1.Deployment
			require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(m.obj.Object, &d))
			require.Len(t, d.Spec.Template.Spec.Containers, 1)
			return d.Spec.Template.Spec.Containers[0]
		}
	}
	t.Fatalf("no Deployment %s in deploy/", name)
	return corev1.Container{}
}

// verbArgs checks that the container runs `flinkscaler <verb>` and returns
// the flags, with paths under mount moved to dir.
func verbArgs(t *testing.T, c corev1.Container, verb, mount, dir string) []string {
	t.Helper()
	require.NotEmpty(t, c.Args)
	require.Equal(t, verb, c.Args[0])
	args := slices.Clone(c.Args[1:])
	for i, a := range args {
		if mount != "" {
			args[i] = strings.ReplaceAll(a, mount, dir)
		}
	}
	return args
}

var refRE = regexp.MustCompile(`\$\(([A-Za-z_][A-Za-z0-9_]*)\)`)

// containerEnv resolves the container's environment as the kubelet would:
// Secret keys become "secret-<key>", the pod name "pod-0", and $(VAR)
// refers to a variable defined earlier.
func containerEnv(c corev1.Container) map[string]string {
	env := map[string]string{}
	for _, e := range c.Env {
		switch {
		case e.ValueFrom != nil && e.ValueFrom.SecretKeyRef != nil:
			env[e.Name] = "secret-" + e.ValueFrom.SecretKeyRef.Key
		case e.ValueFrom != nil && e.ValueFrom.FieldRef != nil:
			env[e.Name] = "pod-0"
		default:
			env[e.Name] = refRE.ReplaceAllStringFunc(e.Value, func(ref string) string {
				if v, ok := env[refRE.FindStringSubmatch(ref)[1]]; ok {
					return v
				}
				return ref
			})
		}
	}
	return env
}

func configMapData(t *testing.T, all []manifest, name string) map[string]string {
	t.Helper()
	for _, m := range all {
		if m.obj.GetKind() == "ConfigMap" && m.obj.GetName() == name {
			data, _, err := unstructured.NestedStringMap(m.obj.Object, "data")
			require.NoError(t, err)
			return data
		}
	}
	t.Fatalf("no ConfigMap %s in deploy/", name)
	return nil
}

// rbacAllowsScale reports whether a Role in w's namespace, bound to the
// actuate ServiceAccount, grants update on w's scale subresource by name.
func rbacAllowsScale(t *testing.T, all []manifest, w taskmanagers.Workload) bool {
	t.Helper()
	return rbacAllows(t, all, w, "update")
}

// rbacAllows reports whether a Role in w's namespace, bound to the actuate
// ServiceAccount, grants verb on w's scale subresource by name.
func rbacAllows(t *testing.T, all []manifest, w taskmanagers.Workload, verb string) bool {
	t.Helper()
	return slices.ContainsFunc(actuateRules(t, all, w.Namespace), func(r rbacv1.PolicyRule) bool {
		return slices.Contains(r.APIGroups, w.Resource.Group) && slices.Contains(r.Resources, w.Resource.Resource+"/scale") &&
			slices.Contains(r.ResourceNames, w.Name) && slices.Contains(r.Verbs, verb)
	})
}

// rbacAllowsPods reports whether a Role in namespace ns, bound to the
// actuate ServiceAccount, grants verb on pods.
func rbacAllowsPods(t *testing.T, all []manifest, ns, verb string) bool {
	t.Helper()
	return slices.ContainsFunc(actuateRules(t, all, ns), func(r rbacv1.PolicyRule) bool {
		return slices.Contains(r.APIGroups, "") && slices.Contains(r.Resources, "pods") && slices.Contains(r.Verbs, verb)
	})
}

// actuateRules are the rules of the Roles in namespace ns bound to the
// actuate ServiceAccount.
func actuateRules(t *testing.T, all []manifest, ns string) []rbacv1.PolicyRule {
	t.Helper()
	bound := map[string]bool{}
	for _, m := range all {
		if m.obj.GetKind() != "RoleBinding" || m.obj.GetNamespace() != ns {
			continue
		}
		var rb rbacv1.RoleBinding
		require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(m.obj.Object, &rb))
		for _, s := range rb.Subjects {
			if s.Kind == rbacv1.ServiceAccountKind && s.Name == "actuate" && s.Namespace == "flinkscaler" {
				bound[rb.RoleRef.Name] = true
			}
		}
	}
	var rules []rbacv1.PolicyRule
	for _, m := range all {
		if m.obj.GetKind() != "Role" || m.obj.GetNamespace() != ns || !bound[m.obj.GetName()] {
			continue
		}
		var role rbacv1.Role
		require.NoError(t, runtime.DefaultUnstructuredConverter.FromUnstructured(m.obj.Object, &role))
		rules = append(rules, role.Rules...)
	}
	return rules
}
