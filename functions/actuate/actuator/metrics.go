package actuator

import (
	"time"

	"github.com/prometheus/client_golang/prometheus"
)

// Metrics are actuate's Prometheus metrics.
type Metrics struct {
	actuations *prometheus.CounterVec
	steps      *prometheus.HistogramVec
}

// NewMetrics creates the metrics and registers them with reg (nil: not
// registered).
func NewMetrics(reg prometheus.Registerer) *Metrics {
	m := &Metrics{
		actuations: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "flinkscaler_actuate_actuations_total",
			Help: "Decisions handled, by outcome (applied, skipped, failed, partial, retried).",
		}, []string{"outcome"}),
		steps: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name:    "flinkscaler_actuate_step_duration_seconds",
			Help:    "Duration of actuation steps, by step and status.",
			Buckets: []float64{0.01, 0.05, 0.1, 0.5, 1, 2, 5, 10, 20, 30, 60, 120, 300},
		}, []string{"step", "status"}),
	}
	if reg != nil {
		reg.MustRegister(m.actuations, m.steps)
	}
	return m
}

func (m *Metrics) actuation(outcome string) { m.actuations.WithLabelValues(outcome).Inc() }

func (m *Metrics) step(name, status string, d time.Duration) {
	m.steps.WithLabelValues(name, status).Observe(d.Seconds())
}
