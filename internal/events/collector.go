package events

import "github.com/prometheus/client_golang/prometheus"

// runnerCollector exports a runner's counters to Prometheus.
type runnerCollector struct {
	r     *Runner
	descs [6]*prometheus.Desc
}

// Collector returns a Prometheus collector of the runner's counters:
// flinkscaler_events_{handled,published,rejected,retried,ack_errors,superseded}_total,
// labelled with the function.
func (r *Runner) Collector() prometheus.Collector {
	c := &runnerCollector{r: r}
	names := [6]string{"handled", "published", "rejected", "retried", "ack_errors", "superseded"}
	help := [6]string{
		"Messages settled by the consumer runner.",
		"Events published by handlers.",
		"Messages rejected to flinkscaler.rejected.<function>.",
		"Transient failures redelivered with backoff.",
		"Acks, naks or terms that failed (the message is redelivered).",
		"Messages skipped unhandled because a newer one on their subject was stored (a backlog of snapshots).",
	}
	for i, n := range names {
		c.descs[i] = prometheus.NewDesc("flinkscaler_events_"+n+"_total", help[i], nil,
			prometheus.Labels{"function": r.cfg.Function})
	}
	return c
}

func (c *runnerCollector) Describe(ch chan<- *prometheus.Desc) {
	for _, d := range c.descs {
		ch <- d
	}
}

func (c *runnerCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.r.Stats()
	for i, v := range [6]uint64{s.Handled, s.Published, s.Rejected, s.Retried, s.AckErrors, s.Superseded} {
		ch <- prometheus.MustNewConstMetric(c.descs[i], prometheus.CounterValue, float64(v))
	}
}
