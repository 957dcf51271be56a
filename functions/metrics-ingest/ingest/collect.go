package ingest

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/flink"
)

// jobReader is the part of *flink.Client a poll needs.
type jobReader interface {
	Overview(ctx context.Context) (flink.Overview, error)
	TaskManagers(ctx context.Context) ([]flink.TaskManager, error)
	JobsOverview(ctx context.Context) ([]flink.JobOverview, error)
	JobDetails(ctx context.Context, jobID string) (flink.JobDetails, error)
	SubtaskMetrics(ctx context.Context, jobID, vertexID string, keep func(string) bool, aggs ...flink.Agg) ([]string, map[string]flink.AggregatedMetric, error)
	LatestCheckpoints(ctx context.Context, jobID string) (flink.LatestCheckpoints, error)
	CheckpointConfig(ctx context.Context, jobID string) (flink.CheckpointConfig, error)
}

var _ jobReader = (*flink.Client)(nil)

// retrier runs a Flink call up to attempts times while it fails with a
// retryable error (flink.Retryable), waiting backoff, 2·backoff, … between
// tries, never past ctx. Every failed try is reported to onError with the
// error's kind, so metrics count each one.
type retrier struct {
	attempts int
	backoff  time.Duration
	onError  func(kind string)
}

func (r retrier) do(ctx context.Context, call func(context.Context) error) error {
	wait := r.backoff
	var err error
	for i := range max(r.attempts, 1) {
		if err = call(ctx); err == nil {
			return nil
		}
		r.onError(flink.ErrorKind(err))
		if !flink.Retryable(err) || i == r.attempts-1 {
			return err
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("%w (gave up retrying: %w)", err, ctx.Err())
		case <-t.C:
		}
		wait *= 2
	}
	return err
}

// collectJob reads one job: its details and, while it runs, every vertex's
// metrics. A vertex whose metrics fail after retries is kept with Err set
// (the snapshot marks it incomplete); a failure of the job details is
// returned, and wraps flink.ErrNotFound when the job is gone.
func collectJob(ctx context.Context, c jobReader, r retrier, cluster, jobID string, ov *flink.Overview, now func() time.Time) (jobData, error) {
	in := jobData{Cluster: cluster, Overview: ov, Vertices: map[string]vertexData{}}
	err := r.do(ctx, func(ctx context.Context) error {
		var err error
		in.Details, err = c.JobDetails(ctx, jobID)
		return err
	})
	if err != nil {
		return jobData{}, fmt.Errorf("job details: %w", err)
	}
	// Observed on the JobManager's clock when it reports one (the job
	// details' "now"): decide works in event time, and the job's own clock
	// keeps its windows right even for an emulator running faster than
	// real time.
	in.ObservedAt = now()
	if ms := in.Details.Now; ms > 0 {
		in.ObservedAt = time.UnixMilli(ms)
	}
	if in.Details.State != flink.StateRunning {
		return in, nil
	}
	for _, v := range in.Details.Vertices {
		var vd vertexData
		vd.Err = r.do(ctx, func(ctx context.Context) error {
			var err error
			vd.Names, vd.Values, err = c.SubtaskMetrics(ctx, jobID, v.ID, wantMetric, metricAggs...)
			return err
		})
		if errors.Is(vd.Err, flink.ErrNotFound) {
			return jobData{}, fmt.Errorf("vertex %s metrics: %w", v.ID, vd.Err)
		}
		in.Vertices[v.ID] = vd
	}
	in.Checkpoint, in.CheckpointInterval = collectCheckpoints(ctx, c, jobID)
	return in, nil
}

// collectCheckpoints reads the latest completed checkpoint and the interval,
// once each and without retries: they are optional (a job may not
// checkpoint, and Flink answers 404 for its configuration then), so a
// failure leaves them unknown and never makes the snapshot incomplete.
func collectCheckpoints(ctx context.Context, c jobReader, jobID string) (*flink.Checkpoint, time.Duration) {
	var interval time.Duration
	cfg, err := c.CheckpointConfig(ctx, jobID)
	if err != nil || cfg.Interval <= 0 {
		return nil, 0
	}
	interval = time.Duration(cfg.Interval) * time.Millisecond
	latest, err := c.LatestCheckpoints(ctx, jobID)
	if err != nil {
		return nil, interval
	}
	return latest.Completed, interval
}

// slotsPerTaskManager returns the slot count most registered TaskManagers
// offer (the larger one on a tie); 0 when none reports slots.
func slotsPerTaskManager(tms []flink.TaskManager) int {
	count := map[int]int{}
	best := 0
	for _, tm := range tms {
		n := tm.SlotsNumber
		if n <= 0 {
			continue
		}
		count[n]++
		if count[n] > count[best] || (count[n] == count[best] && n > best) {
			best = n
		}
	}
	return best
}

// taskManagerSlots is what the registered TaskManagers say of their
// slots: how many one offers, and how many TaskManagers have every slot
// free.
type taskManagerSlots struct {
	// PerTaskManager is the slot count most offer; 0 when unknown.
	PerTaskManager int
	// Idle is the TaskManagers none of whose slots is taken: removing one
	// fails no job over.
	Idle int
}

// readTaskManagerSlots reads the TaskManagers' slots; zero when they cannot
// be read (the snapshot then leaves them out and decide falls back).
func readTaskManagerSlots(ctx context.Context, c jobReader, r retrier) taskManagerSlots {
	var tms []flink.TaskManager
	if err := r.do(ctx, func(ctx context.Context) error {
		var err error
		tms, err = c.TaskManagers(ctx)
		return err
	}); err != nil {
		return taskManagerSlots{}
	}
	out := taskManagerSlots{PerTaskManager: slotsPerTaskManager(tms)}
	for _, tm := range tms {
		if tm.SlotsNumber > 0 && tm.Idle() {
			out.Idle++
		}
	}
	return out
}

// slotsCache keeps a cluster's slots per TaskManager between polls, keyed
// by what the cluster overview says of its TaskManagers: their number and
// their slots in total. GET /taskmanagers (about 1 KB per TaskManager) is
// read again only when either changes, when the overview is unknown, while
// the last read found no slots, or while the overview shows a
// TaskManager's worth of slots free (a TaskManager may then be idle:
// Idle is read afresh; with fewer free, none can be, and Idle is 0). With
// TaskManagers of one size (every Flink deployment's TaskManagers share
// one configuration) the slot count cannot change without changing the
// total, so the cached answer is the one a fresh read would give. Not safe
// for concurrent use: one per cluster, used by one goroutine at a time.
type slotsCache struct {
	taskManagers, slotsTotal int
	slots                    int // 0 = nothing cached
}

// get returns the TaskManagers' slots of the cluster whose overview is ov
// (nil when it could not be read), reading the TaskManagers if needed.
func (sc *slotsCache) get(ctx context.Context, c jobReader, r retrier, ov *flink.Overview) taskManagerSlots {
	if ov == nil {
		sc.slots = 0
		return readTaskManagerSlots(ctx, c, r)
	}
	if sc.slots > 0 && ov.TaskManagers == sc.taskManagers && ov.SlotsTotal == sc.slotsTotal && ov.SlotsAvailable < sc.slots {
		return taskManagerSlots{PerTaskManager: sc.slots}
	}
	sc.taskManagers, sc.slotsTotal = ov.TaskManagers, ov.SlotsTotal
	got := readTaskManagerSlots(ctx, c, r)
	sc.slots = got.PerTaskManager
	return got
}
