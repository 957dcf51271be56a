package plan

import (
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// CheckpointLimit is the bound of wait-checkpoint step s given actuate's
// configured bound: a patient step may always wait for the next checkpoint
// (one interval and the fresh margin), as a scale-down loses nothing by
// waiting and a restart an interval after a checkpoint replays an interval.
func CheckpointLimit(s Step, configured time.Duration) time.Duration {
	if !s.Patient || s.CheckpointInterval <= 0 {
		return configured
	}
	return max(configured, s.CheckpointInterval+events.FreshCheckpoint(s.CheckpointInterval))
}

// CheckpointWait returns how long a wait-checkpoint step may wait for a fresh
// checkpoint, given the age of the latest completed one (negative: none
// yet), how long the job has been running (negative: unknown), the job's
// interval and the configured limit. Zero means restart now: the latest
// checkpoint is fresh, or the next one is not due within limit. The
// periodic schedule starts anew with every run (Flink's checkpoint
// coordinator starts it when the job runs), so after a restart since the
// latest checkpoint the next one is due an interval after the run began,
// not after that checkpoint.
//
//	age ≤ fresh             → 0
//	none yet                → interval + fresh      (if interval ≤ limit)
//	age < interval          → interval − age + fresh (if interval − age ≤ limit)
//	age ≥ interval (late)   → the next on the schedule: interval − age mod interval + fresh
//	                          (if that is within limit; fresh otherwise)
//	run < age               → as above with run for age (the schedule restarted;
//	                          late: fresh)
//
// A checkpoint later than an interval either is still in flight (slowed by
// back-pressure: it completes within the wait, which ends on it) or
// failed, and then none completes before the next trigger on the periodic
// schedule, which a failure does not move (Flink's CheckpointCoordinator
// triggers every interval from the run's first trigger). A wait of only
// the fresh margin then restarts on the checkpoint before the failed one
// and replays up to two intervals (hourly-batch-dedup, 6-minute
// checkpoints: a scale-down restarted 10 minutes behind). The latest
// completion anchors that schedule (its trigger and duration, as the next
// one's); a run that has completed none does not, so a late first
// checkpoint of a run keeps the fresh margin.
//
// The result never exceeds limit.
func CheckpointWait(age, run, interval, limit time.Duration) time.Duration {
	if interval <= 0 || limit <= 0 {
		return 0
	}
	fresh := events.FreshCheckpoint(interval)
	if age >= 0 && age <= fresh {
		return 0
	}
	due := interval // time until the next completion is expected
	switch {
	case run >= 0 && (age < 0 || run < age):
		due = max(interval-run, 0)
	case age >= interval:
		if next := interval - age%interval; next <= limit {
			return min(next+fresh, limit)
		}
		due = 0
	case age >= 0:
		due = interval - age
	}
	if due > limit {
		return 0
	}
	return min(due+fresh, limit)
}
