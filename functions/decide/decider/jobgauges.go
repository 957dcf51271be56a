package decider

import (
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// jobGauges are the per-job gauges: what each job looks like in its latest
// snapshot and what decide last asked of it. Labels: cluster, job (the
// job's name) and, per vertex, vertex (the vertex's name). A job whose
// snapshot reports a terminal state (FINISHED, CANCELED, FAILED) loses its
// series. With several decide replicas, each exports the jobs it handled:
// aggregate with max by (cluster, job), or pick the freshest by
// flinkscaler_job_last_snapshot_timestamp_seconds.
type jobGauges struct {
	taskManagers, targetTaskManagers *prometheus.GaugeVec
	parallelism, targetParallelism   *prometheus.GaugeVec
	busy                             *prometheus.GaugeVec
	pending, lag                     *prometheus.GaugeVec
	lastSnapshot, lastDecision       *prometheus.GaugeVec

	mu sync.Mutex // orders a job's forget-and-set against another's
	// vertices are the vertex names each job's per-vertex snapshot series
	// carry, so forget deletes exactly those (a partial match of cluster
	// and job visits every job's series: one snapshot's work grew with the
	// jobs a replica had seen); g.mu guards it.
	vertices map[[2]string][]string
}

func newJobGauges() *jobGauges {
	job, vertex := []string{"cluster", "job"}, []string{"cluster", "job", "vertex"}
	g := func(name, help string, labels []string) *prometheus.GaugeVec {
		return prometheus.NewGaugeVec(prometheus.GaugeOpts{Namespace: "flinkscaler", Subsystem: "job", Name: name, Help: help}, labels)
	}
	return &jobGauges{
		taskManagers:       g("taskmanagers", "TaskManagers registered with the job's JobManager, in its latest snapshot.", job),
		targetTaskManagers: g("target_taskmanagers", "TaskManagers the latest decision asked for.", job),
		parallelism:        g("vertex_parallelism", "A vertex's parallelism in the latest snapshot.", vertex),
		targetParallelism:  g("vertex_target_parallelism", "A vertex's parallelism the latest decision asked for.", vertex),
		busy:               g("vertex_busy_ratio", "A vertex's busy time (0-1), average over its subtasks, in the latest snapshot.", vertex),
		pending:            g("pending_records", "Records waiting in the job's sources (Flink's pendingRecords), in the latest snapshot.", job),
		lag:                g("lag_seconds", "Pending records divided by the rate the sources emit: seconds to drain at the current rate.", job),
		lastSnapshot:       g("last_snapshot_timestamp_seconds", "When the latest snapshot was observed (Unix seconds).", job),
		lastDecision:       g("last_decision_timestamp_seconds", "When decide last decided for the job (Unix seconds); age = time() - this.", job),
		vertices:           map[[2]string][]string{},
	}
}

func (g *jobGauges) collectors() []prometheus.Collector {
	return []prometheus.Collector{g.taskManagers, g.targetTaskManagers, g.parallelism, g.targetParallelism,
		g.busy, g.pending, g.lag, g.lastSnapshot, g.lastDecision}
}

// terminal job states: their series go.
var terminal = map[string]bool{"FINISHED": true, "CANCELED": true, "FAILED": true}

// observe sets the gauges from a snapshot.
func (g *jobGauges) observe(s events.Snapshot) {
	key := [2]string{s.Cluster, s.JobName}
	g.mu.Lock()
	defer g.mu.Unlock()
	g.forget(key)
	if terminal[s.JobState] {
		return
	}
	g.taskManagers.WithLabelValues(s.Cluster, s.JobName).Set(float64(s.TaskManagers))
	g.lastSnapshot.WithLabelValues(s.Cluster, s.JobName).Set(float64(s.ObservedAt.UnixMilli()) / 1000)
	var pending, out float64
	names := make([]string, 0, len(s.Vertices))
	for _, v := range s.Vertices {
		names = append(names, v.Name)
		g.parallelism.WithLabelValues(s.Cluster, s.JobName, v.Name).Set(float64(v.Parallelism))
		if v.BusyMsPerSecond != nil {
			g.busy.WithLabelValues(s.Cluster, s.JobName, v.Name).Set(v.BusyMsPerSecond.Avg / 1000)
		}
		if v.IsSource && v.PendingRecords != nil {
			pending += *v.PendingRecords
			if v.RecordsOutPerSecond != nil {
				out += *v.RecordsOutPerSecond
			}
		}
	}
	g.vertices[key] = names
	g.pending.WithLabelValues(s.Cluster, s.JobName).Set(pending)
	if out > 0 {
		g.lag.WithLabelValues(s.Cluster, s.JobName).Set(pending / out)
	}
}

// decided sets the targets of a decision.
func (g *jobGauges) decided(d *events.Decision, at time.Time) {
	g.mu.Lock()
	defer g.mu.Unlock()
	g.targetTaskManagers.WithLabelValues(d.Cluster, d.JobName).Set(float64(d.TaskManagers.Target))
	g.lastDecision.WithLabelValues(d.Cluster, d.JobName).Set(float64(at.UnixMilli()) / 1000)
	for _, v := range d.Vertices {
		g.targetParallelism.WithLabelValues(d.Cluster, d.JobName, v.Name).Set(float64(v.Target))
	}
}

// forget drops the snapshot series of a job, so a vertex gone from the job
// loses its series; g.mu is held.
func (g *jobGauges) forget(key [2]string) {
	for _, name := range g.vertices[key] {
		for _, v := range []*prometheus.GaugeVec{g.parallelism, g.busy} {
			v.DeleteLabelValues(key[0], key[1], name)
		}
	}
	delete(g.vertices, key)
	labels := prometheus.Labels{"cluster": key[0], "job": key[1]}
	for _, v := range []*prometheus.GaugeVec{g.taskManagers, g.pending, g.lag, g.lastSnapshot} {
		v.Delete(labels)
	}
}
