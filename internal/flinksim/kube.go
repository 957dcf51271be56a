package flinksim

import (
	"context"
	"fmt"
	"strings"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/clientcmd"
)

// Workload is the Kubernetes workload whose spec.replicas drives the
// emulated TaskManager count.
type Workload struct {
	Kind      string // deployments | statefulsets | replicasets
	Namespace string
	Name      string
}

func (w Workload) String() string { return w.Kind + "/" + w.Namespace + "/" + w.Name }

// workloadKinds maps accepted spellings to the resource name.
var workloadKinds = map[string]string{
	"deployments": "deployments", "deployment": "deployments", "deploy": "deployments",
	"statefulsets": "statefulsets", "statefulset": "statefulsets", "sts": "statefulsets",
	"replicasets": "replicasets", "replicaset": "replicasets", "rs": "replicasets",
}

// ParseWorkload parses [KIND/]NAMESPACE/NAME; KIND defaults to deployments.
// Errors wrap ErrInvalidWorkload.
func ParseWorkload(s string) (Workload, error) {
	parts := strings.Split(s, "/")
	kind := "deployments"
	switch len(parts) {
	case 2:
	case 3:
		k, ok := workloadKinds[strings.ToLower(parts[0])]
		if !ok {
			return Workload{}, fmt.Errorf("%w %q: kind %q is not deployments, statefulsets or replicasets", ErrInvalidWorkload, s, parts[0])
		}
		kind, parts = k, parts[1:]
	default:
		return Workload{}, fmt.Errorf("%w %q: want [KIND/]NAMESPACE/NAME", ErrInvalidWorkload, s)
	}
	for _, p := range parts {
		if p == "" {
			return Workload{}, fmt.Errorf("%w %q: empty namespace or name", ErrInvalidWorkload, s)
		}
	}
	return Workload{Kind: kind, Namespace: parts[0], Name: parts[1]}, nil
}

// WorkloadWatcher keeps a Cluster's TaskManager count equal to a workload's
// spec.replicas, read through the scale subresource.
type WorkloadWatcher struct {
	client   kubernetes.Interface
	workload Workload
	cluster  *Cluster
	interval time.Duration
	// OnError, if set, receives each failed read; the watcher keeps polling.
	OnError func(error)
	// OnChange, if set, is called with each new replica count applied.
	OnChange func(replicas, applied int)
}

// NewWorkloadWatcher builds a watcher from a kubeconfig file; interval is
// the polling period (at most 1 s is sensible; <= 0 means 1 s).
func NewWorkloadWatcher(kubeconfig string, w Workload, c *Cluster, interval time.Duration) (*WorkloadWatcher, error) {
	client, err := clientFor(kubeconfig)
	if err != nil {
		return nil, err
	}
	if interval <= 0 {
		interval = time.Second
	}
	return &WorkloadWatcher{client: client, workload: w, cluster: c, interval: interval}, nil
}

// clientFor is a Kubernetes client from a kubeconfig file.
func clientFor(kubeconfig string) (kubernetes.Interface, error) {
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
	}
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return client, nil
}

// Run polls until ctx is done and returns nil then.
func (ww *WorkloadWatcher) Run(ctx context.Context) error {
	t := time.NewTicker(ww.interval)
	defer t.Stop()
	last := -1
	for {
		n, err := ww.replicas(ctx)
		switch {
		case err != nil && ctx.Err() == nil && ww.OnError != nil:
			ww.OnError(err)
		case err == nil && n != last:
			last = n
			applied := ww.cluster.SetTaskManagers(n)
			if ww.OnChange != nil {
				ww.OnChange(n, applied)
			}
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

func (ww *WorkloadWatcher) replicas(ctx context.Context) (int, error) {
	w := ww.workload
	var s *autoscalingv1.Scale
	var err error
	switch w.Kind {
	case "statefulsets":
		s, err = ww.client.AppsV1().StatefulSets(w.Namespace).GetScale(ctx, w.Name, metav1.GetOptions{})
	case "replicasets":
		s, err = ww.client.AppsV1().ReplicaSets(w.Namespace).GetScale(ctx, w.Name, metav1.GetOptions{})
	default:
		s, err = ww.client.AppsV1().Deployments(w.Namespace).GetScale(ctx, w.Name, metav1.GetOptions{})
	}
	if err != nil {
		return 0, fmt.Errorf("get scale of %s: %w", w, err)
	}
	return int(s.Spec.Replicas), nil
}
