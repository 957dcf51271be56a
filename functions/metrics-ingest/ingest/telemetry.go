package ingest

import (
	"errors"
	"fmt"
	"maps"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/flinkscaler/flinkscaler/internal/function"
	"github.com/prometheus/client_golang/prometheus"
)

// Telemetry holds the Prometheus metrics of metrics-ingest and the health
// state behind /healthz, /readyz and /livez.
type Telemetry struct {
	reg       *prometheus.Registry
	polls     *prometheus.CounterVec
	errors    *prometheus.CounterVec
	duration  *prometheus.HistogramVec
	published *prometheus.CounterVec
	jobs      *prometheus.GaugeVec
	cycle     prometheus.Histogram
	up        *prometheus.GaugeVec
	lastCycle atomic.Int64 // unix nanos of the last finished cycle
	interval  time.Duration
	startedAt time.Time

	mu      sync.Mutex
	targets map[string]error // cluster → error of its last job listing (nil: answered)
}

// NewTelemetry registers the metrics on a fresh registry.
func NewTelemetry(interval time.Duration) *Telemetry {
	t := &Telemetry{
		reg: function.NewRegistry(), interval: interval, startedAt: time.Now(),
		polls: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flinkscaler_ingest_polls_total", Help: "Job polls by outcome: ok, incomplete, failed, gone.",
		}, []string{"cluster", "outcome"}),
		errors: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flinkscaler_ingest_errors_total", Help: "Failed Flink calls and publishes by kind, each try counted.",
		}, []string{"cluster", "kind"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "flinkscaler_ingest_poll_duration_seconds", Help: "Time to poll one job, retries included.",
			Buckets: prometheus.ExponentialBuckets(0.001, 2.5, 12),
		}, []string{"cluster"}),
		published: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flinkscaler_ingest_snapshots_published_total", Help: "Snapshots published, by completeness.",
		}, []string{"cluster", "complete"}),
		jobs: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "flinkscaler_ingest_jobs", Help: "Jobs this replica polls.",
		}, []string{"cluster"}),
		up: prometheus.NewGaugeVec(prometheus.GaugeOpts{
			Name: "flinkscaler_ingest_target_up", Help: "1 when the cluster's JobManager answered the last job listing, else 0.",
		}, []string{"cluster"}),
		targets: map[string]error{},
		cycle: prometheus.NewHistogram(prometheus.HistogramOpts{
			Name: "flinkscaler_ingest_cycle_duration_seconds", Help: "Time of one poll cycle over all owned jobs.",
			Buckets: prometheus.ExponentialBuckets(0.01, 2, 12),
		}),
	}
	t.reg.MustRegister(t.polls, t.errors, t.duration, t.published, t.jobs, t.cycle, t.up)
	return t
}

// Registry is where the metrics live, for tests and extra collectors.
func (t *Telemetry) Registry() *prometheus.Registry { return t.reg }

func (t *Telemetry) cycleDone(d time.Duration) {
	t.cycle.Observe(d.Seconds())
	t.lastCycle.Store(time.Now().UnixNano())
}

// Healthy reports whether a cycle finished within the last three intervals
// (or the replica started less than three intervals ago).
func (t *Telemetry) Healthy() bool {
	limit := 3 * t.interval
	last := t.lastCycle.Load()
	if last == 0 {
		return time.Since(t.startedAt) < limit
	}
	return time.Since(time.Unix(0, last)) < limit
}

// target records whether cluster's JobManager answered its job listing.
func (t *Telemetry) target(cluster string, err error) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.targets[cluster] = err
	t.up.WithLabelValues(cluster).Set(map[bool]float64{true: 1, false: 0}[err == nil])
}

// Ready reports nil while at least one Flink target answered its last job
// listing (or none has been tried yet), else why none can be polled.
func (t *Telemetry) Ready() error {
	t.mu.Lock()
	defer t.mu.Unlock()
	if len(t.targets) == 0 {
		return nil
	}
	var reasons []string
	for _, c := range slices.Sorted(maps.Keys(t.targets)) {
		if t.targets[c] == nil {
			return nil
		}
		reasons = append(reasons, c+": "+t.targets[c].Error())
	}
	return fmt.Errorf("no Flink target can be polled (0 of %d answered): %s", len(t.targets), strings.Join(reasons, "; "))
}

// Liveness is /livez: nil while poll cycles go on (restarting ingest would
// not make a JobManager answer).
func (t *Telemetry) Liveness() error {
	if !t.Healthy() {
		return errors.New("no poll cycle finished in the last three intervals")
	}
	return nil
}

// Health is /healthz and /readyz: poll cycles go on and at least one Flink
// target answers; with every target failing, ingest publishes nothing.
func (t *Telemetry) Health() error {
	if err := t.Liveness(); err != nil {
		return err
	}
	return t.Ready()
}
