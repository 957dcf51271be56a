package ingest

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flink"
)

// Subtask-scoped metric ids read for every vertex.
const (
	metricBusy          = "busyTimeMsPerSecond"
	metricIdle          = "idleTimeMsPerSecond"
	metricBackPressured = "backPressuredTimeMsPerSecond"
	metricRecordsIn     = "numRecordsInPerSecond"
	metricRecordsOut    = "numRecordsOutPerSecond"
	suffixPending       = ".pendingRecords"
	sourcePrefix        = "Source__"
)

// Names of snapshot fields, as they appear in Incomplete lists.
const (
	fieldBusy          = "busyMsPerSecond"
	fieldIdle          = "idleMsPerSecond"
	fieldBackPressured = "backPressuredMsPerSecond"
	fieldRecordsIn     = "recordsInPerSecond"
	fieldRecordsOut    = "recordsOutPerSecond"
	fieldPending       = "pendingRecords"
)

// metricAggs are the aggregations requested for every vertex.
var metricAggs = []flink.Agg{flink.AggAvg, flink.AggMax, flink.AggSum}

// wantMetric selects the subtask metric ids a snapshot needs.
func wantMetric(id string) bool {
	switch id {
	case metricBusy, metricIdle, metricBackPressured, metricRecordsIn, metricRecordsOut:
		return true
	}
	return strings.HasSuffix(id, suffixPending) ||
		(strings.HasPrefix(id, sourcePrefix) &&
			(strings.HasSuffix(id, "."+metricRecordsIn) || strings.HasSuffix(id, "."+metricRecordsOut)))
}

// jobData is everything read from a JobManager for one job in one poll.
type jobData struct {
	Cluster  string
	Details  flink.JobDetails
	Overview *flink.Overview // nil when the cluster overview could not be read
	// TaskManagerSlots is the registered TaskManagers' slot count and
	// idle TaskManagers; zero when unknown.
	TaskManagerSlots taskManagerSlots
	Vertices         map[string]vertexData
	ObservedAt       time.Time
	// Checkpoint is the latest completed checkpoint and CheckpointInterval
	// the periodic interval; nil and 0 when unknown or off.
	Checkpoint         *flink.Checkpoint
	CheckpointInterval time.Duration
}

// vertexData is one vertex's metric listing and aggregated values, or why
// they could not be read.
type vertexData struct {
	Names  []string
	Values map[string]flink.AggregatedMetric
	Err    error
}

// buildSnapshot turns one poll into a snapshot. It is pure: a value that is
// missing, NaN, infinite or negative stays nil, is named in the vertex's
// Incomplete list and makes the snapshot incomplete; nothing becomes zero.
func buildSnapshot(in jobData) events.Snapshot {
	d := in.Details
	s := events.Snapshot{
		Cluster: in.Cluster, JobID: d.ID, JobName: d.Name, JobState: d.State,
		ObservedAt: in.ObservedAt.UTC(), Vertices: []events.VertexSnapshot{},
	}
	if since, ok := d.RunningSince(); ok {
		s.RunningSince = &since
	}
	s.LastCheckpointAt, s.CheckpointIntervalMs = checkpointFields(in)
	s.LastCheckpointDurationMs = checkpointDuration(in.Checkpoint)
	if in.Overview != nil {
		s.TaskManagers, s.SlotsTotal, s.SlotsFree = in.Overview.TaskManagers, in.Overview.SlotsTotal, in.Overview.SlotsAvailable
		s.SlotsPerTaskManager = in.TaskManagerSlots.PerTaskManager
		s.IdleTaskManagers = in.TaskManagerSlots.Idle
		s.FlinkVersion = in.Overview.FlinkVersion
	} else {
		s.Incomplete = append(s.Incomplete, "cluster overview unavailable: taskManagers and slots unknown")
	}
	if d.State != flink.StateRunning {
		s.Incomplete = append(s.Incomplete, "job state "+d.State)
	}
	if len(d.Vertices) == 0 {
		s.Incomplete = append(s.Incomplete, "job has no vertices yet")
	}
	nodes := make(map[string]flink.PlanNode, len(d.Plan.Nodes))
	for _, n := range d.Plan.Nodes {
		nodes[n.ID] = n
	}
	for _, v := range topological(d.Vertices, nodes) {
		vs := buildVertex(v, nodes, in.Vertices[v.ID], d.State == flink.StateRunning)
		for _, f := range vs.Incomplete {
			s.Incomplete = append(s.Incomplete, fmt.Sprintf("vertex %s: %s", v.ID, f))
		}
		s.Vertices = append(s.Vertices, vs)
	}
	s.Complete = len(s.Incomplete) == 0
	return s
}

// checkpointDuration is c's time from its trigger to its last
// acknowledgement in ms (its end_to_end_duration when Flink sent no
// acknowledgement time); 0 when c is nil or neither is known.
func checkpointDuration(c *flink.Checkpoint) int64 {
	switch {
	case c == nil:
		return 0
	case c.TriggerTimestamp > 0 && c.LatestAckTimestamp >= c.TriggerTimestamp:
		return c.LatestAckTimestamp - c.TriggerTimestamp
	}
	return max(c.EndToEndDuration, 0)
}

// checkpointFields returns the latest checkpoint's last acknowledgement (its
// trigger time when Flink sent none) and the interval in ms.
func checkpointFields(in jobData) (*time.Time, int64) {
	ms := in.CheckpointInterval.Milliseconds()
	c := in.Checkpoint
	if c == nil {
		return nil, ms
	}
	at := c.LatestAckTimestamp
	if at <= 0 {
		at = c.TriggerTimestamp
	}
	if at <= 0 {
		return nil, ms
	}
	t := time.UnixMilli(at).UTC()
	return &t, ms
}

func buildVertex(v flink.JobVertex, nodes map[string]flink.PlanNode, data vertexData, running bool) events.VertexSnapshot {
	vs := events.VertexSnapshot{
		ID: v.ID, Name: v.Name, Parallelism: v.Parallelism, MaxParallelism: v.MaxParallelism,
		SlotSharingGroup: v.SlotSharingGroupID,
	}
	node, inPlan := nodes[v.ID]
	vs.IsSource = inPlan && len(node.Inputs) == 0
	for _, in := range node.Inputs {
		vs.Inputs = append(vs.Inputs, events.Input{ID: in.ID, ShipStrategy: in.ShipStrategy})
	}
	m := metrics{values: data.Values}
	vs.BusyMsPerSecond = m.avgMax(metricBusy, fieldBusy)
	vs.IdleMsPerSecond = m.avgMax(metricIdle, fieldIdle)
	vs.BackPressuredMsPerSecond = m.avgMax(metricBackPressured, fieldBackPressured)
	vs.RecordsInPerSecond = m.recordsIn(data.Names, vs.IsSource)
	vs.RecordsOutPerSecond = m.sum([]string{metricRecordsOut}, fieldRecordsOut)
	if vs.IsSource {
		vs.PendingRecords = m.pending(data.Names)
		vs.SourcePartitions = partitions(data.Names)
	}
	vs.Incomplete = m.missing
	switch {
	case !inPlan:
		vs.Incomplete = append(vs.Incomplete, "not in the job plan")
	case data.Err != nil:
		vs.Incomplete = append(vs.Incomplete, "metrics unavailable: "+flink.ErrorKind(data.Err))
	case running && v.Status != flink.StateRunning:
		vs.Incomplete = append(vs.Incomplete, "vertex status "+v.Status)
	}
	return vs
}

// metrics reads aggregated values, recording the fields it could not fill.
type metrics struct {
	values  map[string]flink.AggregatedMetric
	missing []string
}

// usable reports whether f is present, finite and not negative.
func usable(f *flink.Float) bool { return f != nil && f.Finite() && *f >= 0 }

func (m *metrics) avgMax(id, field string) *events.AvgMax {
	v, ok := m.values[id]
	if !ok || !usable(v.Avg) || !usable(v.Max) {
		m.missing = append(m.missing, field)
		return nil
	}
	return &events.AvgMax{Avg: float64(*v.Avg), Max: float64(*v.Max)}
}

// sum adds the sums of ids; any id without a usable sum makes it unknown.
func (m *metrics) sum(ids []string, field string) *float64 {
	total := 0.0
	for _, id := range ids {
		v, ok := m.values[id]
		if !ok || !usable(v.Sum) {
			m.missing = append(m.missing, field)
			return nil
		}
		total += float64(*v.Sum)
	}
	if len(ids) == 0 {
		m.missing = append(m.missing, field)
		return nil
	}
	return &total
}

// recordsIn is the vertex's input rate. A FLIP-27 source counts the records
// it reads in its operator-level Source__*.numRecordsInPerSecond (its task
// level counter is 0). A legacy SourceFunction counts none in at all (its
// operator is never handed a record): when that reads 0 while the source
// operator emits, what it emits (Source__*.numRecordsOutPerSecond) is
// what it read. Other vertices use the task-level meter.
func (m *metrics) recordsIn(names []string, source bool) *float64 {
	if source {
		ins, outs := sourceOps(names, metricRecordsIn), sourceOps(names, metricRecordsOut)
		if len(ins) > 0 {
			in := m.sum(ins, fieldRecordsIn)
			if in != nil && *in == 0 && len(outs) > 0 {
				if out := (&metrics{values: m.values}).sum(outs, fieldRecordsIn); out != nil && *out > 0 {
					return out
				}
			}
			return in
		}
	}
	return m.sum([]string{metricRecordsIn}, fieldRecordsIn)
}

// sourceOps are the source operators' metric ids ending in metric.
func sourceOps(names []string, metric string) []string {
	var ops []string
	for _, n := range names {
		if strings.HasPrefix(n, sourcePrefix) && strings.HasSuffix(n, "."+metric) {
			ops = append(ops, n)
		}
	}
	return ops
}

// pending sums every pendingRecords gauge of a source (FLINK-32102). A
// source that registers none (an idle topic, a connector without FLIP-33
// metrics) has no backlog figure; that is not incompleteness.
func (m *metrics) pending(names []string) *float64 {
	var ids []string
	for _, n := range names {
		if strings.HasSuffix(n, suffixPending) {
			ids = append(ids, n)
		}
	}
	if len(ids) == 0 {
		return nil
	}
	return m.sum(ids, fieldPending)
}

// partitions counts the distinct topic partitions a Kafka source reports
// offsets for; nil when the connector exposes none.
func partitions(names []string) *int {
	seen := map[string]bool{}
	for _, n := range names {
		if topic, partition, ok := partitionOf(n); ok {
			seen[topic+"/"+partition] = true
		}
	}
	if len(seen) == 0 {
		return nil
	}
	n := len(seen)
	return &n
}

// partitionOf parses the per-partition offset gauges Kafka sources expose
// (KafkaSource and the legacy FlinkKafkaConsumer):
// "….topic.<topic>.partition.<digits>.currentOffset" or "….currentOffsets".
// The topic runs from the first ".topic." to the last ".partition.", and
// is not empty.
func partitionOf(id string) (topic, partition string, ok bool) {
	rest, found := strings.CutSuffix(id, ".currentOffset")
	if !found {
		if rest, found = strings.CutSuffix(id, ".currentOffsets"); !found {
			return "", "", false
		}
	}
	const partitionSep, topicSep = ".partition.", ".topic."
	i := strings.LastIndex(rest, partitionSep)
	if i < 0 {
		return "", "", false
	}
	partition = rest[i+len(partitionSep):]
	if partition == "" || strings.TrimLeft(partition, "0123456789") != "" {
		return "", "", false
	}
	j := strings.Index(rest[:i], topicSep)
	if j < 0 || j+len(topicSep) == i {
		return "", "", false
	}
	return rest[j+len(topicSep) : i], partition, true
}

// topological orders vertices sources first (Kahn's algorithm over the
// plan's inputs), keeping the JobManager's order among ready vertices.
// Vertices in a cycle or with unknown inputs keep their place at the end.
func topological(vertices []flink.JobVertex, nodes map[string]flink.PlanNode) []flink.JobVertex {
	present := make(map[string]bool, len(vertices))
	for _, v := range vertices {
		present[v.ID] = true
	}
	done := make(map[string]bool, len(vertices))
	out := make([]flink.JobVertex, 0, len(vertices))
	for len(out) < len(vertices) {
		progressed := false
		for _, v := range vertices {
			if done[v.ID] || !inputsDone(nodes[v.ID], present, done) {
				continue
			}
			done[v.ID], progressed = true, true
			out = append(out, v)
		}
		if !progressed {
			break
		}
	}
	for _, v := range vertices {
		if !done[v.ID] {
			out = append(out, v)
		}
	}
	return out
}

func inputsDone(n flink.PlanNode, present, done map[string]bool) bool {
	return !slices.ContainsFunc(n.Inputs, func(in flink.PlanInput) bool {
		return present[in.ID] && !done[in.ID]
	})
}
