package ingest

import (
	"math"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flink"
	"github.com/stretchr/testify/require"
)

func fp(v float64) *flink.Float { f := flink.Float(v); return &f }

func agg(avg, max, sum float64) flink.AggregatedMetric {
	return flink.AggregatedMetric{Avg: fp(avg), Max: fp(max), Sum: fp(sum)}
}

// twoVertexJob is a source feeding a keyed sink, listed sink first so the
// snapshot has to sort them.
func twoVertexJob(state string) flink.JobDetails {
	return flink.JobDetails{
		ID: "j1", Name: "orders", State: state,
		Timestamps: map[string]int64{flink.StateRunning: 1718000001200},
		Vertices: []flink.JobVertex{
			{ID: "sink", Name: "enrich -> Sink: out", Parallelism: 4, MaxParallelism: 128, Status: flink.StateRunning},
			{ID: "src", Name: "Source: orders", Parallelism: 2, MaxParallelism: 128, Status: flink.StateRunning, SlotSharingGroupID: "g1"},
		},
		Plan: flink.Plan{Nodes: []flink.PlanNode{
			{ID: "sink", Inputs: []flink.PlanInput{{ID: "src", ShipStrategy: "HASH"}}},
			{ID: "src"},
		}},
	}
}

func fullMetrics() map[string]vertexData {
	common := map[string]flink.AggregatedMetric{
		metricBusy: agg(500, 700, 1000), metricIdle: agg(400, 500, 800), metricBackPressured: agg(100, 200, 200),
		metricRecordsIn: agg(10, 12, 40), metricRecordsOut: agg(5, 6, 20),
	}
	src := map[string]flink.AggregatedMetric{
		metricBusy: agg(300, 350, 600), metricIdle: agg(700, 800, 1400), metricBackPressured: agg(0, 0, 0),
		metricRecordsIn: agg(0, 0, 0), metricRecordsOut: agg(20, 25, 40),
		"Source__orders.numRecordsInPerSecond": agg(20, 25, 40),
		"Source__orders.pendingRecords":        agg(500, 600, 1000),
		"Source__orders.other.pendingRecords":  agg(5, 5, 10),
	}
	names := []string{"Source__orders.KafkaSourceReader.topic.t.partition.0.currentOffset",
		"Source__orders.KafkaSourceReader.topic.t.partition.1.currentOffset",
		"Source__orders.KafkaSourceReader.topic.u.partition.0.currentOffset"}
	for id := range src {
		names = append(names, id)
	}
	return map[string]vertexData{"sink": {Values: common}, "src": {Names: names, Values: src}}
}

func TestBuildSnapshot(t *testing.T) {
	observed := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	ov := &flink.Overview{TaskManagers: 4, SlotsTotal: 4, SlotsAvailable: 0}
	withSink := func(f func(map[string]flink.AggregatedMetric)) map[string]vertexData {
		m := fullMetrics()
		f(m["sink"].Values)
		return m
	}
	tests := []struct {
		name       string
		in         jobData
		complete   bool
		incomplete []string
		check      func(t *testing.T, s events.Snapshot)
	}{
		{
			name: "complete", in: jobData{Details: twoVertexJob(flink.StateRunning), Overview: ov, Vertices: fullMetrics()},
			complete: true,
			check: func(t *testing.T, s events.Snapshot) {
				require.Equal(t, "src", s.Vertices[0].ID, "sources first")
				src, sink := s.Vertices[0], s.Vertices[1]
				require.True(t, src.IsSource)
				require.False(t, sink.IsSource)
				require.Equal(t, []events.Input{{ID: "src", ShipStrategy: "HASH"}}, sink.Inputs)
				require.Equal(t, "g1", src.SlotSharingGroup)
				require.Equal(t, &events.AvgMax{Avg: 500, Max: 700}, sink.BusyMsPerSecond)
				require.InDelta(t, 40.0, *src.RecordsInPerSecond, 0, "operator-level source input")
				require.InDelta(t, 1010.0, *src.PendingRecords, 0, "all pendingRecords summed")
				require.Equal(t, 3, *src.SourcePartitions)
				require.Nil(t, sink.PendingRecords)
				require.Equal(t, time.UnixMilli(1718000001200).UTC(), *s.RunningSince)
				require.Equal(t, 4, s.TaskManagers)
			},
		},
		{
			name: "NaN busy time is nil, never zero",
			in: jobData{Details: twoVertexJob(flink.StateRunning), Overview: ov,
				Vertices: withSink(func(m map[string]flink.AggregatedMetric) { m[metricBusy] = agg(math.NaN(), 5, 5) })},
			incomplete: []string{"vertex sink: busyMsPerSecond"},
			check:      func(t *testing.T, s events.Snapshot) { require.Nil(t, s.Vertices[1].BusyMsPerSecond) },
		},
		{
			// Flink 1.20: a legacy SourceFunction's operator counts no
			// records in (StreamSource is never handed one) and its task
			// reports NaN busy time; what it emits is what it read.
			name: "legacy source: input from what its operator emits",
			in: jobData{Details: twoVertexJob(flink.StateRunning), Overview: ov, Vertices: func() map[string]vertexData {
				m := fullMetrics()
				src := m["src"]
				src.Values["Source__orders.numRecordsInPerSecond"] = agg(0, 0, 0)
				src.Values["Source__orders.numRecordsOutPerSecond"] = agg(30, 35, 60)
				src.Names = append(src.Names, "Source__orders.numRecordsOutPerSecond")
				m["src"] = src
				return m
			}()},
			complete: true,
			check: func(t *testing.T, s events.Snapshot) {
				require.InDelta(t, 60.0, *s.Vertices[0].RecordsInPerSecond, 0)
			},
		},
		{
			name: "idle source: nothing in, nothing out",
			in: jobData{Details: twoVertexJob(flink.StateRunning), Overview: ov, Vertices: func() map[string]vertexData {
				m := fullMetrics()
				src := m["src"]
				src.Values["Source__orders.numRecordsInPerSecond"] = agg(0, 0, 0)
				src.Values["Source__orders.numRecordsOutPerSecond"] = agg(0, 0, 0)
				src.Names = append(src.Names, "Source__orders.numRecordsOutPerSecond")
				m["src"] = src
				return m
			}()},
			complete: true,
			check: func(t *testing.T, s events.Snapshot) {
				require.InDelta(t, 0.0, *s.Vertices[0].RecordsInPerSecond, 0)
			},
		},
		{
			name: "missing and negative rates",
			in: jobData{Details: twoVertexJob(flink.StateRunning), Overview: ov,
				Vertices: withSink(func(m map[string]flink.AggregatedMetric) {
					delete(m, metricRecordsIn)
					m[metricRecordsOut] = agg(-1, -1, -4)
				})},
			incomplete: []string{"vertex sink: recordsInPerSecond", "vertex sink: recordsOutPerSecond"},
		},
		{
			name: "metrics fetch failed",
			in: jobData{Details: twoVertexJob(flink.StateRunning), Overview: ov,
				Vertices: map[string]vertexData{"src": fullMetrics()["src"], "sink": {Err: flink.ErrServer}}},
			incomplete: []string{"vertex sink: busyMsPerSecond", "vertex sink: idleMsPerSecond",
				"vertex sink: backPressuredMsPerSecond", "vertex sink: recordsInPerSecond",
				"vertex sink: recordsOutPerSecond", "vertex sink: metrics unavailable: server"},
		},
		{
			name:       "restarting job has no metrics",
			in:         jobData{Details: twoVertexJob(flink.StateRestarting), Overview: ov},
			incomplete: []string{"job state RESTARTING"},
			check: func(t *testing.T, s events.Snapshot) {
				require.Equal(t, flink.StateRestarting, s.JobState)
				require.Len(t, s.Vertices, 2)
				require.Nil(t, s.Vertices[0].BusyMsPerSecond)
			},
		},
		{
			name:       "no overview",
			in:         jobData{Details: twoVertexJob(flink.StateRunning), Vertices: fullMetrics()},
			incomplete: []string{"cluster overview unavailable: taskManagers and slots unknown"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.in.Cluster, tt.in.ObservedAt = "c1", observed
			s := buildSnapshot(tt.in)
			require.Equal(t, tt.complete, s.Complete)
			require.Equal(t, observed, s.ObservedAt)
			for _, want := range tt.incomplete {
				require.Contains(t, s.Incomplete, want)
			}
			if tt.complete {
				require.Empty(t, s.Incomplete)
			}
			if tt.check != nil {
				tt.check(t, s)
			}
		})
	}
}

func TestSnapshotOfSparseGraphIsIncomplete(t *testing.T) {
	s := buildSnapshot(jobData{Cluster: "c1", Details: flink.JobDetails{ID: "j", State: flink.StateCreated}})
	require.False(t, s.Complete)
	require.NotNil(t, s.Vertices, "vertices is an empty list, not null")
	require.Contains(t, s.Incomplete, "job has no vertices yet")
	require.Nil(t, s.RunningSince)
}

func TestTopologicalOrder(t *testing.T) {
	v := func(id string) flink.JobVertex { return flink.JobVertex{ID: id} }
	nodes := map[string]flink.PlanNode{
		"d": {ID: "d", Inputs: []flink.PlanInput{{ID: "b"}, {ID: "c"}}},
		"c": {ID: "c", Inputs: []flink.PlanInput{{ID: "a"}}},
		"b": {ID: "b", Inputs: []flink.PlanInput{{ID: "a"}}},
		"a": {ID: "a"},
	}
	got := topological([]flink.JobVertex{v("d"), v("c"), v("b"), v("a")}, nodes)
	var ids []string
	for _, g := range got {
		ids = append(ids, g.ID)
	}
	require.Equal(t, []string{"a", "c", "b", "d"}, ids)
}

func TestSnapshotCheckpointFields(t *testing.T) {
	ack := time.UnixMilli(1718003590540).UTC()
	tests := []struct {
		name     string
		cp       *flink.Checkpoint
		interval time.Duration
		wantAt   *time.Time
		wantMs   int64
		wantDur  int64
	}{
		{"latest completed and interval", &flink.Checkpoint{ID: 130, TriggerTimestamp: 1718003590000, LatestAckTimestamp: 1718003590540}, time.Minute, &ack, 60000, 540},
		{"no acknowledgement: the trigger time", &flink.Checkpoint{ID: 1, TriggerTimestamp: 1718003590540}, time.Minute, &ack, 60000, 0},
		{"end_to_end_duration only", &flink.Checkpoint{ID: 2, LatestAckTimestamp: 1718003590540, EndToEndDuration: 32000}, time.Minute, &ack, 60000, 32000},
		{"none completed yet", nil, time.Minute, nil, 60000, 0},
		{"checkpointing off", nil, 0, nil, 0, 0},
		{"no timestamps", &flink.Checkpoint{ID: 1}, time.Minute, nil, 60000, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s := buildSnapshot(jobData{Cluster: "c", Details: flink.JobDetails{ID: "j", State: flink.StateRunning},
				Checkpoint: tt.cp, CheckpointInterval: tt.interval, ObservedAt: ack})
			require.Equal(t, tt.wantAt, s.LastCheckpointAt)
			require.Equal(t, tt.wantMs, s.CheckpointIntervalMs)
			require.Equal(t, tt.wantDur, s.LastCheckpointDurationMs, "a restart restoring it replays from its trigger")
			require.NotContains(t, strings.Join(s.Incomplete, ";"), "checkpoint", "checkpoints are optional")
		})
	}
}

func TestSlotsPerTaskManager(t *testing.T) {
	tm := func(slots ...int) []flink.TaskManager {
		var out []flink.TaskManager
		for _, n := range slots {
			out = append(out, flink.TaskManager{SlotsNumber: n})
		}
		return out
	}
	tests := []struct {
		name string
		tms  []flink.TaskManager
		want int
	}{
		{"none registered", nil, 0},
		{"uniform", tm(4, 4, 4), 4},
		{"the most common", tm(2, 4, 4), 4},
		{"a tie takes the larger", tm(2, 4), 4},
		{"no slots reported", tm(0, 0), 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			require.Equal(t, tt.want, slotsPerTaskManager(tt.tms))
		})
	}
}

// offsetGaugeRE is the Kafka sources' per-partition offset gauge as a
// regular expression: the specification partitionOf implements.
var offsetGaugeRE = regexp.MustCompile(`\.topic\.(.+)\.partition\.(\d+)\.currentOffsets?$`)

func checkPartitionOf(t *testing.T, id string) {
	t.Helper()
	topic, partition, ok := partitionOf(id)
	sm := offsetGaugeRE.FindStringSubmatch(id)
	require.Equal(t, sm != nil, ok, "%q", id)
	if ok {
		require.Equal(t, [2]string{sm[1], sm[2]}, [2]string{topic, partition}, "%q", id)
	}
}

func TestPartitionOf(t *testing.T) {
	for _, id := range partitionIDs {
		checkPartitionOf(t, id)
	}
	topic, partition, ok := partitionOf("Source__bids.KafkaSourceReader.topic.bids.v2.partition.17.currentOffset")
	require.True(t, ok)
	require.Equal(t, "bids.v2", topic)
	require.Equal(t, "17", partition)
}

var partitionIDs = []string{
	"Source__orders.KafkaSourceReader.topic.t.partition.0.currentOffset",
	"Source__orders.KafkaConsumer.topic.t.partition.12.currentOffsets",
	"Source__orders.KafkaSourceReader.topic.t.partition.0.committedOffset",
	"Source__orders.KafkaSourceReader.topic.t.partition..currentOffset",
	"Source__orders.KafkaSourceReader.topic.t.partition.1a.currentOffset",
	"x.topic..partition.3.currentOffset",
	"a.topic.partition.5.currentOffset",
	"x.topic..topic.y.partition.1.currentOffset",
	"a.topic.t.partition.partition.5.currentOffset",
	"a.topic.t.partition.1.currentOffset.partition.2.currentOffset",
	".topic.t.partition.0.currentOffsets",
	"topic.t.partition.0.currentOffset",
	"busyTimeMsPerSecond",
	".currentOffset",
	"",
}

func FuzzPartitionOf(f *testing.F) {
	for _, id := range partitionIDs {
		f.Add(id)
	}
	f.Fuzz(checkPartitionOf)
}
