package events

import "time"

// FreshCheckpoint is how recent a completed checkpoint must be for a
// restart to count as aligned with it: a tenth of the checkpoint interval
// (6 s at 60 s). actuate waits for one before the step that restarts a job
// (--align-checkpoint), and decide counts on it: a rescale of a job that
// checkpoints replays about this much input.
func FreshCheckpoint(interval time.Duration) time.Duration { return interval / 10 }
