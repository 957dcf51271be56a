package flinksim

import (
	"context"
	"fmt"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
)

// deletionCost is the pod annotation a ReplicaSet reads when it scales
// down (Kubernetes 1.22+).
const deletionCost = "controller.kubernetes.io/pod-deletion-cost"

// podTaskManager is the annotation on each emulated pod naming the
// TaskManager it runs (the emulator's own bookkeeping; Flink sees only
// the pod's IP as the TaskManager's address).
const podTaskManager = "flinksim.flinkscaler.io/taskmanager"

// ReplicaSetPods plays a Deployment's ReplicaSet and kubelets for the
// emulated TaskManagers: one Running pod per TaskManager (named after
// the Deployment, labelled with its selector, its IP the TaskManager's
// address, Ready once the TaskManager registered). When the Deployment's
// spec.replicas falls below the TaskManagers, it deletes pods in the
// ReplicaSet's order and removes exactly their TaskManagers from the
// cluster (a removed TaskManager running subtasks fails the job over);
// when it rises, the cluster starts more. The ReplicaSet's order: pods
// not Ready first, then the lowest controller.kubernetes.io/pod-deletion-cost
// (unset or not an integer counts as 0), then the newest. Node spread and
// readiness time, which a ReplicaSet also weighs, do not apply (one node,
// no kubelet).
type ReplicaSetPods struct {
	client   kubernetes.Interface
	workload Workload
	cluster  *Cluster
	interval time.Duration
	// OnError, if set, receives each failed round; the loop keeps going.
	OnError func(error)
	// OnDelete, if set, is called with the TaskManagers whose pods a
	// scale-down deleted, in deletion order.
	OnDelete func(ids []string)
}

// NewReplicaSetPods builds the loop for Deployment w from a kubeconfig file
// that may create, update and delete pods in w's namespace; interval <= 0
// means 1 s.
func NewReplicaSetPods(kubeconfig string, w Workload, c *Cluster, interval time.Duration) (*ReplicaSetPods, error) {
	if w.Kind != "deployments" {
		return nil, fmt.Errorf("%w %s: pods are played for a Deployment only", ErrInvalidWorkload, w)
	}
	client, err := clientFor(kubeconfig)
	if err != nil {
		return nil, err
	}
	if interval <= 0 {
		interval = time.Second
	}
	return &ReplicaSetPods{client: client, workload: w, cluster: c, interval: interval}, nil
}

// Run keeps the pods and TaskManagers in step with the Deployment until ctx
// ends, and returns nil then.
func (r *ReplicaSetPods) Run(ctx context.Context) error {
	t := time.NewTicker(r.interval)
	defer t.Stop()
	for {
		if err := r.Sync(ctx); err != nil && ctx.Err() == nil && r.OnError != nil {
			r.OnError(err)
		}
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
	}
}

// Sync runs one round: scale the TaskManagers to the Deployment's
// replicas (choosing the pods to delete as a ReplicaSet does), then make
// the pods match the TaskManagers.
func (r *ReplicaSetPods) Sync(ctx context.Context) error {
	w := r.workload
	d, err := r.client.AppsV1().Deployments(w.Namespace).Get(ctx, w.Name, metav1.GetOptions{})
	if err != nil {
		return fmt.Errorf("get %s: %w", w, err)
	}
	replicas := 1
	if d.Spec.Replicas != nil {
		replicas = int(*d.Spec.Replicas)
	}
	pods, err := r.pods(ctx, d.Spec.Selector)
	if err != nil {
		return err
	}
	tms := r.cluster.TaskManagerStatuses()
	switch {
	case replicas < len(tms):
		victims := r.victims(pods, tms, len(tms)-replicas)
		for _, id := range victims {
			if p, ok := pods[id]; ok {
				if err := r.client.CoreV1().Pods(w.Namespace).Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
					return fmt.Errorf("delete pod %s: %w", p.Name, err)
				}
				delete(pods, id)
			}
		}
		r.cluster.RemoveTaskManagers(victims...)
		if r.OnDelete != nil {
			r.OnDelete(victims)
		}
	case replicas > len(tms):
		r.cluster.SetTaskManagers(replicas)
	}
	return r.syncPods(ctx, d.Spec.Template.Labels, pods)
}

// pods returns the Deployment's emulated pods by TaskManager id.
func (r *ReplicaSetPods) pods(ctx context.Context, sel *metav1.LabelSelector) (map[string]*corev1.Pod, error) {
	selector, err := metav1.LabelSelectorAsSelector(sel)
	if err != nil {
		return nil, fmt.Errorf("selector of %s: %w", r.workload, err)
	}
	list, err := r.client.CoreV1().Pods(r.workload.Namespace).List(ctx, metav1.ListOptions{LabelSelector: selector.String()})
	if err != nil {
		return nil, fmt.Errorf("list pods of %s: %w", r.workload, err)
	}
	out := map[string]*corev1.Pod{}
	for i := range list.Items {
		if id := list.Items[i].Annotations[podTaskManager]; id != "" {
			out[id] = &list.Items[i]
		}
	}
	return out, nil
}

// victims picks n TaskManagers to remove in the ReplicaSet's order.
func (r *ReplicaSetPods) victims(pods map[string]*corev1.Pod, tms []TaskManagerStatus, n int) []string {
	return ReplicaSetVictims(tms, n, func(id string) int {
		p, ok := pods[id]
		if !ok {
			return 0
		}
		c, err := strconv.ParseInt(p.Annotations[deletionCost], 10, 32)
		if err != nil {
			return 0
		}
		return int(c)
	})
}

// ReplicaSetVictims returns the ids of the n TaskManagers (at most all) a
// ReplicaSet removes first when its replicas drop, each TaskManager in a
// pod of its own whose deletion cost is cost(id): pods not Ready (the
// TaskManager not registered) first, then the lowest cost, then the
// newest. The ReplicaSet's other rules (node spread, time Ready,
// restarts) do not apply here: one node, no kubelet.
func ReplicaSetVictims(tms []TaskManagerStatus, n int, cost func(id string) int) []string {
	ranked := append([]TaskManagerStatus(nil), tms...)
	sort.SliceStable(ranked, func(a, b int) bool {
		ta, tb := ranked[a], ranked[b]
		if ta.Registered != tb.Registered {
			return !ta.Registered // not Ready first
		}
		if ca, cb := cost(ta.ID), cost(tb.ID); ca != cb {
			return ca < cb
		}
		return ta.Seq > tb.Seq // newest first
	})
	n = min(max(n, 0), len(ranked))
	out := make([]string, 0, n)
	for _, tm := range ranked[:n] {
		out = append(out, tm.ID)
	}
	return out
}

// syncPods creates a pod for each TaskManager without one, marks pods
// Ready when their TaskManager registered, and deletes pods whose
// TaskManager is gone (lost).
func (r *ReplicaSetPods) syncPods(ctx context.Context, labels map[string]string, pods map[string]*corev1.Pod) error {
	w := r.workload
	pc := r.client.CoreV1().Pods(w.Namespace)
	live := map[string]bool{}
	for _, tm := range r.cluster.TaskManagerStatuses() {
		live[tm.ID] = true
		p, ok := pods[tm.ID]
		if !ok {
			p = &corev1.Pod{
				ObjectMeta: metav1.ObjectMeta{
					Name: w.Name + "-" + strings.ReplaceAll(tm.Address, ".", "-") + "-" + strconv.Itoa(tm.Seq), Namespace: w.Namespace,
					Labels: labels, Annotations: map[string]string{podTaskManager: tm.ID},
				},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "taskmanager", Image: "flink", Args: []string{"taskmanager"}}}},
			}
			created, err := pc.Create(ctx, p, metav1.CreateOptions{})
			if err != nil {
				return fmt.Errorf("create pod for TaskManager %s: %w", tm.ID, err)
			}
			p = created
		}
		if p.Status.PodIP == tm.Address && podReady(p) == tm.Registered {
			continue
		}
		p.Status.Phase, p.Status.PodIP = corev1.PodRunning, tm.Address
		p.Status.PodIPs = []corev1.PodIP{{IP: tm.Address}}
		ready := corev1.ConditionFalse
		if tm.Registered {
			ready = corev1.ConditionTrue
		}
		p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodReady, Status: ready}}
		if _, err := pc.UpdateStatus(ctx, p, metav1.UpdateOptions{}); err != nil && !apierrors.IsConflict(err) {
			return fmt.Errorf("update status of pod %s: %w", p.Name, err)
		}
	}
	for id, p := range pods {
		if !live[id] {
			if err := pc.Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil && !apierrors.IsNotFound(err) {
				return fmt.Errorf("delete pod %s: %w", p.Name, err)
			}
		}
	}
	return nil
}

func podReady(p *corev1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == corev1.PodReady {
			return c.Status == corev1.ConditionTrue
		}
	}
	return false
}
