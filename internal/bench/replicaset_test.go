package bench

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/functions/actuate/taskmanagers"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
)

// TestReplicaSetPicksThePods: in the bench's Kubernetes and KEDA modes a
// lower replica count removes the TaskManagers a ReplicaSet would: the
// cheapest pods by the deletion cost actuate's mark step set, then the
// newest; unmarked, the newest. A removed TaskManager's pod is gone, and a
// count above the cluster's room is refused.
func TestReplicaSetPicksThePods(t *testing.T) {
	sc, err := flinksim.ParseScenario([]byte(`
name: rs
duration: 1h
cluster: {scaling: adaptive, slotsPerTaskManager: 1, initialTaskManagers: 4, maxTaskManagers: 6, taskManagerStartup: 1s, restart: 1s}
job:
  name: j
  vertices:
    - {name: "Source: s", parallelism: 4, maxParallelism: 8, capacity: 50000}
load: {pattern: constant, rate: 1000}
`), ".")
	require.NoError(t, err)
	ctx := context.Background()
	ids := func(c *flinksim.Cluster) []string {
		var out []string
		for _, tm := range c.TaskManagerStatuses() {
			out = append(out, tm.ID)
		}
		return out
	}

	c := flinksim.New(sc, flinksim.Options{})
	c.Advance(10 * time.Second)
	rs := newReplicaSet(c)
	all := ids(c)
	require.Len(t, all, 4)
	pods, err := rs.List(ctx, workload)
	require.NoError(t, err)
	require.Len(t, pods, 4)
	for i, cost := range []int{0, 3, 3, 5} { // the oldest idle, the newest busiest
		require.NoError(t, rs.SetDeletionCost(ctx, pods[i], cost))
	}
	require.NoError(t, rs.Scale(ctx, cluster, workload, 2))
	require.Equal(t, []string{all[1], all[3]}, ids(c), "the cheapest go first, then the newest of equal cost")
	require.ErrorIs(t, rs.SetDeletionCost(ctx, pods[0], 1), taskmanagers.ErrPodGone)
	n, err := rs.Replicas(ctx, cluster, workload)
	require.NoError(t, err)
	require.Equal(t, 2, n)
	require.ErrorIs(t, rs.Scale(ctx, cluster, workload, 7), taskmanagers.ErrRejected)

	// A deleted pod's TaskManager leaves and the ReplicaSet starts a new
	// one in its place (actuate's replacement of one that never
	// registered); a pod already gone says so.
	require.NoError(t, rs.Delete(ctx, pods[3]))
	left := ids(c)
	require.Len(t, left, 2, "the count stays")
	require.Equal(t, all[1], left[0])
	require.NotContains(t, left, all[3])
	require.ErrorIs(t, rs.Delete(ctx, pods[3]), taskmanagers.ErrPodGone)

	unmarked := flinksim.New(sc, flinksim.Options{})
	unmarked.Advance(10 * time.Second)
	all = ids(unmarked)
	newReplicaSet(unmarked).scale(3)
	require.Equal(t, all[:3], ids(unmarked), "unmarked: the newest goes")
}
