package flink

import "time"

// Job states (JobStatus).
const (
	StateInitializing = "INITIALIZING"
	StateCreated      = "CREATED"
	StateRunning      = "RUNNING"
	StateFailing      = "FAILING"
	StateFailed       = "FAILED"
	StateCancelling   = "CANCELLING"
	StateCanceled     = "CANCELED"
	StateFinished     = "FINISHED"
	StateRestarting   = "RESTARTING"
	StateSuspended    = "SUSPENDED"
	StateReconciling  = "RECONCILING"
)

// GloballyTerminal reports whether a job in state will never run again:
// FINISHED, CANCELED or FAILED.
func GloballyTerminal(state string) bool {
	return state == StateFinished || state == StateCanceled || state == StateFailed
}

// Overview is GET /overview (ClusterOverviewWithVersion).
type Overview struct {
	TaskManagers   int    `json:"taskmanagers"`
	SlotsTotal     int    `json:"slots-total"`
	SlotsAvailable int    `json:"slots-available"`
	JobsRunning    int    `json:"jobs-running"`
	JobsFinished   int    `json:"jobs-finished"`
	JobsCancelled  int    `json:"jobs-cancelled"`
	JobsFailed     int    `json:"jobs-failed"`
	FlinkVersion   string `json:"flink-version"`
	FlinkCommit    string `json:"flink-commit"`
	// Sent only while TaskManagers are blocked (Flink 1.20 and 2.x omit
	// them otherwise).
	SlotsFreeAndBlocked int `json:"slots-free-and-blocked,omitempty"`
	TaskManagersBlocked int `json:"taskmanagers-blocked,omitempty"`
}

// JobOverview is one entry of GET /jobs/overview.
type JobOverview struct {
	ID               string         `json:"jid"`
	Name             string         `json:"name"`
	State            string         `json:"state"`
	StartTime        int64          `json:"start-time"`
	EndTime          int64          `json:"end-time"`
	Duration         int64          `json:"duration"`
	LastModification int64          `json:"last-modification"`
	Tasks            map[string]int `json:"tasks"`
	JobType          string         `json:"jobType,omitempty"`           // 1.20+
	PendingOperators *int           `json:"pending-operators,omitempty"` // 2.0+
	SchedulerType    string         `json:"schedulerType,omitempty"`     // 2.3+
}

// JobDetails is GET /jobs/:jobid (JobDetailsInfo).
type JobDetails struct {
	ID             string           `json:"jid"`
	Name           string           `json:"name"`
	IsStoppable    bool             `json:"isStoppable"`
	State          string           `json:"state"`
	StartTime      int64            `json:"start-time"`
	EndTime        int64            `json:"end-time"`
	Duration       int64            `json:"duration"`
	MaxParallelism int              `json:"maxParallelism"` // -1 unless set; use the vertex value
	Now            int64            `json:"now"`
	Timestamps     map[string]int64 `json:"timestamps"`
	Vertices       []JobVertex      `json:"vertices"`
	StatusCounts   map[string]int   `json:"status-counts"`
	Plan           Plan             `json:"plan"`
	// Fields of later versions; empty when the JobManager is older.
	JobType          string `json:"job-type,omitempty"`          // 1.20+
	PendingOperators *int   `json:"pending-operators,omitempty"` // 2.0+
	SchedulerType    string `json:"schedulerType,omitempty"`     // 2.3+
	ApplicationID    string `json:"application-id,omitempty"`    // 2.3+
}

// RunningSince is timestamps.RUNNING: when the current execution graph
// started running. It moves on every restart and rescale; ok is false while
// the job has not run yet.
func (j JobDetails) RunningSince() (t time.Time, ok bool) {
	ms := j.Timestamps[StateRunning]
	if ms <= 0 {
		return time.Time{}, false
	}
	return time.UnixMilli(ms).UTC(), true
}

// JobVertex is one entry of JobDetails.Vertices.
type JobVertex struct {
	ID             string         `json:"id"`
	Name           string         `json:"name"`
	MaxParallelism int            `json:"maxParallelism"`
	Parallelism    int            `json:"parallelism"`
	Status         string         `json:"status"`
	StartTime      int64          `json:"start-time"`
	EndTime        int64          `json:"end-time"`
	Duration       int64          `json:"duration"`
	Tasks          map[string]int `json:"tasks"`
	Metrics        IOMetrics      `json:"metrics"`
	// SlotSharingGroupID is sent by 1.20+, the group name by 2.3+.
	SlotSharingGroupID   string `json:"slotSharingGroupId,omitempty"`
	SlotSharingGroupName string `json:"slotSharingGroupName,omitempty"`
}

// IOMetrics is IOMetricsInfo: sums over the current attempts of subtasks.
// The accumulated times reset on every restart or rescale.
type IOMetrics struct {
	ReadBytes                    int64 `json:"read-bytes"`
	ReadBytesComplete            bool  `json:"read-bytes-complete"`
	WriteBytes                   int64 `json:"write-bytes"`
	WriteBytesComplete           bool  `json:"write-bytes-complete"`
	ReadRecords                  int64 `json:"read-records"`
	ReadRecordsComplete          bool  `json:"read-records-complete"`
	WriteRecords                 int64 `json:"write-records"`
	WriteRecordsComplete         bool  `json:"write-records-complete"`
	AccumulatedBackpressuredTime Float `json:"accumulated-backpressured-time"`
	AccumulatedIdleTime          Float `json:"accumulated-idle-time"`
	AccumulatedBusyTime          Float `json:"accumulated-busy-time"`
}

// Plan is the job plan (JsonPlanGenerator), embedded in JobDetails and
// served by GET /jobs/:jobid/plan.
type Plan struct {
	JobID string     `json:"jid"`
	Name  string     `json:"name"`
	Type  string     `json:"type"`
	Nodes []PlanNode `json:"nodes"`
}

// PlanNode is one vertex of the plan. Description is HTML-escaped.
type PlanNode struct {
	ID               string      `json:"id"`
	Parallelism      int         `json:"parallelism"`
	Operator         string      `json:"operator"`
	OperatorStrategy string      `json:"operator_strategy"`
	Description      string      `json:"description"`
	Inputs           []PlanInput `json:"inputs,omitempty"` // absent on sources in older versions
}

// PlanInput is one upstream edge of a plan node.
type PlanInput struct {
	Num           int    `json:"num"`
	ID            string `json:"id"`
	ShipStrategy  string `json:"ship_strategy"`
	Exchange      string `json:"exchange"`
	LocalStrategy string `json:"local_strategy,omitempty"`
	Caching       string `json:"caching,omitempty"`
}

// VertexDetails is GET /jobs/:jobid/vertices/:vertexid.
type VertexDetails struct {
	ID             string            `json:"id"`
	Name           string            `json:"name"`
	MaxParallelism int               `json:"maxParallelism"`
	Parallelism    int               `json:"parallelism"`
	Now            int64             `json:"now"`
	Subtasks       []Subtask         `json:"subtasks"`
	Aggregated     *VertexAggregated `json:"aggregated,omitempty"` // 1.16+
}

// Subtask is one subtask of VertexDetails. 1.18 sends Host, 1.19 and 1.20
// both Host and Endpoint, 2.0 only Endpoint; use Location.
type Subtask struct {
	Subtask                 int              `json:"subtask"`
	Status                  string           `json:"status"`
	Attempt                 int              `json:"attempt"`
	Host                    string           `json:"host,omitempty"`
	Endpoint                string           `json:"endpoint,omitempty"`
	StartTime               int64            `json:"start-time"`
	EndTime                 int64            `json:"end-time"`
	Duration                int64            `json:"duration"`
	Metrics                 IOMetrics        `json:"metrics"`
	TaskManagerID           string           `json:"taskmanager-id"`
	StatusDuration          map[string]int64 `json:"status-duration,omitempty"`
	OtherConcurrentAttempts []Subtask        `json:"other-concurrent-attempts,omitempty"`
}

// Location is where the subtask runs: Endpoint (host:port) when the
// JobManager sends it, else Host. "(unassigned)" for an unscheduled subtask.
func (s Subtask) Location() string {
	if s.Endpoint != "" {
		return s.Endpoint
	}
	return s.Host
}

// VertexAggregated is VertexDetails.aggregated.
type VertexAggregated struct {
	Metrics        map[string]Stats `json:"metrics"`
	StatusDuration map[string]Stats `json:"status-duration"`
}

// Stats is one aggregate over subtasks.
type Stats struct {
	Min    Float `json:"min"`
	Max    Float `json:"max"`
	Avg    Float `json:"avg"`
	Sum    Float `json:"sum"`
	Median Float `json:"median"`
	P25    Float `json:"p25"`
	P75    Float `json:"p75"`
	P95    Float `json:"p95"`
}

// TaskManager is one entry of GET /taskmanagers. ID is an arbitrary string
// (a pod name on native Kubernetes), not necessarily hex.
type TaskManager struct {
	ID                     string         `json:"id"`
	Path                   string         `json:"path"`
	DataPort               int            `json:"dataPort"`
	JMXPort                int            `json:"jmxPort"`
	TimeSinceLastHeartbeat int64          `json:"timeSinceLastHeartbeat"` // epoch ms despite the name
	SlotsNumber            int            `json:"slotsNumber"`
	FreeSlots              int            `json:"freeSlots"`
	TotalResource          Resource       `json:"totalResource"`
	FreeResource           Resource       `json:"freeResource"`
	Hardware               map[string]any `json:"hardware,omitempty"`
	MemoryConfiguration    map[string]any `json:"memoryConfiguration,omitempty"`
	Blocked                bool           `json:"blocked"`
}

// Idle reports whether no slot of the TaskManager is in use, so removing it
// loses no task.
func (t TaskManager) Idle() bool { return t.FreeSlots == t.SlotsNumber }

// Resource is a TaskManager resource profile; memory in bytes.
type Resource struct {
	CPUCores          Float            `json:"cpuCores"`
	TaskHeapMemory    int64            `json:"taskHeapMemory"`
	TaskOffHeapMemory int64            `json:"taskOffHeapMemory"`
	ManagedMemory     int64            `json:"managedMemory"`
	NetworkMemory     int64            `json:"networkMemory"`
	ExtendedResources map[string]Float `json:"extendedResources"`
}

// Bounds is one vertex's parallelism requirement. On PUT, -1 means 1 for
// Lower and the vertex max parallelism for Upper.
type Bounds struct {
	Lower int `json:"lowerBound"`
	Upper int `json:"upperBound"`
}

// MetricValue is one entry of a /metrics answer. Value is Flink's string
// form; without ?get it is empty (a listing).
type MetricValue struct {
	ID    string `json:"id"`
	Value string `json:"value,omitempty"`
}

// Float parses Value; ok is false for a non-numeric value such as "true".
func (m MetricValue) Float() (v float64, ok bool) {
	f, err := ParseFloat(m.Value)
	return f, err == nil
}

// AggregatedMetric is one entry of an aggregated subtasks/taskmanagers
// metrics answer. Only the requested aggregates are set.
type AggregatedMetric struct {
	ID   string `json:"id"`
	Min  *Float `json:"min,omitempty"`
	Max  *Float `json:"max,omitempty"`
	Avg  *Float `json:"avg,omitempty"`
	Sum  *Float `json:"sum,omitempty"`
	Skew *Float `json:"skew,omitempty"` // 1.20+
}

// Agg is an aggregation of subtask metrics.
type Agg string

// Aggregations; AggSkew needs Flink 1.20+.
const (
	AggMin  Agg = "min"
	AggMax  Agg = "max"
	AggAvg  Agg = "avg"
	AggSum  Agg = "sum"
	AggSkew Agg = "skew"
)
