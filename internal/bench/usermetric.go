package bench

import (
	"fmt"
	"time"

	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
)

// lagExporter is a user's exporter of one source's backlog (a scenario
// source's lagMetric): every spec.Every it publishes what it reads outside
// Flink as a user metric event, name "lag" (docs/scenarios.md).
type lagExporter struct {
	vertex int // index in Job.Vertices (and GroundTruth.Vertices)
	name   string
	spec   flinksim.LagMetric
	next   time.Duration
}

// lagExporters are sc's sources that declare a lagMetric; sources is how
// many sources the job has (the offered rate splits evenly among them).
func lagExporters(sc *flinksim.Scenario) (out []lagExporter, sources int) {
	for i, v := range sc.Job.Vertices {
		if !v.IsSource() {
			continue
		}
		sources++
		if v.LagMetric != nil {
			out = append(out, lagExporter{vertex: i, name: v.Name, spec: *v.LagMetric})
		}
	}
	return out, sources
}

// publishLag publishes, at gt, every lag metric that is due, and merges it
// into the policy's state the way decide does with a metric event: the
// CloudEvent built as `flinkscaler publish` builds it, checked against its
// schema and subject, decoded, checked as decide checks it
// (events.CheckUserMetric, events.CheckMetricVertex against the job's
// sources in the last snapshot) and merged (policy.ObserveMetric). A
// metric decide would drop is an error: the scenario or the bench is
// wrong, and the run would not measure what it says.
func (d *driver) publishLag(gt *flinksim.GroundTruth) error {
	for k := range d.lags {
		x := &d.lags[k]
		if gt.Elapsed < x.next {
			continue
		}
		x.next = gt.Elapsed + x.spec.Every
		value, ok := x.read(gt, d.nsources)
		if !ok {
			continue
		}
		m := events.Metric{Cluster: cluster, Job: d.c.JobID(), Name: events.MetricLag, Value: value,
			Unit: x.spec.Unit, Vertex: x.name, ObservedAt: gt.Time}
		ev, err := events.New(events.TypeMetric, "bench", m.Cluster, m.Job, m)
		if err != nil {
			return fmt.Errorf("lag metric of %s: %w", x.name, err)
		}
		subject, err := events.SubjectOf(ev)
		if err == nil {
			err = events.Check(subject, ev)
		}
		if err == nil {
			m, err = events.Data[events.Metric](ev)
		}
		if err == nil {
			err = events.CheckUserMetric(m)
		}
		if err == nil {
			err = events.CheckMetricVertex(m, d.sources)
		}
		if err != nil {
			return fmt.Errorf("lag metric of %s at %s: %w", x.name, gt.Elapsed, err)
		}
		d.state = policy.ObserveMetric(d.state, m)
	}
	return nil
}

// read is the backlog the exporter sees at gt in its unit: the source's
// records waiting, or those ÷ its share of the offered rate (nsources
// sources split it evenly). ok is false when a time lag has no rate to
// divide by.
func (x *lagExporter) read(gt *flinksim.GroundTruth, nsources int) (float64, bool) {
	backlog := gt.Vertices[x.vertex].Backlog
	if x.spec.Unit == flinksim.LagRecords {
		return backlog, true
	}
	rate := gt.OfferedRate / float64(max(nsources, 1))
	if backlog <= 0 {
		return 0, true
	}
	if rate <= 0 {
		return 0, false
	}
	if x.spec.Unit == flinksim.LagMilliseconds {
		return 1000 * backlog / rate, true
	}
	return backlog / rate, true
}
