package actuator

import (
	"context"
	"fmt"
	"time"

	"github.com/flinkscaler/flinkscaler/functions/actuate/plan"
	"github.com/flinkscaler/flinkscaler/internal/flink"
)

// checkpointInterval returns the job's periodic checkpoint interval, or 0
// when checkpointing is off (Flink answers 404) or the configuration cannot
// be read: aligning a restart with a checkpoint saves replay, and is never a
// reason to hold a rescale back.
func checkpointInterval(ctx context.Context, fl Flink, jobID string) time.Duration {
	cfg, err := fl.CheckpointConfig(ctx, jobID)
	if err != nil || cfg.Interval <= 0 {
		return 0
	}
	return time.Duration(cfg.Interval) * time.Millisecond
}

// waitCheckpoint waits, for at most plan.CheckpointWait (a patient step's
// bound: plan.CheckpointLimit), until a checkpoint
// newer than the latest one completes, unless the latest is already fresh
// (events.FreshCheckpoint). Ages are measured on the JobManager's clock (the
// job's "now"), and the wait ends on a new checkpoint id, so a skewed or sped
// up clock does not matter. It never fails the plan: when the bound passes,
// or Flink cannot be read, the restart goes ahead and the detail says so.
func (x *execution) waitCheckpoint(ctx context.Context, s plan.Step) (string, error) {
	interval := s.CheckpointInterval
	id, age, err := x.latestCheckpoint(ctx)
	if err != nil {
		return "restart without waiting: " + err.Error(), nil
	}
	limit := plan.CheckpointWait(age, interval, plan.CheckpointLimit(s, x.a.opt.CheckpointWait))
	if limit == 0 {
		return "restart now: " + describeAge(age, interval), nil
	}
	state, err := x.poll(ctx, limit, func() (bool, string, error) {
		latest, err := x.fl.LatestCheckpoints(ctx, x.d.JobID)
		if err != nil {
			return false, "", classifyFlink("read checkpoints", err)
		}
		if c := latest.Completed; c != nil && c.ID > id {
			return true, fmt.Sprintf("checkpoint %d completed (interval %s)", c.ID, interval), nil
		}
		return false, describeAge(age, interval) + ", waiting for the next", nil
	})
	if err != nil {
		if ctx.Err() != nil {
			return "", err
		}
		return fmt.Sprintf("restart anyway: %v", err), nil
	}
	return state, nil
}

// latestCheckpoint returns the latest completed checkpoint's id and the time
// since its last acknowledgement on the JobManager's clock; id 0 and a
// negative age when the job has none. Errors wrap ErrTransient or ErrRefused.
func (x *execution) latestCheckpoint(ctx context.Context) (int64, time.Duration, error) {
	latest, err := x.fl.LatestCheckpoints(ctx, x.d.JobID)
	if err != nil {
		return 0, 0, classifyFlink("read checkpoints", err)
	}
	c := latest.Completed
	if c == nil {
		return 0, -1, nil
	}
	j, err := x.fl.JobDetails(ctx, x.d.JobID)
	if err != nil {
		return 0, 0, classifyFlink("read job", err)
	}
	now := j.Now
	if now <= 0 {
		now = x.a.deps.Clock.Now().UnixMilli()
	}
	return c.ID, max(time.Duration(now-latestAck(*c))*time.Millisecond, 0), nil
}

func latestAck(c flink.Checkpoint) int64 {
	if c.LatestAckTimestamp > 0 {
		return c.LatestAckTimestamp
	}
	return c.TriggerTimestamp
}

func describeAge(age, interval time.Duration) string {
	if age < 0 {
		return fmt.Sprintf("no completed checkpoint yet (interval %s)", interval)
	}
	return fmt.Sprintf("latest checkpoint completed %s ago (interval %s)", age.Round(time.Millisecond), interval)
}
