package bench

import (
	"context"
	"fmt"

	"github.com/flinkscaler/flinkscaler/functions/actuate/actuator"
	"github.com/flinkscaler/flinkscaler/functions/actuate/taskmanagers"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
)

// workload is the TaskManager Deployment of the bench's Kubernetes and KEDA
// modes (Options.Kubernetes, Options.KEDA): actuate's default workload, so
// its mark step marks that Deployment's pods.
const workload = "flink/flink-taskmanager"

// replicaSet plays a TaskManager Deployment's ReplicaSet over the emulator,
// one pod per TaskManager (named after it, its IP the TaskManager's
// address): a lower replica count deletes the pods not Ready first, then
// those with the lowest deletion cost, then the newest
// (flinksim.ReplicaSetVictims), and exactly their TaskManagers leave; a
// higher one starts more. It is actuate's TaskManager backend in
// Kubernetes mode and the target of the emulated HPA in KEDA mode, and,
// unless the run is unmarked, actuate's pod client: its mark step sets the
// costs the ReplicaSet reads.
type replicaSet struct {
	c     *flinksim.Cluster
	costs map[string]int // pod (TaskManager) → deletion cost; unset: 0
}

var (
	_ actuator.TaskManagers = (*replicaSet)(nil)
	_ actuator.Pods         = (*replicaSet)(nil)
	_ actuator.PodDeleter   = (*replicaSet)(nil)
)

func newReplicaSet(c *flinksim.Cluster) *replicaSet {
	return &replicaSet{c: c, costs: map[string]int{}}
}

// Replicas is the Deployment's replicas: the TaskManagers requested.
func (r *replicaSet) Replicas(context.Context, string, string) (int, error) {
	return r.c.TaskManagers(), nil
}

// Scale sets the replicas to n. Beyond the scenario's maxTaskManagers
// (the cluster's room) it is refused, as by the emulator's own endpoint.
func (r *replicaSet) Scale(_ context.Context, cluster, _ string, n int) error {
	if most := r.c.Scenario().Cluster.MaxTaskManagers; n > most {
		return fmt.Errorf("%w: %d TaskManagers exceed the emulator's maxTaskManagers %d (cluster %s)", taskmanagers.ErrRejected, n, most, cluster)
	}
	r.scale(n)
	return nil
}

// scale applies n replicas as the ReplicaSet does.
func (r *replicaSet) scale(n int) {
	tms := r.c.TaskManagerStatuses()
	if n >= len(tms) {
		r.c.SetTaskManagers(n)
		return
	}
	gone := flinksim.ReplicaSetVictims(tms, len(tms)-n, func(id string) int { return r.costs[id] })
	r.c.RemoveTaskManagers(gone...)
	for _, id := range gone {
		delete(r.costs, id)
	}
}

// List returns a pod per TaskManager.
func (r *replicaSet) List(context.Context, string) ([]taskmanagers.Pod, error) {
	tms := r.c.TaskManagerStatuses()
	pods := make([]taskmanagers.Pod, 0, len(tms))
	for _, tm := range tms {
		cost, ok := r.costs[tm.ID]
		pods = append(pods, taskmanagers.Pod{Namespace: "flink", Name: tm.ID, IP: tm.Address, Cost: cost, HasCost: ok})
	}
	return pods, nil
}

// SetDeletionCost sets a pod's cost; a pod whose TaskManager left is gone.
func (r *replicaSet) SetDeletionCost(_ context.Context, pod taskmanagers.Pod, cost int) error {
	for _, tm := range r.c.TaskManagerStatuses() {
		if tm.ID == pod.Name {
			r.costs[pod.Name] = cost
			return nil
		}
	}
	return fmt.Errorf("%w: pod %s/%s", taskmanagers.ErrPodGone, pod.Namespace, pod.Name)
}

// Delete deletes a pod: its TaskManager leaves and, the replicas unchanged,
// the ReplicaSet starts a new one in its place; a pod whose TaskManager
// left is gone.
func (r *replicaSet) Delete(_ context.Context, pod taskmanagers.Pod) error {
	n := r.c.TaskManagers()
	if r.c.RemoveTaskManagers(pod.Name) == n {
		return fmt.Errorf("%w: pod %s/%s", taskmanagers.ErrPodGone, pod.Namespace, pod.Name)
	}
	delete(r.costs, pod.Name)
	r.c.SetTaskManagers(n)
	return nil
}
