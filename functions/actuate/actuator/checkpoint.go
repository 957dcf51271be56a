package actuator

import (
	"context"
	"errors"
	"fmt"
	"math"
	"time"

	"github.com/flinkscaler/flinkscaler/functions/actuate/plan"
	"github.com/flinkscaler/flinkscaler/internal/events"
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

// checkpointGate is how long a rescale of the job may wait for the
// checkpoint that lands it (events.CheckpointGate), from its Flink version
// and checkpoint interval. A version that cannot be read counts as one
// that rescales on a checkpoint: waiting longer for a change that lands
// sooner costs nothing, giving up one that is still to land reports a
// rescale timed out.
func (x *execution) checkpointGate(ctx context.Context) time.Duration {
	version := flinkVersion(ctx, x.fl)
	if version == "" {
		version = "2"
	}
	return events.CheckpointGate(version, checkpointInterval(ctx, x.fl, x.d.JobID))
}

// flinkVersion is the cluster's Flink release ("2.0.1"), "" when the
// overview cannot be read.
func flinkVersion(ctx context.Context, fl Flink) string {
	ov, err := fl.Overview(ctx)
	if err != nil {
		return ""
	}
	return ov.FlinkVersion
}

// waitCheckpoint waits, for at most plan.CheckpointWait (a patient step's
// bound: plan.CheckpointLimit), until a checkpoint
// newer than the latest one completes, unless the latest is already fresh
// (events.FreshCheckpoint). Ages are measured on the JobManager's clock (the
// job's "now"), and the wait ends on a new checkpoint id, so a skewed or sped
// up clock does not matter. When the bound passes with a newer checkpoint in
// progress, that one gets a bounded second wait (awaitInFlight). It never
// fails the plan: when the bounds pass, or Flink cannot be read, the
// restart goes ahead and the detail says so.
func (x *execution) waitCheckpoint(ctx context.Context, s plan.Step) (string, error) {
	interval := s.CheckpointInterval
	run := time.Duration(-1) // how long the job has run: its checkpoint schedule began then
	if j, err := x.fl.JobDetails(ctx, x.d.JobID); err == nil {
		if j.State != "" && j.State != flink.StateRunning {
			// A job that is not running (a failover's, or one waiting for
			// slots) takes no checkpoint: its restart restores the latest.
			return fmt.Sprintf("restart now: the job is %s and takes no checkpoint until it runs", j.State), nil
		}
		if since, ok := j.RunningSince(); ok && j.Now > 0 {
			run = max(time.UnixMilli(j.Now).Sub(since), 0)
		}
	}
	id, age, err := x.latestCheckpoint(ctx)
	if err != nil {
		return "restart without waiting: " + err.Error(), nil
	}
	limit := plan.CheckpointWait(age, run, interval, plan.CheckpointLimit(s, x.a.opt.CheckpointWait))
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
		msg := fmt.Sprintf("restart anyway: %v", err)
		if errors.Is(err, ErrTimeout) {
			state, done, err := x.awaitInFlight(ctx, id)
			switch {
			case err != nil:
				return "", err
			case done:
				return state, nil
			case state != "":
				msg += "; " + state
			}
		}
		return msg, nil
	}
	return state, nil
}

// awaitInFlight is the wait's second chance: when its bound passed with a
// checkpoint newer than the latest completed one (id) in progress, the job
// waits for that one too, for at most the configured bound again and never
// longer than the replay it saves. A restart now restores the latest
// completed checkpoint and replays the input read since its trigger; once
// the one in flight completes, only the input since that one's trigger.
// The job runs meanwhile, so waiting w adds less than w of lag, while
// restarting now replays the time between the two triggers (about an
// interval): a checkpoint slowed by backpressure (its barriers queue
// behind the buffered records) would otherwise be given up seconds before
// it completes. done reports that it completed; otherwise state says what
// became of it ("" when none was in flight) and the restart goes ahead.
// err is set only when the actuation was stopped.
func (x *execution) awaitInFlight(ctx context.Context, id int64) (state string, done bool, err error) {
	cp, err := x.fl.Checkpoints(ctx, x.d.JobID)
	if err != nil {
		return "", false, nil
	}
	flight, saved := checkpointInFlight(cp, id)
	if flight == nil {
		return "", false, nil
	}
	since := time.UnixMilli(flight.TriggerTimestamp).UTC().Format(time.TimeOnly)
	state, err = x.poll(ctx, min(x.a.opt.CheckpointWait, saved), func() (bool, string, error) {
		cp, err := x.fl.Checkpoints(ctx, x.d.JobID)
		if err != nil {
			return false, "", classifyFlink("read checkpoints", err)
		}
		if c := cp.Latest.Completed; c != nil && c.ID >= flight.ID {
			took := time.Duration(latestAck(*c)-c.TriggerTimestamp) * time.Millisecond
			return true, fmt.Sprintf("checkpoint %d completed, %s after its trigger (in flight when the wait's bound passed)", c.ID, took), nil
		}
		if f, _ := checkpointInFlight(cp, id); f == nil {
			return false, "", fmt.Errorf("checkpoint %d (in progress since %s) failed", flight.ID, since)
		}
		return false, fmt.Sprintf("checkpoint %d in progress since %s", flight.ID, since), nil
	})
	switch {
	case err == nil:
		return state, true, nil
	case ctx.Err() != nil:
		return "", false, err
	}
	return "waited for the one in flight: " + err.Error(), false, nil
}

// checkpointInFlight returns the newest checkpoint in progress newer than
// the completed checkpoint id, and the replay it saves: the time between
// the triggers of the two (a restart restores a checkpoint's source
// positions, taken at its trigger); without a completed checkpoint, a
// restart restores none and the saving has no bound (max Duration).
func checkpointInFlight(cp flink.Checkpoints, id int64) (*flink.Checkpoint, time.Duration) {
	from := int64(-1)
	if c := cp.Latest.Completed; c != nil {
		from = c.TriggerTimestamp
	}
	for i := range cp.History {
		h := &cp.History[i]
		switch {
		case h.Status != "IN_PROGRESS" || h.ID <= id || h.IsSavepoint:
		case from < 0:
			return h, time.Duration(math.MaxInt64)
		case h.TriggerTimestamp > from:
			return h, time.Duration(h.TriggerTimestamp-from) * time.Millisecond
		}
	}
	return nil, 0
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

// rescaleCooldown is how long a job must have run before Flink's adaptive
// scheduler rescales it (jobmanager.adaptive-scheduler.executing.cooldown-after-rescaling,
// 1.19–1.20 scaling-interval.min; 30 s by default): a checkpoint that
// completes earlier triggers no rescale.
const rescaleCooldown = 30 * time.Second

// triggerCheckpoint asks Flink for a checkpoint, once the job has run
// past the scheduler's cooldown, so a job that rescales only on a
// completed checkpoint rescales on that one rather than on the next
// periodic one. It never fails the plan: when the job is not running (it
// restarts anyway, on no checkpoint) or Flink refuses, the rescale waits
// for the periodic checkpoint and the detail says so. err is set only
// when the actuation was stopped.
func (x *execution) triggerCheckpoint(ctx context.Context) (string, error) {
	const periodic = "not triggered, the rescale waits for the periodic checkpoint: "
	j, err := x.fl.JobDetails(ctx, x.d.JobID)
	if err != nil {
		return periodic + err.Error(), nil
	}
	if j.State != flink.StateRunning {
		return fmt.Sprintf("not triggered: the job is %s and restarts on no checkpoint", j.State), nil
	}
	var waited time.Duration
	if since, ok := j.RunningSince(); ok && j.Now > 0 {
		if ran := time.UnixMilli(j.Now).Sub(since); ran < rescaleCooldown {
			waited = rescaleCooldown - ran
			if err := x.a.deps.Clock.Sleep(ctx, waited); err != nil {
				return "", err
			}
		}
	}
	id, err := x.fl.TriggerCheckpoint(ctx, x.d.JobID)
	switch {
	case ctx.Err() != nil:
		return "", ctx.Err()
	case err != nil:
		return periodic + err.Error(), nil
	}
	detail := "checkpoint requested (trigger " + id + "): Flink rescales on its completion"
	if waited > 0 {
		detail += fmt.Sprintf(", asked %s later, once the job had run %s (the scheduler's cooldown)", waited.Round(time.Millisecond), rescaleCooldown)
	}
	return detail, nil
}
