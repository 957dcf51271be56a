package flink

// Checkpoints is GET /jobs/:jobid/checkpoints (CheckpointingStatistics).
type Checkpoints struct {
	Counts  CheckpointCounts             `json:"counts"`
	Summary map[string]CheckpointSummary `json:"summary"` // checkpointed_size, state_size, end_to_end_duration, ...
	Latest  LatestCheckpoints            `json:"latest"`
	History []Checkpoint                 `json:"history"`
}

// CheckpointCounts are the job's checkpoint counters; Restored grows on
// every adaptive rescale.
type CheckpointCounts struct {
	Restored   int64 `json:"restored"`
	Total      int64 `json:"total"`
	InProgress int64 `json:"in_progress"`
	Completed  int64 `json:"completed"`
	Failed     int64 `json:"failed"`
}

// CheckpointSummary is a statistic over the checkpoint history; the
// percentiles are NaN without data.
type CheckpointSummary struct {
	Min  Float `json:"min"`
	Max  Float `json:"max"`
	Avg  Float `json:"avg"`
	P50  Float `json:"p50"`
	P90  Float `json:"p90"`
	P95  Float `json:"p95"`
	P99  Float `json:"p99"`
	P999 Float `json:"p999"`
}

// LatestCheckpoints holds the newest checkpoint of each kind; nil when none.
type LatestCheckpoints struct {
	Completed *Checkpoint         `json:"completed"`
	Savepoint *Checkpoint         `json:"savepoint"`
	Failed    *Checkpoint         `json:"failed"`
	Restored  *RestoredCheckpoint `json:"restored"`
}

// Checkpoint is one checkpoint; ClassName is completed, failed or
// in_progress.
type Checkpoint struct {
	ClassName               string `json:"className"`
	ID                      int64  `json:"id"`
	Status                  string `json:"status"`
	IsSavepoint             bool   `json:"is_savepoint"`
	TriggerTimestamp        int64  `json:"trigger_timestamp"`
	LatestAckTimestamp      int64  `json:"latest_ack_timestamp"`
	CheckpointedSize        int64  `json:"checkpointed_size"`
	StateSize               int64  `json:"state_size"`
	EndToEndDuration        int64  `json:"end_to_end_duration"`
	NumSubtasks             int    `json:"num_subtasks"`
	NumAcknowledgedSubtasks int    `json:"num_acknowledged_subtasks"`
	CheckpointType          string `json:"checkpoint_type"`
	ExternalPath            string `json:"external_path,omitempty"`
	Discarded               bool   `json:"discarded,omitempty"` // completed checkpoints only
	FailureTimestamp        int64  `json:"failure_timestamp,omitempty"`
	FailureMessage          string `json:"failure_message,omitempty"`
}

// RestoredCheckpoint is the checkpoint the current execution restored.
type RestoredCheckpoint struct {
	ID               int64  `json:"id"`
	RestoreTimestamp int64  `json:"restore_timestamp"`
	IsSavepoint      bool   `json:"is_savepoint"`
	ExternalPath     string `json:"external_path,omitempty"`
}

// CheckpointConfig is GET /jobs/:jobid/checkpoints/config; durations in ms.
type CheckpointConfig struct {
	Mode                       string `json:"mode"`
	Interval                   int64  `json:"interval"`
	Timeout                    int64  `json:"timeout"`
	MinPause                   int64  `json:"min_pause"`
	MaxConcurrent              int64  `json:"max_concurrent"`
	UnalignedCheckpoints       bool   `json:"unaligned_checkpoints"`
	TolerableFailedCheckpoints int    `json:"tolerable_failed_checkpoints"`
	StateBackend               string `json:"state_backend,omitempty"`
	CheckpointStorage          string `json:"checkpoint_storage,omitempty"`
	Externalization            struct {
		Enabled              bool `json:"enabled"`
		DeleteOnCancellation bool `json:"delete_on_cancellation"`
	} `json:"externalization"`
}

// DashboardConfig is GET /config.
type DashboardConfig struct {
	RefreshInterval int64           `json:"refresh-interval"`
	TimezoneName    string          `json:"timezone-name"`
	TimezoneOffset  int             `json:"timezone-offset"`
	FlinkVersion    string          `json:"flink-version"`
	FlinkRevision   string          `json:"flink-revision"`
	Features        map[string]bool `json:"features"`
}

// ConfigEntry is one key of GET /jobmanager/config.
type ConfigEntry struct {
	Key   string `json:"key"`
	Value string `json:"value"`
}

// JobConfig is GET /jobs/:jobid/config.
type JobConfig struct {
	JobID           string `json:"jid"`
	Name            string `json:"name"`
	ExecutionConfig struct {
		JobParallelism  int               `json:"job-parallelism"`
		ObjectReuseMode bool              `json:"object-reuse-mode"`
		RestartStrategy string            `json:"restart-strategy"`
		UserConfig      map[string]string `json:"user-config"`
	} `json:"execution-config"`
}
