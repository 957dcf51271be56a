package actuator

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/flinkscaler/flinkscaler/functions/actuate/plan"
	"github.com/flinkscaler/flinkscaler/functions/actuate/taskmanagers"
	"github.com/flinkscaler/flinkscaler/internal/flink"
)

// Flink is the part of the Flink REST client actuate uses.
type Flink interface {
	Overview(ctx context.Context) (flink.Overview, error)
	JobDetails(ctx context.Context, jobID string) (flink.JobDetails, error)
	GetResourceRequirements(ctx context.Context, jobID string) (map[string]flink.Bounds, error)
	PutResourceRequirements(ctx context.Context, jobID string, req map[string]flink.Bounds) error
	LatestCheckpoints(ctx context.Context, jobID string) (flink.LatestCheckpoints, error)
	Checkpoints(ctx context.Context, jobID string) (flink.Checkpoints, error)
	CheckpointConfig(ctx context.Context, jobID string) (flink.CheckpointConfig, error)
	TriggerCheckpoint(ctx context.Context, jobID string) (string, error)
	JobManagerConfig(ctx context.Context, jobID string) (map[string]string, error)
	JobConfig(ctx context.Context, jobID string) (flink.JobConfig, error)
	TaskManagers(ctx context.Context) ([]flink.TaskManager, error)
	VertexDetails(ctx context.Context, jobID, vertexID string) (flink.VertexDetails, error)
}

var _ Flink = (*flink.Client)(nil)

// TaskManagers sets the TaskManager replicas of a cluster's workload.
type TaskManagers interface {
	Replicas(ctx context.Context, cluster, workload string) (int, error)
	Scale(ctx context.Context, cluster, workload string, n int) error
}

var _ TaskManagers = (*taskmanagers.Kubernetes)(nil)

// Replacer is a TaskManager backend that can replace the TaskManagers of
// a workload that have not registered (Options.ReplaceUnregistered): it
// removes n of them, not-registered ones only, and starts n new ones in
// their place, leaving the count as it was. It returns what it did.
type Replacer interface {
	ReplaceUnregistered(ctx context.Context, cluster, workload string, n int) (string, error)
}

var _ Replacer = (*taskmanagers.Emulator)(nil)

// Pods lists the pods of a TaskManager workload and sets their deletion
// cost, which the ReplicaSet reads when actuate or KEDA's HPA lowers the
// replicas.
type Pods interface {
	List(ctx context.Context, workload string) ([]taskmanagers.Pod, error)
	SetDeletionCost(ctx context.Context, pod taskmanagers.Pod, cost int) error
}

var _ Pods = (*taskmanagers.Pods)(nil)

// PodDeleter is a Pods that can delete a pod, for its ReplicaSet to start
// a new one (Options.ReplaceUnregistered on a Deployment's pods).
type PodDeleter interface {
	Delete(ctx context.Context, pod taskmanagers.Pod) error
}

var _ PodDeleter = (*taskmanagers.Pods)(nil)

// Errors of an actuation step; the result's error text says which.
var (
	// ErrNotAdaptive: the job does not run the adaptive scheduler.
	ErrNotAdaptive = errors.New("job does not run the adaptive scheduler: set jobmanager.scheduler: adaptive")
	// ErrReactive: the job runs in reactive mode, which takes no requirements.
	ErrReactive = errors.New("job runs in reactive mode (scheduler-mode: reactive): use the reactive scaling mode, which scales TaskManagers only")
	// ErrRefused: Flink or Kubernetes refused the change for good.
	ErrRefused = errors.New("refused")
	// ErrTimeout: a bounded wait ended before the job got there.
	ErrTimeout = errors.New("timed out")
	// ErrMismatch: the requirements read back differ from those sent.
	ErrMismatch = errors.New("requirements read back differ")
	// ErrTransient: Flink or Kubernetes is unreachable or answered a
	// transient error; a retry may succeed.
	ErrTransient = errors.New("transient")
)

// classifyFlink maps a Flink client error to ErrNotAdaptive, ErrReactive,
// ErrRefused or ErrTransient, keeping Flink's message.
func classifyFlink(what string, err error) error {
	switch {
	case errors.Is(err, context.Canceled) || errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%w: %s: %w", ErrTransient, what, err)
	case flink.IsReactiveOrDefaultScheduler(err) && strings.Contains(err.Error(), "reactive mode"):
		return fmt.Errorf("%s: %w", what, ErrReactive)
	case flink.IsReactiveOrDefaultScheduler(err):
		return fmt.Errorf("%s: %w", what, ErrNotAdaptive)
	case errors.Is(err, flink.ErrBadRequest), errors.Is(err, flink.ErrUnauthorized), errors.Is(err, flink.ErrNotFound):
		return fmt.Errorf("%w: %s: %w", ErrRefused, what, err)
	case errors.Is(err, flink.ErrConflict):
		return fmt.Errorf("%w: %s: concurrent modification of the job's requirements: %w", ErrTransient, what, err)
	default:
		return fmt.Errorf("%w: %s: %w", ErrTransient, what, err)
	}
}

// classifyTMs maps a TaskManager backend error the same way.
func classifyTMs(what string, err error) error {
	if errors.Is(err, taskmanagers.ErrWorkload) || errors.Is(err, taskmanagers.ErrRejected) {
		return fmt.Errorf("%w: %s: %w", ErrRefused, what, err)
	}
	return fmt.Errorf("%w: %s: %w", ErrTransient, what, err)
}

func toFlink(req map[string]plan.Bounds) map[string]flink.Bounds {
	out := make(map[string]flink.Bounds, len(req))
	for id, b := range req {
		out[id] = flink.Bounds{Lower: b.Lower, Upper: b.Upper}
	}
	return out
}

func fromFlink(req map[string]flink.Bounds) map[string]plan.Bounds {
	out := make(map[string]plan.Bounds, len(req))
	for id, b := range req {
		out[id] = plan.Bounds{Lower: b.Lower, Upper: b.Upper}
	}
	return out
}

// describe renders requirements in vertex order, for step details.
func describe(req map[string]plan.Bounds) string {
	var b strings.Builder
	for i, id := range slices.Sorted(maps.Keys(req)) {
		if i > 0 {
			b.WriteString(", ")
		}
		fmt.Fprintf(&b, "%s [%d,%d]", short(id), req[id].Lower, req[id].Upper)
	}
	return b.String()
}

func short(id string) string { return id[:min(len(id), 8)] }
