package taskmanagers

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"
)

// DeletionCostAnnotation is the pod annotation a ReplicaSet reads when it
// scales down (Kubernetes 1.22+, on by default): among pods equal in the
// checks before it (unscheduled, then pending, then not ready first), the
// pod with the lowest cost is deleted first; unset counts as 0. It is a
// hint: the ReplicaSet may still delete others.
const DeletionCostAnnotation = "controller.kubernetes.io/pod-deletion-cost"

var (
	// ErrNoDeletionCost: the workload's pods are not removed by a
	// ReplicaSet (a StatefulSet removes its highest ordinals), so a
	// deletion cost would change nothing.
	ErrNoDeletionCost = errors.New("pod deletion cost does not apply")
	// ErrPodGone: the pod no longer exists.
	ErrPodGone = errors.New("pod gone")
)

// Pod is one pod of a TaskManager workload.
type Pod struct {
	Namespace, Name string
	// IP is status.podIP ("" until the pod has one).
	IP string
	// Cost is the pod's deletion cost annotation, and HasCost whether it
	// is set to an integer.
	Cost    int
	HasCost bool
}

// Pods lists a workload's pods and sets their deletion cost. It needs get
// on the workload's scale subresource (for its label selector), list on
// pods and patch on pods in the workload's namespace.
type Pods struct {
	k      *Kubernetes
	client kubernetes.Interface
}

// NewPods returns a pod client for the API server of cfg, resolving
// workloads with k.
func NewPods(cfg *rest.Config, k *Kubernetes) (*Pods, error) {
	c, err := kubernetes.NewForConfig(rest.CopyConfig(cfg))
	if err != nil {
		return nil, fmt.Errorf("kubernetes client: %w", err)
	}
	return &Pods{k: k, client: c}, nil
}

// List returns the pods the workload's selector matches, except those
// being deleted. A StatefulSet (or any workload that is not a Deployment
// or ReplicaSet) wraps ErrNoDeletionCost; other errors wrap ErrWorkload,
// ErrRejected or ErrUnreachable.
func (p *Pods) List(ctx context.Context, workload string) ([]Pod, error) {
	w, err := p.k.resolve(workload)
	if err != nil {
		return nil, err
	}
	if !removedByReplicaSet(w) {
		return nil, fmt.Errorf("%w to %s: only a ReplicaSet (a Deployment's) reads it; a StatefulSet removes its highest ordinals",
			ErrNoDeletionCost, w)
	}
	s, err := p.k.scales.Scales(w.Namespace).Get(ctx, w.Resource, w.Name, metav1.GetOptions{})
	if err != nil {
		return nil, classify("get scale of "+w.String(), err)
	}
	if s.Status.Selector == "" {
		return nil, fmt.Errorf("%w %s: its scale subresource names no pod selector", ErrWorkload, w)
	}
	list, err := p.client.CoreV1().Pods(w.Namespace).List(ctx, metav1.ListOptions{LabelSelector: s.Status.Selector})
	if err != nil {
		return nil, classify("list pods of "+w.String(), err)
	}
	out := make([]Pod, 0, len(list.Items))
	for _, pod := range list.Items {
		if pod.DeletionTimestamp != nil || pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
			continue
		}
		q := Pod{Namespace: pod.Namespace, Name: pod.Name, IP: pod.Status.PodIP}
		if v, ok := pod.Annotations[DeletionCostAnnotation]; ok {
			if n, err := strconv.ParseInt(v, 10, 32); err == nil {
				q.Cost, q.HasCost = int(n), true
			}
		}
		out = append(out, q)
	}
	return out, nil
}

// ReadsDeletionCost reports whether the pods of workload ([KIND/]NAMESPACE/NAME)
// are removed by a ReplicaSet, which reads their deletion cost: a
// Deployment's or a ReplicaSet's. A StatefulSet removes its highest
// ordinals; a malformed reference reads nothing.
func ReadsDeletionCost(workload string) bool {
	w, err := ParseWorkload(workload)
	return err == nil && removedByReplicaSet(w)
}

func removedByReplicaSet(w Workload) bool {
	return w.Resource.Group == "apps" && (w.Resource.Resource == "deployments" || w.Resource.Resource == "replicasets")
}

// Delete deletes pod, for the workload's ReplicaSet to start a new one in
// its place (actuate's replacement of a TaskManager that never
// registered). A pod that no longer exists wraps ErrPodGone; other errors
// wrap ErrRejected or ErrUnreachable. It needs delete on pods.
func (p *Pods) Delete(ctx context.Context, pod Pod) error {
	err := p.client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("%w: pod %s/%s: %w", ErrPodGone, pod.Namespace, pod.Name, err)
	}
	if err != nil {
		return classify(fmt.Sprintf("delete pod %s/%s", pod.Namespace, pod.Name), err)
	}
	return nil
}

// SetDeletionCost sets pod's deletion cost annotation to cost (a merge
// patch of that one annotation). A pod that no longer exists wraps
// ErrPodGone; other errors wrap ErrRejected or ErrUnreachable.
func (p *Pods) SetDeletionCost(ctx context.Context, pod Pod, cost int) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{
		"annotations": map[string]string{DeletionCostAnnotation: strconv.Itoa(cost)}}})
	if err != nil {
		return fmt.Errorf("encode patch: %w", err)
	}
	_, err = p.client.CoreV1().Pods(pod.Namespace).Patch(ctx, pod.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	if apierrors.IsNotFound(err) {
		return fmt.Errorf("%w: pod %s/%s: %w", ErrPodGone, pod.Namespace, pod.Name, err)
	}
	if err != nil {
		return classify(fmt.Sprintf("annotate pod %s/%s", pod.Namespace, pod.Name), err)
	}
	return nil
}
