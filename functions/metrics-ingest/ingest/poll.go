package ingest

import (
	"context"
	"fmt"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flink"
)

// PollJob reads one job from c once and builds its snapshot exactly as the
// service does on each interval (cluster overview, job details, every
// vertex's subtask metrics, the TaskManagers' slots), stamped with observedAt = now. It tries each
// call once. It is for callers that drive Flink, or the emulator, in their
// own time, such as the benchmark. An unreadable overview leaves the
// snapshot incomplete; a failed job-details read is returned (wrapping
// flink.ErrNotFound when the job is gone).
func PollJob(ctx context.Context, c *flink.Client, cluster, jobID string, now time.Time) (events.Snapshot, error) {
	r := retrier{attempts: 1, onError: func(string) {}}
	var ov *flink.Overview
	if o, err := c.Overview(ctx); err == nil {
		ov = &o
	}
	data, err := collectJob(ctx, c, r, cluster, jobID, ov, func() time.Time { return now })
	if err != nil {
		return events.Snapshot{}, fmt.Errorf("poll job %s: %w", jobID, err)
	}
	data.SlotsPerTaskManager = readSlotsPerTaskManager(ctx, c, r)
	return buildSnapshot(data), nil
}
