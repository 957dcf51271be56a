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
// yet), the job's interval and the configured limit. Zero means restart now:
// the latest checkpoint is fresh, or the next one is not due within limit.
//
//	age ≤ fresh             → 0
//	none yet                → interval + fresh      (if interval ≤ limit)
//	age < interval          → interval − age + fresh (if interval − age ≤ limit)
//	age ≥ interval (late)   → fresh
//
// The result never exceeds limit.
func CheckpointWait(age, interval, limit time.Duration) time.Duration {
	if interval <= 0 || limit <= 0 {
		return 0
	}
	fresh := events.FreshCheckpoint(interval)
	if age >= 0 && age <= fresh {
		return 0
	}
	due := interval // time until the next completion is expected
	if age >= 0 {
		due = max(interval-age, 0)
	}
	if due > limit {
		return 0
	}
	return min(due+fresh, limit)
}
