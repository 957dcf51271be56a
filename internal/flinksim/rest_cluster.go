package flinksim

// Cluster-level views: /overview, /config, /jobs, /jobs/overview,
// /taskmanagers (reference §5.1, §5.2, §5.9).

type clusterOverview struct {
	TaskManagers        int    `json:"taskmanagers"`
	SlotsTotal          int    `json:"slots-total"`
	SlotsAvailable      int    `json:"slots-available"`
	JobsRunning         int    `json:"jobs-running"`
	JobsFinished        int    `json:"jobs-finished"`
	JobsCancelled       int    `json:"jobs-cancelled"`
	JobsFailed          int    `json:"jobs-failed"`
	FlinkVersion        string `json:"flink-version"`
	FlinkCommit         string `json:"flink-commit"`
	SlotsFreeAndBlocked int    `json:"slots-free-and-blocked"`
	TaskManagersBlocked int    `json:"taskmanagers-blocked"`
}

func (c *Cluster) registeredTaskManagers() int {
	n := 0
	for _, tm := range c.tms {
		if tm.registered {
			n++
		}
	}
	return n
}

// jobsRunning counts the job as running in every non-terminal state, as
// Flink's cluster overview does.
func (c *Cluster) overview() clusterOverview {
	total := c.registeredSlots()
	return clusterOverview{
		TaskManagers: c.registeredTaskManagers(), SlotsTotal: total,
		SlotsAvailable: total - c.slotsInUse(), JobsRunning: 1,
		FlinkVersion: c.release(), FlinkCommit: flinkCommit,
	}
}

// release is the Flink release the REST API reports for the scenario's
// cluster.flinkVersion (FlinkVersion for 1.18).
func (c *Cluster) release() string {
	switch v := c.sc.Cluster.FlinkVersion; v {
	case Flink119, Flink120, Flink20:
		return v + ".1"
	}
	return FlinkVersion
}

type dashboardConfig struct {
	RefreshInterval int64           `json:"refresh-interval"`
	TimezoneName    string          `json:"timezone-name"`
	TimezoneOffset  int             `json:"timezone-offset"`
	FlinkVersion    string          `json:"flink-version"`
	FlinkRevision   string          `json:"flink-revision"`
	Features        map[string]bool `json:"features"`
}

func (c *Cluster) dashboardConfig() dashboardConfig {
	return dashboardConfig{
		RefreshInterval: webRefreshInterval.Milliseconds(),
		TimezoneName:    "Coordinated Universal Time",
		FlinkVersion:    c.release(),
		FlinkRevision:   flinkCommit + " @ 2024-01-12T12:00:00+01:00",
		Features:        map[string]bool{"web-submit": false, "web-cancel": false, "web-rescale": false, "web-history": false},
	}
}

type jobIDStatus struct {
	ID     string `json:"id"`
	Status string `json:"status"`
}

func (c *Cluster) jobIDs() map[string][]jobIDStatus {
	return map[string][]jobIDStatus{"jobs": {{ID: c.jobID, Status: c.sched.state}}}
}

type jobOverview struct {
	JID              string         `json:"jid"`
	Name             string         `json:"name"`
	StartTime        int64          `json:"start-time"`
	EndTime          int64          `json:"end-time"`
	Duration         int64          `json:"duration"`
	State            string         `json:"state"`
	LastModification int64          `json:"last-modification"`
	Tasks            map[string]int `json:"tasks"`
}

func (c *Cluster) jobsOverview() map[string][]jobOverview {
	counts := c.taskCounts()
	tasks := make(map[string]int, len(counts)+1)
	total := 0
	for k, n := range counts {
		tasks[lower(k)] = n
		total += n
	}
	tasks["total"] = total
	start := c.sched.timestamps["INITIALIZING"]
	return map[string][]jobOverview{"jobs": {{
		JID: c.jobID, Name: c.sc.Job.Name, StartTime: start, EndTime: -1,
		Duration: c.nowMs() - start, State: c.sched.state,
		LastModification: c.sched.timestamps[c.sched.state], Tasks: tasks,
	}}}
}

func lower(s string) string {
	b := []byte(s)
	for i, ch := range b {
		if ch >= 'A' && ch <= 'Z' {
			b[i] = ch + 'a' - 'A'
		}
	}
	return string(b)
}

type resourceProfile struct {
	CPUCores          jsonFloat      `json:"cpuCores"`
	TaskHeapMemory    int64          `json:"taskHeapMemory"`
	TaskOffHeapMemory int64          `json:"taskOffHeapMemory"`
	ManagedMemory     int64          `json:"managedMemory"`
	NetworkMemory     int64          `json:"networkMemory"`
	ExtendedResources map[string]any `json:"extendedResources"`
}

type taskManagerInfo struct {
	ID                     string           `json:"id"`
	Path                   string           `json:"path"`
	DataPort               int              `json:"dataPort"`
	JMXPort                int              `json:"jmxPort"`
	TimeSinceLastHeartbeat int64            `json:"timeSinceLastHeartbeat"`
	SlotsNumber            int              `json:"slotsNumber"`
	FreeSlots              int              `json:"freeSlots"`
	TotalResource          resourceProfile  `json:"totalResource"`
	FreeResource           resourceProfile  `json:"freeResource"`
	Hardware               map[string]int64 `json:"hardware"`
	MemoryConfiguration    map[string]int64 `json:"memoryConfiguration"`
	Blocked                bool             `json:"blocked"`
}

// The emulated TaskManager process: Flink's default 1728m process size
// split by its memory model (bytes).
var tmMemory = map[string]int64{
	"frameworkHeap": 134217728, "taskHeap": 402653174, "frameworkOffHeap": 134217728,
	"taskOffHeap": 0, "networkMemory": 134217730, "managedMemory": 536870920,
	"jvmMetaspace": 268435456, "jvmOverhead": 201326592,
	"totalFlinkMemory": 1342177280, "totalProcessMemory": 1811939328,
}

func (c *Cluster) taskManagersInfo() map[string][]taskManagerInfo {
	out := []taskManagerInfo{}
	heartbeat := c.nowMs()
	c.tmSlots(func(tm *taskManager, free int) {
		out = append(out, taskManagerInfo{
			ID:       tm.id,
			Path:     "pekko.tcp://flink@" + tmHost(tm) + ":6122/user/rpc/taskmanager_0",
			DataPort: 6121, JMXPort: -1, TimeSinceLastHeartbeat: heartbeat,
			SlotsNumber: c.sc.Cluster.SlotsPerTaskManager, FreeSlots: free,
			TotalResource: resourceProfile{ExtendedResources: map[string]any{}},
			FreeResource:  resourceProfile{ExtendedResources: map[string]any{}},
			Hardware: map[string]int64{
				"cpuCores": int64(c.sc.Cluster.SlotsPerTaskManager), "physicalMemory": tmMemory["totalProcessMemory"],
				"freeMemory": tmMemory["taskHeap"], "managedMemory": tmMemory["managedMemory"],
			},
			MemoryConfiguration: tmMemory,
		})
	})
	return map[string][]taskManagerInfo{"taskmanagers": out}
}

// tmHost is a TaskManager's emulated address.
func tmHost(tm *taskManager) string { return "10.0.0." + itoa(10+tm.seq%240) }
