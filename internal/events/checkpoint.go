package events

import (
	"strconv"
	"strings"
	"time"
)

// FreshCheckpoint is how recent a completed checkpoint must be for a
// restart to count as aligned with it: a tenth of the checkpoint interval
// (6 s at 60 s). actuate waits for one before the step that restarts a job
// (--align-checkpoint), and decide counts on it: a rescale of a job that
// checkpoints replays about this much input.
func FreshCheckpoint(interval time.Duration) time.Duration { return interval / 10 }

// MaxCheckpointGate bounds CheckpointGate: with half-hour checkpoints a
// rescale that waited two of them would leave the job unscaled for an hour
// before either function gave it up. actuate's lease counts it.
const MaxCheckpointGate = 15 * time.Minute

// RescalesOnCheckpoint reports whether a job on Flink version (the REST
// API's flink-version, "2.0.1") with checkpoint interval rescales only on
// its next completed checkpoint: the adaptive scheduler of Flink 2.0 and
// later with checkpointing on (measured on the sandbox: 2.3.0 waits, 1.20.5
// does not).
func RescalesOnCheckpoint(version string, interval time.Duration) bool {
	major, _, _ := strings.Cut(version, ".")
	n, err := strconv.Atoi(major)
	return err == nil && n >= 2 && interval > 0
}

// CheckpointGate is how long a rescale of a job that rescales only on a
// completed checkpoint (RescalesOnCheckpoint) may wait for that checkpoint,
// beyond the restart itself; 0 for any other job. The next checkpoint is
// due up to an interval after the change is declared; when it fails (a
// declined barrier, a timeout), the one after lands the change an interval
// later, and when that one fails too Flink rescales anyway
// (jobmanager.adaptive-scheduler.rescale-trigger.max-checkpoint-failures,
// default 2); a tenth of an interval more for that checkpoint to complete
// (FreshCheckpoint), at most MaxCheckpointGate. Both actuate (its wait for
// the new parallelism) and decide (how long a decision may take to show
// before it decides again) add it, so neither gives a rescale up while the
// other still waits for it (before, actuate reported a 6-minute-interval
// scale-up whose checkpoint failed timed out at 6 min, while decide waited
// 11 min and the change landed at ~12). What it trades: requirements that
// never fit are given up that much later.
func CheckpointGate(version string, interval time.Duration) time.Duration {
	if !RescalesOnCheckpoint(version, interval) {
		return 0
	}
	return min(2*interval+FreshCheckpoint(interval), MaxCheckpointGate)
}
