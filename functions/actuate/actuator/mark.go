package actuator

import (
	"context"
	"errors"
	"fmt"
	"math"
	"net"
	"net/url"
	"slices"
	"strings"

	"github.com/flinkscaler/flinkscaler/functions/actuate/taskmanagers"
	"github.com/flinkscaler/flinkscaler/internal/flink"
)

// mark sets the deletion cost of each TaskManager pod of the job's workload
// to the number of the job's subtasks its TaskManager runs, so the
// ReplicaSet that applies the lower count (actuate's scale in Kubernetes
// mode, KEDA's HPA in KEDA mode) deletes the pods of idle
// TaskManagers first (cost 0; pods whose TaskManager has not registered
// too), then those running the fewest subtasks. Removing an idle
// TaskManager fails nothing over.
//
// It never fails the plan: the scale-down goes on whatever the mark could
// do, and the detail says what was marked or why nothing was (the pods or
// Flink could not be read, no pod matched a registered TaskManager, a
// patch was refused). Pods are patched only when their cost changes
// (Kubernetes advises against frequent updates of the annotation); a pod
// deleted meanwhile is skipped.
func (x *execution) mark(ctx context.Context) string {
	pods, err := x.a.deps.Pods.List(ctx, x.workload)
	if err != nil {
		return x.unmarked(fmt.Sprintf("the pods of %s could not be listed (%v)", x.workload, err))
	}
	tms, err := x.fl.TaskManagers(ctx)
	if err != nil {
		return x.unmarked(fmt.Sprintf("Flink's TaskManagers could not be read (%v)", err))
	}
	load, err := x.subtasksPerTaskManager(ctx, tms)
	if err != nil {
		return x.unmarked(fmt.Sprintf("where the job's subtasks run could not be read (%v)", err))
	}
	costs, matched := podCosts(pods, tms, load)
	if matched == 0 && len(tms) > 0 {
		return x.unmarked(fmt.Sprintf("none of the %d pods matched one of the %d registered TaskManagers "+
			"(by pod name = TaskManager id, or pod IP = the TaskManager's address)", len(pods), len(tms)))
	}
	patched, gone := 0, 0
	for i, pod := range pods {
		if (pod.HasCost && pod.Cost == costs[i]) || (!pod.HasCost && costs[i] == 0) {
			continue // unchanged; unset counts as 0
		}
		err := x.a.deps.Pods.SetDeletionCost(ctx, pod, costs[i])
		switch {
		case errors.Is(err, taskmanagers.ErrPodGone):
			gone++
		case err != nil:
			return x.unmarked(fmt.Sprintf("%d of %d pods marked, then %v", patched, len(pods), err))
		default:
			patched++
		}
	}
	idle := 0
	for _, c := range costs {
		if c == 0 {
			idle++
		}
	}
	detail := fmt.Sprintf("%s on %d pods (%d changed): %d run none of the job's subtasks (cost 0, removed first), %d run some (cost = their subtasks)",
		taskmanagers.DeletionCostAnnotation, len(pods), patched, idle, len(pods)-idle)
	if gone > 0 {
		detail += fmt.Sprintf("; %d pods were gone", gone)
	}
	if keep := x.p.TaskManagers.Target; len(pods)-idle > keep {
		detail += fmt.Sprintf("; %d pods run subtasks and %d stay, so the removal fails the job over", len(pods)-idle, keep)
	}
	return detail
}

// unmarked is the mark step's detail when it marked nothing (or not all).
func (x *execution) unmarked(why string) string {
	x.a.log.Warn("TaskManager pods not marked for the scale-down; the ReplicaSet picks which pods go",
		"cluster", x.d.Cluster, "job_id", x.d.JobID, "workload", x.workload, "reason", why)
	return "not marked: " + why + "; the ReplicaSet picks the pods by its own order (newest first)"
}

// subtasksPerTaskManager counts the job's subtasks per TaskManager id, from
// each vertex's subtask locations (taskmanager-id, else host or endpoint
// matched to a TaskManager's address). Finished, canceled, failed and
// unassigned subtasks occupy no TaskManager.
func (x *execution) subtasksPerTaskManager(ctx context.Context, tms []flink.TaskManager) (map[string]int, error) {
	job, err := x.fl.JobDetails(ctx, x.d.JobID)
	if err != nil {
		return nil, err
	}
	byHost := map[string]string{}
	for _, tm := range tms {
		byHost[tmHost(tm)] = tm.ID
	}
	load := map[string]int{}
	for _, v := range job.Vertices {
		vd, err := x.fl.VertexDetails(ctx, x.d.JobID, v.ID)
		if err != nil {
			return nil, err
		}
		for _, s := range vd.Subtasks {
			switch s.Status {
			case "FINISHED", "CANCELED", "FAILED":
				continue
			}
			id := s.TaskManagerID
			if id == "" || id == "(unassigned)" {
				id = byHost[hostOf(s.Location())]
			}
			if id != "" && id != "(unassigned)" {
				load[id]++
			}
		}
	}
	return load, nil
}

// podCosts returns each pod's deletion cost: the subtasks its TaskManager
// runs (at most math.MaxInt32), 0 for a pod no registered TaskManager
// matches, and how many pods matched one.
func podCosts(pods []taskmanagers.Pod, tms []flink.TaskManager, load map[string]int) ([]int, int) {
	costs := make([]int, len(pods))
	matched := 0
	for i, pod := range pods {
		j := slices.IndexFunc(tms, func(tm flink.TaskManager) bool { return runsIn(tm, pod) })
		if j < 0 {
			continue
		}
		matched++
		costs[i] = min(load[tms[j].ID], math.MaxInt32)
	}
	return costs, matched
}

// runsIn reports whether TaskManager tm runs in pod: its resource id is the
// pod's name (native Kubernetes, or taskmanager.resource-id set to it), or
// its address is the pod's IP or name (standalone: the id is
// "<address>:<port>-<suffix>", the path "pekko.tcp://flink@<address>:<port>/…").
func runsIn(tm flink.TaskManager, pod taskmanagers.Pod) bool {
	if tm.ID == pod.Name {
		return true
	}
	host := tmHost(tm)
	if host == "" {
		return false
	}
	if pod.IP != "" && (host == pod.IP || strings.HasPrefix(tm.ID, pod.IP+":")) {
		return true
	}
	// A hostname address: the pod name, possibly with its subdomain.
	return host == pod.Name || strings.HasPrefix(host, pod.Name+".")
}

// tmHost is the host of a TaskManager's RPC address, from its path.
func tmHost(tm flink.TaskManager) string {
	u, err := url.Parse(tm.Path)
	if err != nil || u.Host == "" {
		return ""
	}
	return u.Hostname()
}

// hostOf strips the port from a subtask's host or endpoint.
func hostOf(loc string) string {
	if h, _, err := net.SplitHostPort(loc); err == nil {
		return h
	}
	return loc
}
