package discovery

import (
	"context"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"slices"
	"sync"
	"time"

	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/clientcmd"
)

// Registry keeps the targets last found, refreshed by Run. It is safe for
// concurrent use.
type Registry struct {
	finder   *Finder
	interval time.Duration
	log      *slog.Logger

	mu      sync.RWMutex
	targets map[string]Target // by cluster
	skipped map[string]bool   // reasons logged, so each is logged once
}

// NewRegistry returns a registry refreshed from finder every interval.
func NewRegistry(finder *Finder, interval time.Duration, log *slog.Logger) *Registry {
	return &Registry{finder: finder, interval: interval, log: log, targets: map[string]Target{}, skipped: map[string]bool{}}
}

// ForConfig builds a Registry for the API server of kubeconfig ($KUBECONFIG
// when empty, else in-cluster).
func ForConfig(cfg Config, kubeconfig string, interval time.Duration, log *slog.Logger) (*Registry, error) {
	rc, err := KubeConfig(kubeconfig)
	if err != nil {
		return nil, err
	}
	core, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	dyn, err := dynamic.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("kubernetes dynamic client: %w", err)
	}
	return NewRegistry(NewFinder(cfg, core, dyn), interval, log), nil
}

// KubeConfig is kubeconfig's current context, else $KUBECONFIG's, else the
// in-cluster configuration.
func KubeConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		kubeconfig = os.Getenv("KUBECONFIG")
	}
	if kubeconfig == "" {
		rc, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("discovery needs the Kubernetes API: in-cluster config (or set KUBECONFIG): %w", err)
		}
		return rc, nil
	}
	rc, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
	}
	return rc, nil
}

// Refresh finds the targets once and replaces the known ones, logging what
// appeared, went and was skipped. On error the known targets stay.
func (r *Registry) Refresh(ctx context.Context) error {
	found, skipped, err := r.finder.Find(ctx)
	if err != nil {
		return err
	}
	next := make(map[string]Target, len(found))
	for _, t := range found {
		next[t.Cluster] = t
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	for c, t := range next {
		if old, ok := r.targets[c]; !ok || old.URL != t.URL {
			r.log.Info("discovered a Flink cluster", "cluster", c, "url", t.URL, "from", t.From)
		}
	}
	for c, t := range r.targets {
		if _, ok := next[c]; !ok {
			r.log.Info("a discovered Flink cluster is gone", "cluster", c, "from", t.From)
		}
	}
	for _, s := range skipped {
		if !r.skipped[s] {
			r.log.Warn("not scaling a discovered object", "reason", s)
			r.skipped[s] = true
		}
	}
	r.targets = next
	return nil
}

// Run refreshes at once and then every interval until ctx ends; it blocks
// and returns nil. A failed refresh is logged and keeps the last targets.
func (r *Registry) Run(ctx context.Context) error {
	tick := time.NewTicker(r.interval)
	defer tick.Stop()
	for {
		if err := r.Refresh(ctx); err != nil && ctx.Err() == nil {
			r.log.Warn("discovery failed; keeping the clusters found before", "reason", err.Error())
		}
		select {
		case <-ctx.Done():
			return nil
		case <-tick.C:
		}
	}
}

// Targets returns the known targets, sorted by cluster.
func (r *Registry) Targets() []Target {
	r.mu.RLock()
	defer r.mu.RUnlock()
	out := make([]Target, 0, len(r.targets))
	for _, c := range slices.Sorted(maps.Keys(r.targets)) {
		out = append(out, r.targets[c])
	}
	return out
}

// URL returns the JobManager URL of a discovered cluster.
func (r *Registry) URL(cluster string) (string, bool) {
	r.mu.RLock()
	defer r.mu.RUnlock()
	t, ok := r.targets[cluster]
	return t.URL, ok
}
