package flinksim

import (
	"math"
	"net/http"
	"time"
)

// /jobs/:jobid/checkpoints (reference §5.11). State is not modelled, so
// sizes are 0; a checkpoint that takes time (Runtime.CheckpointDuration,
// CheckpointAlignment) is listed IN_PROGRESS until it completes.

type checkpointStat struct {
	ClassName              string         `json:"className"`
	ID                     int64          `json:"id"`
	Status                 string         `json:"status"`
	IsSavepoint            bool           `json:"is_savepoint"`
	SavepointFormat        *string        `json:"savepointFormat"`
	TriggerTimestamp       int64          `json:"trigger_timestamp"`
	LatestAckTimestamp     int64          `json:"latest_ack_timestamp"`
	CheckpointedSize       int64          `json:"checkpointed_size"`
	StateSize              int64          `json:"state_size"`
	EndToEndDuration       int64          `json:"end_to_end_duration"`
	AlignmentBuffered      int64          `json:"alignment_buffered"`
	ProcessedData          int64          `json:"processed_data"`
	PersistedData          int64          `json:"persisted_data"`
	NumSubtasks            int            `json:"num_subtasks"`
	NumAcknowledgedSubtask int            `json:"num_acknowledged_subtasks"`
	CheckpointType         string         `json:"checkpoint_type"`
	Tasks                  map[string]any `json:"tasks"`
	ExternalPath           string         `json:"external_path"`
	Discarded              bool           `json:"discarded"`
}

type statsSummary struct {
	Min  int64     `json:"min"`
	Max  int64     `json:"max"`
	Avg  int64     `json:"avg"`
	P50  jsonFloat `json:"p50"`
	P90  jsonFloat `json:"p90"`
	P95  jsonFloat `json:"p95"`
	P99  jsonFloat `json:"p99"`
	P999 jsonFloat `json:"p999"`
}

type restoredStat struct {
	ID               int64  `json:"id"`
	RestoreTimestamp int64  `json:"restore_timestamp"`
	IsSavepoint      bool   `json:"is_savepoint"`
	ExternalPath     string `json:"external_path"`
}

type latestCheckpoints struct {
	Completed *checkpointStat `json:"completed"`
	Savepoint *checkpointStat `json:"savepoint"`
	Failed    *checkpointStat `json:"failed"`
	Restored  *restoredStat   `json:"restored"`
}

type checkpointingStatistics struct {
	Counts  map[string]int64        `json:"counts"`
	Summary map[string]statsSummary `json:"summary"`
	Latest  latestCheckpoints       `json:"latest"`
	History []checkpointStat        `json:"history"`
}

func (c *Cluster) checkpointStats() any {
	k := &c.ckpt
	stats := checkpointingStatistics{
		Counts: map[string]int64{
			"restored": k.restores, "total": k.completed, "in_progress": 0,
			"completed": k.completed, "failed": 0,
		},
		Summary: map[string]statsSummary{},
		History: []checkpointStat{},
	}
	zero := statsSummary{}
	if k.completed == 0 {
		nan := jsonFloat(math.NaN())
		zero = statsSummary{P50: nan, P90: nan, P95: nan, P99: nan, P999: nan}
	}
	for _, name := range []string{"checkpointed_size", "state_size", "end_to_end_duration", "alignment_buffered", "processed_data", "persisted_data"} {
		stats.Summary[name] = zero
	}
	if pc := c.dist.pending; pc != nil {
		stats.Counts["in_progress"], stats.Counts["total"] = 1, k.completed+1
		stats.History = append(stats.History, c.pendingStat(pc))
	}
	for i := len(k.history) - 1; i >= 0; i-- { // newest first
		stats.History = append(stats.History, c.checkpointStat(k.history[i]))
	}
	if k.completed > 0 {
		latest := c.checkpointStat(k.history[len(k.history)-1])
		stats.Latest.Completed = &latest
	}
	if r := k.restored; r != nil {
		stats.Latest.Restored = &restoredStat{ID: r.id, RestoreTimestamp: r.restoreMs, ExternalPath: k.externalPath(c.jobID, r.id)}
	}
	return stats
}

func (c *Cluster) checkpointStat(r checkpointRecord) checkpointStat {
	return checkpointStat{
		ClassName: "completed", ID: r.id, Status: "COMPLETED",
		TriggerTimestamp: r.triggerMs, LatestAckTimestamp: r.ackMs, EndToEndDuration: r.ackMs - r.triggerMs,
		NumSubtasks: r.numSubtasks, NumAcknowledgedSubtask: r.numSubtasks,
		CheckpointType: "CHECKPOINT", Tasks: map[string]any{},
		ExternalPath: c.ckpt.externalPath(c.jobID, r.id),
	}
}

// pendingStat is the checkpoint in flight as Flink lists it in the history
// (PendingCheckpointStatistics): no subtask has acknowledged it yet, so its
// latest acknowledgement is -1. It takes the next id, as the model numbers
// checkpoints by completion.
func (c *Cluster) pendingStat(pc *pendingCheckpoint) checkpointStat {
	n := 0
	for _, v := range c.vertices {
		n += v.p
	}
	return checkpointStat{
		ClassName: "in_progress", ID: c.ckpt.completed + 1, Status: "IN_PROGRESS",
		TriggerTimestamp: c.opts.Start.Add(pc.triggered).UnixMilli(), LatestAckTimestamp: -1,
		NumSubtasks: n, CheckpointType: "CHECKPOINT", Tasks: map[string]any{},
	}
}

// checkpointConfig is GET /jobs/:jobid/checkpoints/config
// (CheckpointConfigInfo), with Flink 1.18's defaults for what the model does
// not cover. Flink serialises the mode in lower case.
type checkpointConfig struct {
	Mode                        string             `json:"mode"`
	Interval                    int64              `json:"interval"`
	Timeout                     int64              `json:"timeout"`
	MinPause                    int64              `json:"min_pause"`
	MaxConcurrent               int64              `json:"max_concurrent"`
	Externalization             externalizedConfig `json:"externalization"`
	StateBackend                string             `json:"state_backend"`
	CheckpointStorage           string             `json:"checkpoint_storage"`
	UnalignedCheckpoints        bool               `json:"unaligned_checkpoints"`
	TolerableFailedCheckpoints  int32              `json:"tolerable_failed_checkpoints"`
	AlignedCheckpointTimeout    int64              `json:"aligned_checkpoint_timeout"`
	CheckpointsAfterTasksFinish bool               `json:"checkpoints_after_tasks_finish"`
	StateChangelogEnabled       bool               `json:"state_changelog_enabled"`
	ChangelogMaterialization    int64              `json:"changelog_periodic_materialization_interval"`
	ChangelogStorage            string             `json:"changelog_storage"`
}

type externalizedConfig struct {
	Enabled              bool `json:"enabled"`
	DeleteOnCancellation bool `json:"delete_on_cancellation"`
}

// checkpointConfigView answers the checkpoint configuration, or 404 as
// Flink does when the job has no checkpointing.
func (c *Cluster) checkpointConfigView(known bool, jobID string) (int, []byte) {
	if !known {
		return jobNotFound(jobID)
	}
	interval := c.sc.Cluster.CheckpointInterval
	if interval <= 0 {
		return restError(http.StatusNotFound, "org.apache.flink.runtime.rest.handler.RestHandlerException: Checkpointing is not enabled for this job ("+jobID+").")
	}
	return ok(checkpointConfig{
		Mode: "exactly_once", Interval: interval.Milliseconds(), Timeout: (10 * time.Minute).Milliseconds(),
		MaxConcurrent: 1, Externalization: externalizedConfig{Enabled: true},
		StateBackend: "HashMapStateBackend", CheckpointStorage: "FileSystemCheckpointStorage",
		CheckpointsAfterTasksFinish: true, ChangelogMaterialization: (10 * time.Minute).Milliseconds(), ChangelogStorage: "memory",
	})
}

// triggerCheckpointView answers POST /jobs/:jobid/checkpoints: 202 with
// the request's id, or 404 for an unknown job; a job without
// checkpointing fails the request as Flink does (400: "Checkpointing has
// not been enabled").
func (c *Cluster) triggerCheckpointView(known bool, jobID string) (int, []byte) {
	if !known {
		return jobNotFound(jobID)
	}
	if c.sc.Cluster.CheckpointInterval <= 0 {
		return restError(http.StatusBadRequest, "org.apache.flink.runtime.rest.handler.RestHandlerException: Checkpointing has not been enabled for job "+jobID+".")
	}
	_, body := ok(map[string]string{"request-id": c.triggerCheckpoint()})
	return http.StatusAccepted, body
}
