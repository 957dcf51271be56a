package decider

import "github.com/prometheus/client_golang/prometheus"

// Metrics are decide's Prometheus metrics.
type Metrics struct {
	snapshots       prometheus.Counter
	metrics         prometheus.Counter
	decisions       prometheus.Counter
	holds           *prometheus.CounterVec
	rejectedSources prometheus.Counter
	droppedMetrics  *prometheus.CounterVec
	stateResets     prometheus.Counter
	results         *prometheus.CounterVec
	jobs            *jobGauges
}

// NewMetrics registers decide's metrics with reg.
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		snapshots: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "flinkscaler", Subsystem: "decide",
			Name: "snapshots_total", Help: "Snapshots run through the policy."}),
		metrics: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "flinkscaler", Subsystem: "decide",
			Name: "user_metrics_total", Help: "User metric events merged into job state."}),
		decisions: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "flinkscaler", Subsystem: "decide",
			Name: "decisions_total", Help: "Decisions published."}),
		holds: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "flinkscaler", Subsystem: "decide",
			Name: "holds_total", Help: "Snapshots that led to no decision, by kind."}, []string{"kind"}),
		rejectedSources: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "flinkscaler", Subsystem: "decide",
			Name: "metric_sources_rejected_total", Help: "User metric events from sources outside the allow-list."}),
		droppedMetrics: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "flinkscaler", Subsystem: "decide",
			Name: "user_metrics_dropped_total", Help: "User metric events decide does not use, by reason: unknown_name, unknown_unit, bad_value, unknown_vertex (also rejected to flinkscaler.rejected.decide), stale (older than the one held)."},
			[]string{"reason"}),
		stateResets: prometheus.NewCounter(prometheus.CounterOpts{Namespace: "flinkscaler", Subsystem: "decide",
			Name: "state_resets_total", Help: "Job state records that could not be read and were started afresh (the job's metric window is lost)."}),
		results: prometheus.NewCounterVec(prometheus.CounterOpts{Namespace: "flinkscaler", Subsystem: "decide",
			Name: "results_total", Help: "actuate's results read, by effect: ended (a pending decision actuate skipped, failed or applied in part: its in-flight wait ends), ignored (applied, which the snapshots show, or not the job's pending decision)."},
			[]string{"effect"}),
		jobs: newJobGauges(),
	}
	reg.MustRegister(m.snapshots, m.metrics, m.decisions, m.holds, m.rejectedSources, m.droppedMetrics, m.stateResets, m.results)
	reg.MustRegister(m.jobs.collectors()...)
	return m
}
