package flinksim

import (
	"html"
	"strings"
)

// Execution-graph views: /jobs/:jobid, /plan, /vertices/:vertexid
// (reference §5.3–§5.5, §7.1).

// executionStates are Flink's ExecutionState names, every one a key of
// tasks and status-counts.
var executionStates = []string{
	"CREATED", "SCHEDULED", "DEPLOYING", "RUNNING", "FINISHED",
	"CANCELING", "CANCELED", "FAILED", "RECONCILING", "INITIALIZING",
}

type jobDetails struct {
	JID          string           `json:"jid"`
	Name         string           `json:"name"`
	IsStoppable  bool             `json:"isStoppable"`
	State        string           `json:"state"`
	StartTime    int64            `json:"start-time"`
	EndTime      int64            `json:"end-time"`
	Duration     int64            `json:"duration"`
	MaxParallel  int              `json:"maxParallelism"`
	Now          int64            `json:"now"`
	Timestamps   map[string]int64 `json:"timestamps"`
	Vertices     []jobVertex      `json:"vertices"`
	StatusCounts map[string]int   `json:"status-counts"`
	Plan         plan             `json:"plan"`
}

type jobVertex struct {
	ID             string         `json:"id"`
	Name           string         `json:"name"`
	MaxParallelism int            `json:"maxParallelism"`
	Parallelism    int            `json:"parallelism"`
	Status         string         `json:"status"`
	StartTime      int64          `json:"start-time"`
	EndTime        int64          `json:"end-time"`
	Duration       int64          `json:"duration"`
	Tasks          map[string]int `json:"tasks"`
	Metrics        ioMetrics      `json:"metrics"`
	// SlotSharingGroupID is shown from Flink 1.20 on.
	SlotSharingGroupID string `json:"slotSharingGroupId,omitempty"`
}

type ioMetrics struct {
	ReadBytes                    int64     `json:"read-bytes"`
	ReadBytesComplete            bool      `json:"read-bytes-complete"`
	WriteBytes                   int64     `json:"write-bytes"`
	WriteBytesComplete           bool      `json:"write-bytes-complete"`
	ReadRecords                  int64     `json:"read-records"`
	ReadRecordsComplete          bool      `json:"read-records-complete"`
	WriteRecords                 int64     `json:"write-records"`
	WriteRecordsComplete         bool      `json:"write-records-complete"`
	AccumulatedBackpressuredTime int64     `json:"accumulated-backpressured-time"`
	AccumulatedIdleTime          int64     `json:"accumulated-idle-time"`
	AccumulatedBusyTime          jsonFloat `json:"accumulated-busy-time"`
}

// graphParallelism is what /jobs/:jobid shows: the running or cancelling
// graph, or the submission-time parallelism of the sparse graph in CREATED.
func (c *Cluster) graphParallelism(v *vertex) int {
	if c.sched.state == StateCreated {
		return v.spec.Parallelism
	}
	return v.p
}

// vertexStatus is the execution state of every subtask of the graph shown,
// or "" when it has none (CREATED).
func (c *Cluster) vertexStatus() string {
	switch c.sched.state {
	case StateRunning:
		return "RUNNING"
	case StateRestarting:
		return "CANCELING"
	}
	return ""
}

// taskCounts is /jobs/overview's tasks: subtasks per execution state.
func (c *Cluster) taskCounts() map[string]int {
	counts := zeroCounts()
	if st := c.vertexStatus(); st != "" {
		for _, v := range c.vertices {
			counts[st] += v.p
		}
	}
	return counts
}

// vertexCounts is job details' status-counts: job vertices (not subtasks)
// per execution state, as real Flink counts them.
func (c *Cluster) vertexCounts() map[string]int {
	counts := zeroCounts()
	if st := c.vertexStatus(); st != "" {
		counts[st] = len(c.vertices)
	}
	return counts
}

func zeroCounts() map[string]int {
	m := make(map[string]int, len(executionStates))
	for _, s := range executionStates {
		m[s] = 0
	}
	return m
}

func (c *Cluster) jobDetails() any {
	now := c.nowMs()
	start := c.sched.timestamps["INITIALIZING"]
	d := jobDetails{
		JID: c.jobID, Name: c.sc.Job.Name, State: c.sched.state,
		StartTime: start, EndTime: -1, Duration: now - start, MaxParallel: -1, Now: now,
		Timestamps: c.sched.timestamps, StatusCounts: c.vertexCounts(), Plan: c.plan(),
		Vertices: make([]jobVertex, len(c.vertices)),
	}
	for i, v := range c.vertices {
		d.Vertices[i] = c.jobVertex(v, now)
	}
	return d
}

func (c *Cluster) jobVertex(v *vertex, now int64) jobVertex {
	jv := jobVertex{
		ID: v.id, Name: v.spec.Name, MaxParallelism: v.spec.MaxParallelism,
		Parallelism: c.graphParallelism(v), Status: "CREATED",
		StartTime: -1, EndTime: -1, Duration: -1, Tasks: zeroCounts(),
		Metrics: ioMetrics{ReadBytesComplete: true, WriteBytesComplete: true, ReadRecordsComplete: true, WriteRecordsComplete: true},
	}
	if c.showsSlotSharingGroup() {
		jv.SlotSharingGroupID = c.slotSharingGroupID(v)
	}
	st := c.vertexStatus()
	if st == "" {
		return jv
	}
	deployed := c.deployedAtMs()
	jv.Status, jv.Tasks[st] = st, v.p
	jv.StartTime, jv.Duration = deployed, now-deployed
	jv.Metrics = c.vertexIO(v)
	return jv
}

// deployedAtMs is when the current graph's tasks were deployed.
func (c *Cluster) deployedAtMs() int64 {
	return c.opts.Start.Add(c.sched.runningSince).UnixMilli()
}

// vertexIO sums the current attempts' counters as the metric fetcher last
// saw them (reference §5.3: sources read 0 records at task level).
func (c *Cluster) vertexIO(v *vertex) ioMetrics {
	m := ioMetrics{ReadBytesComplete: true, WriteBytesComplete: true, ReadRecordsComplete: true, WriteRecordsComplete: true}
	busy := 0.0
	for _, s := range c.fetched(v) {
		if !v.spec.IsSource() {
			m.ReadRecords += int64(s.recordsIn)
		}
		m.WriteRecords += int64(s.recordsOut)
		m.AccumulatedBackpressuredTime += int64(s.accBpMs)
		m.AccumulatedIdleTime += int64(s.accIdleMs)
		busy += s.accBusyMs
	}
	m.AccumulatedBusyTime = jsonFloat(busy)
	return m
}

type plan struct {
	JID   string     `json:"jid"`
	Name  string     `json:"name"`
	Type  string     `json:"type"`
	Nodes []planNode `json:"nodes"`
}

type planNode struct {
	ID                  string         `json:"id"`
	Parallelism         int            `json:"parallelism"`
	Operator            string         `json:"operator"`
	OperatorStrategy    string         `json:"operator_strategy"`
	Description         string         `json:"description"`
	Inputs              []planInput    `json:"inputs,omitempty"`
	OptimizerProperties map[string]any `json:"optimizer_properties"`
}

type planInput struct {
	Num          int    `json:"num"`
	ID           string `json:"id"`
	ShipStrategy string `json:"ship_strategy"`
	Exchange     string `json:"exchange"`
}

func (c *Cluster) plan() plan {
	p := plan{JID: c.jobID, Name: c.sc.Job.Name, Type: "STREAMING", Nodes: make([]planNode, len(c.vertices))}
	for i, v := range c.vertices {
		n := planNode{
			ID: v.id, Parallelism: c.graphParallelism(v),
			Description:         strings.ReplaceAll(html.EscapeString(v.spec.Name), "\n", "<br/>"),
			OptimizerProperties: map[string]any{},
		}
		for k, u := range v.inputs {
			strategy := "REBALANCE"
			if v.spec.Keyed {
				strategy = "HASH"
			}
			n.Inputs = append(n.Inputs, planInput{Num: k, ID: c.vertices[u].id, ShipStrategy: strategy, Exchange: "pipelined_bounded"})
		}
		p.Nodes[i] = n
	}
	return p
}

type vertexDetails struct {
	ID             string            `json:"id"`
	Name           string            `json:"name"`
	MaxParallelism int               `json:"maxParallelism"`
	Parallelism    int               `json:"parallelism"`
	Now            int64             `json:"now"`
	Subtasks       []subtaskDetails  `json:"subtasks"`
	Aggregated     aggregatedDetails `json:"aggregated"`
}

type subtaskDetails struct {
	Subtask        int              `json:"subtask"`
	Status         string           `json:"status"`
	Attempt        int              `json:"attempt"`
	Host           string           `json:"host"`
	StartTime      int64            `json:"start-time"`
	EndTime        int64            `json:"end-time"`
	Duration       int64            `json:"duration"`
	Metrics        ioMetrics        `json:"metrics"`
	TaskManagerID  string           `json:"taskmanager-id"`
	StatusDuration map[string]int64 `json:"status-duration"`
}

type aggregatedDetails struct {
	Metrics        map[string]map[string]int64 `json:"metrics"`
	StatusDuration map[string]map[string]int64 `json:"status-duration"`
}

func (c *Cluster) vertexDetails(i int) vertexDetails {
	v := c.vertices[i]
	now := c.nowMs()
	d := vertexDetails{
		ID: v.id, Name: v.spec.Name, MaxParallelism: v.spec.MaxParallelism,
		Parallelism: c.graphParallelism(v), Now: now, Subtasks: []subtaskDetails{},
	}
	st := c.vertexStatus()
	if st != "" {
		deployed := c.deployedAtMs()
		fetched := c.fetched(v)
		tmIDs := c.subtaskTaskManagers(i)
		for k := range v.p {
			d.Subtasks = append(d.Subtasks, subtaskDetails{
				Subtask: k, Status: st, Attempt: c.sched.attempt, Host: "10.0.0.1",
				StartTime: deployed, EndTime: -1, Duration: now - deployed,
				Metrics: subtaskIO(v, fetched, k), TaskManagerID: tmIDs[k],
				StatusDuration: map[string]int64{"CREATED": 0, "SCHEDULED": 0, "DEPLOYING": 0, "INITIALIZING": 0, "RUNNING": now - deployed},
			})
		}
	}
	d.Aggregated = aggregate(d.Subtasks)
	return d
}
