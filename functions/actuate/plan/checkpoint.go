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
//	age ≥ interval (late)   → fresh
//	run < age               → as above with run for age (the schedule restarted)
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
	case age >= 0:
		due = max(interval-age, 0)
	}
	if due > limit {
		return 0
	}
	return min(due+fresh, limit)
}
