package taskmanagers

import (
	"context"
	"fmt"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/discovery/cached/memory"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/restmapper"
	"k8s.io/client-go/scale"
	"k8s.io/client-go/tools/clientcmd"
	"k8s.io/client-go/util/retry"
)

// LoadConfig returns the in-cluster configuration when kubeconfig is empty,
// else the current context of that kubeconfig file.
func LoadConfig(kubeconfig string) (*rest.Config, error) {
	if kubeconfig == "" {
		cfg, err := rest.InClusterConfig()
		if err != nil {
			return nil, fmt.Errorf("in-cluster kubernetes config (or set --kubeconfig): %w", err)
		}
		return cfg, nil
	}
	cfg, err := clientcmd.BuildConfigFromFlags("", kubeconfig)
	if err != nil {
		return nil, fmt.Errorf("kubeconfig %s: %w", kubeconfig, err)
	}
	return cfg, nil
}

// Kubernetes scales workloads through their scale subresource, resolving
// resources with discovery (so any resource with a scale subresource works).
type Kubernetes struct {
	scales    scale.ScalesGetter
	mapper    *restmapper.DeferredDiscoveryRESTMapper
	discovery discovery.CachedDiscoveryInterface
}

// NewKubernetes returns a scaler for the API server of cfg. It contacts
// nothing until the first call.
func NewKubernetes(cfg *rest.Config) (*Kubernetes, error) {
	cfg = rest.CopyConfig(cfg)
	dc, err := discovery.NewDiscoveryClientForConfig(cfg)
	if err != nil {
		return nil, fmt.Errorf("kubernetes discovery client: %w", err)
	}
	cached := memory.NewMemCacheClient(dc)
	mapper := restmapper.NewDeferredDiscoveryRESTMapper(cached)
	sg, err := scale.NewForConfig(cfg, mapper, dynamic.LegacyAPIPathResolverFunc, scale.NewDiscoveryScaleKindResolver(cached))
	if err != nil {
		return nil, fmt.Errorf("kubernetes scale client: %w", err)
	}
	return &Kubernetes{scales: sg, mapper: mapper, discovery: cached}, nil
}

// Replicas returns spec.replicas of the workload's scale subresource.
// Errors wrap ErrWorkload, ErrRejected or ErrUnreachable.
func (k *Kubernetes) Replicas(ctx context.Context, _, workload string) (int, error) {
	w, err := k.resolve(workload)
	if err != nil {
		return 0, err
	}
	s, err := k.scales.Scales(w.Namespace).Get(ctx, w.Resource, w.Name, metav1.GetOptions{})
	if err != nil {
		return 0, classify("get scale of "+w.String(), err)
	}
	return int(s.Spec.Replicas), nil
}

// Scale sets spec.replicas of the workload's scale subresource to n,
// re-reading and retrying on conflicts. Errors wrap ErrWorkload, ErrRejected
// or ErrUnreachable.
func (k *Kubernetes) Scale(ctx context.Context, _, workload string, n int) error {
	w, err := k.resolve(workload)
	if err != nil {
		return err
	}
	err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
		s, err := k.scales.Scales(w.Namespace).Get(ctx, w.Resource, w.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if s.Spec.Replicas == int32(n) {
			return nil
		}
		s.Spec.Replicas = int32(n)
		_, err = k.scales.Scales(w.Namespace).Update(ctx, w.Resource, s, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		return classify(fmt.Sprintf("scale %s to %d", w, n), err)
	}
	return nil
}

// resolve parses workload and checks with discovery that its resource
// exists and has a scale subresource, so the scale client (whose errors are
// plain strings) only meets API errors.
func (k *Kubernetes) resolve(workload string) (Workload, error) {
	w, err := ParseWorkload(workload)
	if err != nil {
		return Workload{}, err
	}
	gvr, err := k.mapper.ResourceFor(w.Resource.WithVersion(""))
	if meta.IsNoMatchError(err) {
		k.mapper.Reset() // a CRD installed later is found on the next call
		return Workload{}, fmt.Errorf("%w %s: no such resource on the API server", ErrWorkload, w)
	}
	if err != nil {
		return Workload{}, fmt.Errorf("%w: discover %s: %w", ErrUnreachable, w.Resource, err)
	}
	list, err := k.discovery.ServerResourcesForGroupVersion(gvr.GroupVersion().String())
	if err != nil {
		return Workload{}, fmt.Errorf("%w: discover %s: %w", ErrUnreachable, gvr.GroupVersion(), err)
	}
	for _, r := range list.APIResources {
		if r.Name == gvr.Resource+"/scale" {
			return w, nil
		}
	}
	return Workload{}, fmt.Errorf("%w %s: %s has no scale subresource", ErrWorkload, w, gvr.Resource)
}

// classify maps an API error to ErrWorkload, ErrRejected or ErrUnreachable.
func classify(what string, err error) error {
	switch {
	case apierrors.IsNotFound(err):
		return fmt.Errorf("%w: %s: %w", ErrWorkload, what, err)
	case apierrors.IsForbidden(err), apierrors.IsUnauthorized(err), apierrors.IsInvalid(err),
		apierrors.IsBadRequest(err), apierrors.IsMethodNotSupported(err):
		return fmt.Errorf("%w: %s: %w", ErrRejected, what, err)
	default:
		return fmt.Errorf("%w: %s: %w", ErrUnreachable, what, err)
	}
}
