// Package events is flinkscaler's contract: the CloudEvents that ingest, decide
// and actuate exchange over NATS JetStream, their data payloads, subjects, the
// CloudEvents⇄NATS binding, stream and KV provisioning, and the consumer runner.
//
// It imports no function package; every function imports it.
package events

import "time"

// CloudEvent types, one per payload.
const (
	TypeSnapshot = "io.flinkscaler.job.snapshot.v1"
	TypeMetric   = "io.flinkscaler.metric.v1"
	TypeDecision = "io.flinkscaler.scale.decision.v1"
	TypeResult   = "io.flinkscaler.scale.result.v1"
	TypeRejected = "io.flinkscaler.event.rejected.v1"
)

// Scaling modes (docs/scaling-modes.md).
const (
	ModeReactive = "reactive"
	ModeAdaptive = "adaptive"
	ModeSession  = "session"
	ModeKEDA     = "keda"
)

// Slot-sharing layouts.
const (
	SlotSharingShared    = "shared"
	SlotSharingDedicated = "dedicated"
)

// Actuation outcomes.
const (
	OutcomeApplied = "applied"
	OutcomeSkipped = "skipped"
	OutcomeFailed  = "failed"
	OutcomePartial = "partial"
)

// AvgMax is a per-subtask metric aggregated over a vertex's subtasks.
type AvgMax struct {
	Avg float64 `json:"avg"`
	Max float64 `json:"max"`
}

// Input is one upstream edge of a vertex, as the job plan reports it.
type Input struct {
	ID           string `json:"id"`
	ShipStrategy string `json:"shipStrategy,omitempty"` // FORWARD, HASH, REBALANCE, ...
}

// VertexSnapshot is one job vertex at one instant. A nil metric is missing or
// was not finite; its name is then listed in Incomplete. Nothing is ever
// replaced by zero.
type VertexSnapshot struct {
	ID                       string   `json:"id"`
	Name                     string   `json:"name"`
	Parallelism              int      `json:"parallelism"`
	MaxParallelism           int      `json:"maxParallelism"`
	IsSource                 bool     `json:"isSource"`
	Inputs                   []Input  `json:"inputs,omitempty"`
	SlotSharingGroup         string   `json:"slotSharingGroup,omitempty"`
	BusyMsPerSecond          *AvgMax  `json:"busyMsPerSecond,omitempty"`
	IdleMsPerSecond          *AvgMax  `json:"idleMsPerSecond,omitempty"`
	BackPressuredMsPerSecond *AvgMax  `json:"backPressuredMsPerSecond,omitempty"`
	RecordsInPerSecond       *float64 `json:"recordsInPerSecond,omitempty"`
	RecordsOutPerSecond      *float64 `json:"recordsOutPerSecond,omitempty"`
	PendingRecords           *float64 `json:"pendingRecords,omitempty"`
	SourcePartitions         *int     `json:"sourcePartitions,omitempty"`
	Incomplete               []string `json:"incomplete,omitempty"`
}

// Snapshot is the data of io.flinkscaler.job.snapshot.v1: one job at one
// instant, as metrics-ingest read it from the JobManager.
type Snapshot struct {
	Cluster      string     `json:"cluster"`
	JobID        string     `json:"jobId"`
	JobName      string     `json:"jobName"`
	JobState     string     `json:"jobState"`
	RunningSince *time.Time `json:"runningSince,omitempty"` // timestamps.RUNNING
	ObservedAt   time.Time  `json:"observedAt"`
	TaskManagers int        `json:"taskManagers"`
	SlotsTotal   int        `json:"slotsTotal"`
	SlotsFree    int        `json:"slotsFree"`
	// SlotsPerTaskManager is the slots one TaskManager offers
	// (taskmanager.numberOfTaskSlots), as the registered TaskManagers
	// report it (the most common count); 0 when none is registered or they
	// could not be read.
	SlotsPerTaskManager int `json:"slotsPerTaskManager,omitempty"`
	// IdleTaskManagers is the registered TaskManagers none of whose slots
	// is taken (GET /taskmanagers: freeSlots = slotsNumber), read while the
	// cluster has a TaskManager's worth of slots free; 0 otherwise or when
	// unknown. Removing one fails no job over.
	IdleTaskManagers int `json:"idleTaskManagers,omitempty"`
	// LastCheckpointAt is when the job's latest completed checkpoint was
	// last acknowledged (a rescale restores it and replays the input read
	// since); nil when none completed or checkpoints could not be read.
	LastCheckpointAt *time.Time `json:"lastCheckpointAt,omitempty"`
	// LastCheckpointDurationMs is that checkpoint's time from its trigger
	// to its last acknowledgement in ms: the sources' positions it holds
	// are those at its trigger, so a restart restoring it replays this much
	// more than the time since LastCheckpointAt. 0 when unknown.
	LastCheckpointDurationMs int64 `json:"lastCheckpointDurationMs,omitempty"`
	// CheckpointIntervalMs is the job's periodic checkpoint interval in ms;
	// 0 when checkpointing is off or the configuration could not be read.
	CheckpointIntervalMs int64 `json:"checkpointIntervalMs,omitempty"`
	// FlinkVersion is the JobManager's Flink release (/overview
	// flink-version, e.g. "1.20.1"); empty when the overview was not read.
	// From 2.0 on the adaptive scheduler rescales a running job only on
	// its next completed checkpoint.
	FlinkVersion string `json:"flinkVersion,omitempty"`
	// Vertices in topological order (sources first).
	Vertices []VertexSnapshot `json:"vertices"`
	// Complete is false when any metric a policy needs is missing; the
	// reasons are in Incomplete and in each vertex's Incomplete.
	Complete   bool     `json:"complete"`
	Incomplete []string `json:"incomplete,omitempty"`
}

// Metric is the data of io.flinkscaler.metric.v1: a user's own figure for a
// job, for example Kafka consumer lag from an exporter.
type Metric struct {
	Cluster    string    `json:"cluster"`
	Job        string    `json:"job"` // job id or job name
	Name       string    `json:"name"`
	Value      float64   `json:"value"`
	Unit       string    `json:"unit,omitempty"`
	Vertex     string    `json:"vertex,omitempty"`
	ObservedAt time.Time `json:"observedAt"`
}

// VertexDecision is the target of one vertex with its reason.
type VertexDecision struct {
	ID      string `json:"id"`
	Name    string `json:"name"`
	Current int    `json:"current"`
	Target  int    `json:"target"`
	// Lower and Upper bound the requirement declared to Flink; zero means
	// lower = upper = Target.
	Lower  int    `json:"lower,omitempty"`
	Upper  int    `json:"upper,omitempty"`
	Reason string `json:"reason"`
}

// Slots describes how a job's subtasks map onto TaskManagers.
type Slots struct {
	PerTaskManager int    `json:"perTaskManager"`
	Sharing        string `json:"sharing"` // shared | dedicated
	Standby        int    `json:"standby,omitempty"`
	// Groups maps a vertex id to its slot-sharing group; empty means one group.
	Groups map[string]string `json:"groups,omitempty"`
}

// Count is a current → target pair.
type Count struct {
	Current int `json:"current"`
	Target  int `json:"target"`
}

// Decision is the data of io.flinkscaler.scale.decision.v1. Targets are
// absolute, so a redelivered decision is harmless.
type Decision struct {
	DecisionID   string           `json:"decisionId"`
	SnapshotID   string           `json:"snapshotId"`
	Cluster      string           `json:"cluster"`
	JobID        string           `json:"jobId"`
	JobName      string           `json:"jobName"`
	Mode         string           `json:"mode"`
	Vertices     []VertexDecision `json:"vertices"`
	TaskManagers Count            `json:"taskManagers"`
	Slots        Slots            `json:"slots"`
	// Workload names the TaskManager workload ([KIND/]NAMESPACE/NAME); empty
	// means actuate's default.
	Workload  string    `json:"workload,omitempty"`
	Policy    string    `json:"policy"`
	DryRun    bool      `json:"dryRun"`
	Rationale string    `json:"rationale"`
	DecidedAt time.Time `json:"decidedAt"`
}

// Step is one action actuate took, with its timing.
type Step struct {
	Name       string    `json:"name"`   // scale-taskmanagers, wait-slots, put-requirements, ...
	Status     string    `json:"status"` // done, failed, skipped, rolled-back
	StartedAt  time.Time `json:"startedAt"`
	DurationMs int64     `json:"durationMs"`
	Detail     string    `json:"detail,omitempty"`
}

// Result is the data of io.flinkscaler.scale.result.v1.
type Result struct {
	DecisionID string    `json:"decisionId"`
	Cluster    string    `json:"cluster"`
	JobID      string    `json:"jobId"`
	Outcome    string    `json:"outcome"`
	Steps      []Step    `json:"steps"`
	Error      string    `json:"error,omitempty"`
	DryRun     bool      `json:"dryRun,omitempty"`
	FinishedAt time.Time `json:"finishedAt"`
}

// Reason is why the result came out as it did, in a few words: its error,
// else its last step's detail; empty when it has neither.
func (r Result) Reason() string {
	if r.Error != "" {
		return r.Error
	}
	if len(r.Steps) > 0 {
		return r.Steps[len(r.Steps)-1].Detail
	}
	return ""
}

// Rejected is the data of io.flinkscaler.event.rejected.v1: a message a
// function could not accept, with why.
type Rejected struct {
	Function      string              `json:"function"`
	Subject       string              `json:"subject"`
	Headers       map[string][]string `json:"headers,omitempty"`
	Body          string              `json:"body"`
	BodySize      int                 `json:"bodySize"`
	BodyTruncated bool                `json:"bodyTruncated"`
	Reason        string              `json:"reason"`
	RejectedAt    time.Time           `json:"rejectedAt"`
}
