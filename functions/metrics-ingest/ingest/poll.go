package ingest

import (
	"context"
	"fmt"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flink"
)

// Poller reads one cluster's jobs when its caller says, building each
// snapshot exactly as the service does on each interval (cluster overview,
// job details, every vertex's subtask metrics, the checkpoints, the
// TaskManagers' slots), and keeps what the service keeps between cycles
// (the slots per TaskManager, read again only when the overview's
// TaskManagers or slots change). It is for callers that drive Flink, or
// the emulator, in their own time, such as the benchmark. Not safe for
// concurrent use.
type Poller struct {
	client  *flink.Client
	cluster string
	slots   slotsCache
}

// NewPoller returns a poller of the JobManager c talks to; cluster names
// it in the snapshots.
func NewPoller(c *flink.Client, cluster string) *Poller {
	return &Poller{client: c, cluster: cluster}
}

// Poll reads job jobID once and returns its snapshot, stamped with
// observedAt = now unless the JobManager reports its own clock. It tries
// each call once. An unreadable overview leaves the snapshot incomplete; a
// failed job-details read is returned (wrapping flink.ErrNotFound when the
// job is gone).
func (p *Poller) Poll(ctx context.Context, jobID string, now time.Time) (events.Snapshot, error) {
	r := retrier{attempts: 1, onError: func(string) {}}
	var ov *flink.Overview
	if o, err := p.client.Overview(ctx); err == nil {
		ov = &o
	}
	data, err := collectJob(ctx, p.client, r, p.cluster, jobID, ov, func() time.Time { return now })
	if err != nil {
		return events.Snapshot{}, fmt.Errorf("poll job %s: %w", jobID, err)
	}
	data.TaskManagerSlots = p.slots.get(ctx, p.client, r, ov)
	return buildSnapshot(data), nil
}

// PollJob is one Poll of a new Poller: it reads everything, the
// TaskManagers included.
func PollJob(ctx context.Context, c *flink.Client, cluster, jobID string, now time.Time) (events.Snapshot, error) {
	return NewPoller(c, cluster).Poll(ctx, jobID, now)
}
