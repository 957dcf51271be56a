// Package discovery finds the Flink clusters to scale in Kubernetes, so a
// new job is picked up without editing metrics-ingest's targets, actuate's
// --flink list or anything else:
//
//   - JobManager REST Services labelled flinkscaler.io/cluster=<name> (any
//     standalone or native deployment: label the Service once);
//   - FlinkDeployments of the Flink Kubernetes operator, reached through the
//     operator's <name>-rest Service; one whose own autoscaler is on
//     (job.autoscaler.enabled: "true") is left to it, and one labelled
//     flinkscaler.io/scale=false is left alone.
//
// It needs list on services (and flinkdeployments) in the namespaces it
// looks in, nothing else.
package discovery

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"slices"
	"strconv"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// Labels and defaults.
const (
	// ClusterLabel on a Service marks it as a JobManager REST endpoint and
	// names its cluster; on a FlinkDeployment it names the cluster instead
	// of <namespace>-<name>.
	ClusterLabel = "flinkscaler.io/cluster"
	// ScaleLabel "false" on a FlinkDeployment keeps flinkscaler away.
	ScaleLabel = "flinkscaler.io/scale"
	// URLAnnotation on a Service or FlinkDeployment gives the JobManager's
	// REST URL when the Service's DNS name is not how to reach it (https,
	// another port, a proxy).
	URLAnnotation = "flinkscaler.io/url"
	// restPort is Flink's default rest.port.
	restPort = 8081
)

// FlinkDeployments is the Flink Kubernetes operator's resource.
var FlinkDeployments = schema.GroupVersionResource{Group: "flink.apache.org", Version: "v1beta1", Resource: "flinkdeployments"}

// Target is a Flink cluster found: its name in events and its JobManager's
// REST URL.
type Target struct {
	Cluster string
	URL     string
	// From says where it was found, for logs: service/<ns>/<name> or
	// flinkdeployment/<ns>/<name>.
	From string
}

// Config says where to look.
type Config struct {
	// Namespaces to look in; empty: every namespace (cluster-wide list).
	Namespaces []string
	// Services finds Services labelled ClusterLabel.
	Services bool
	// FlinkDeployments finds the operator's FlinkDeployments.
	FlinkDeployments bool
}

// Enabled reports whether anything is to be discovered.
func (c Config) Enabled() bool { return c.Services || c.FlinkDeployments }

// Finder lists the targets of a Config.
type Finder struct {
	cfg  Config
	core kubernetes.Interface
	dyn  dynamic.Interface
}

// NewFinder returns a Finder using core for Services and dyn for
// FlinkDeployments.
func NewFinder(cfg Config, core kubernetes.Interface, dyn dynamic.Interface) *Finder {
	return &Finder{cfg: cfg, core: core, dyn: dyn}
}

// Find lists every target, sorted by cluster; skipped objects are reported
// in skipped with the reason. Two objects claiming one cluster name keep the
// first (by source) and report the other. A missing FlinkDeployment CRD is
// not an error (no operator installed).
func (f *Finder) Find(ctx context.Context) (targets []Target, skipped []string, err error) {
	namespaces := f.cfg.Namespaces
	if len(namespaces) == 0 {
		namespaces = []string{metav1.NamespaceAll}
	}
	for _, ns := range namespaces {
		if f.cfg.Services {
			t, s, err := f.services(ctx, ns)
			if err != nil {
				return nil, nil, err
			}
			targets, skipped = append(targets, t...), append(skipped, s...)
		}
		if f.cfg.FlinkDeployments {
			t, s, err := f.flinkDeployments(ctx, ns)
			if err != nil {
				return nil, nil, err
			}
			targets, skipped = append(targets, t...), append(skipped, s...)
		}
	}
	slices.SortFunc(targets, func(a, b Target) int { return strings.Compare(a.Cluster+" "+a.From, b.Cluster+" "+b.From) })
	out := targets[:0]
	for _, t := range targets {
		if len(out) > 0 && out[len(out)-1].Cluster == t.Cluster {
			skipped = append(skipped, fmt.Sprintf("%s: cluster name %q already taken by %s", t.From, t.Cluster, out[len(out)-1].From))
			continue
		}
		out = append(out, t)
	}
	return out, skipped, nil
}

func (f *Finder) services(ctx context.Context, ns string) ([]Target, []string, error) {
	list, err := f.core.CoreV1().Services(ns).List(ctx, metav1.ListOptions{LabelSelector: ClusterLabel})
	if err != nil {
		return nil, nil, fmt.Errorf("list services labelled %s: %w", ClusterLabel, err)
	}
	var targets []Target
	var skipped []string
	for _, svc := range list.Items {
		from := "service/" + svc.Namespace + "/" + svc.Name
		name := svc.Labels[ClusterLabel]
		if err := events.ValidateCluster(name); err != nil {
			skipped = append(skipped, fmt.Sprintf("%s: label %s: %v", from, ClusterLabel, err))
			continue
		}
		port, ok := restPortOf(svc)
		if !ok {
			skipped = append(skipped, from+": no port (name one \"rest\")")
			continue
		}
		u, reason := urlOf(svc.Annotations, fmt.Sprintf("http://%s.%s.svc:%d", svc.Name, svc.Namespace, port))
		if reason != "" {
			skipped = append(skipped, from+": "+reason)
			continue
		}
		targets = append(targets, Target{Cluster: name, URL: u, From: from})
	}
	return targets, skipped, nil
}

// restPortOf is the port named "rest", else 8081, else the only port.
func restPortOf(svc corev1.Service) (int32, bool) {
	for _, p := range svc.Spec.Ports {
		if p.Name == "rest" {
			return p.Port, true
		}
	}
	for _, p := range svc.Spec.Ports {
		if p.Port == restPort {
			return p.Port, true
		}
	}
	if len(svc.Spec.Ports) == 1 {
		return svc.Spec.Ports[0].Port, true
	}
	return 0, false
}

func (f *Finder) flinkDeployments(ctx context.Context, ns string) ([]Target, []string, error) {
	list, err := f.dyn.Resource(FlinkDeployments).Namespace(ns).List(ctx, metav1.ListOptions{})
	if meta.IsNoMatchError(err) || isNotFound(err) {
		return nil, nil, nil // no operator CRD here
	}
	if err != nil {
		return nil, nil, fmt.Errorf("list flinkdeployments: %w", err)
	}
	var targets []Target
	var skipped []string
	for _, fd := range list.Items {
		t, reason := fromFlinkDeployment(fd)
		if reason != "" {
			skipped = append(skipped, t.From+": "+reason)
			continue
		}
		targets = append(targets, t)
	}
	return targets, skipped, nil
}

// fromFlinkDeployment is the target of one FlinkDeployment, or why not.
func fromFlinkDeployment(fd unstructured.Unstructured) (Target, string) {
	t := Target{From: "flinkdeployment/" + fd.GetNamespace() + "/" + fd.GetName()}
	if fd.GetLabels()[ScaleLabel] == "false" {
		return t, ScaleLabel + "=false"
	}
	conf, _, _ := unstructured.NestedStringMap(fd.Object, "spec", "flinkConfiguration")
	if conf["job.autoscaler.enabled"] == "true" {
		return t, "the operator's own autoscaler is on (job.autoscaler.enabled); two autoscalers would fight"
	}
	t.Cluster = fd.GetLabels()[ClusterLabel]
	if t.Cluster == "" {
		t.Cluster = events.NameToken(fd.GetNamespace() + "-" + fd.GetName())
	}
	if err := events.ValidateCluster(t.Cluster); err != nil {
		return t, err.Error()
	}
	port := restPort
	if p, err := strconv.Atoi(conf["rest.port"]); err == nil && p > 0 {
		port = p
	}
	u, reason := urlOf(fd.GetAnnotations(), fmt.Sprintf("http://%s-rest.%s.svc:%d", fd.GetName(), fd.GetNamespace(), port))
	t.URL = u
	return t, reason
}

// urlOf is the URLAnnotation when set and valid, else def.
func urlOf(annotations map[string]string, def string) (string, string) {
	v, ok := annotations[URLAnnotation]
	if !ok {
		return def, ""
	}
	if u, err := url.Parse(v); err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" {
		return "", fmt.Sprintf("annotation %s %q is not http(s)://host[:port]", URLAnnotation, v)
	}
	return v, ""
}

func isNotFound(err error) bool {
	var status interface{ Status() metav1.Status }
	return errors.As(err, &status) && status.Status().Code == 404
}
