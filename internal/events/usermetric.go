package events

import (
	"errors"
	"fmt"
	"math"
	"strings"
)

// The user metrics decide uses. A metric event (TypeMetric) may carry any
// name for other consumers; decide acts on these, for a source vertex:
//
//	lag, pendingRecords   the records waiting to be read by a source (a
//	                      Kafka consumer group's lag, say). Unit "records"
//	                      (the default), or "seconds"/"s" or
//	                      "milliseconds"/"ms" of lag, which decide turns
//	                      into records with the source's current input rate.
//
// With Vertex (a source vertex's id or name) it is that source's; without,
// the job's when it has one source. A Vertex that is not one of the job's
// sources, or none for a job with several, is dropped (CheckMetricVertex). decide takes a source's backlog as the
// larger of Flink's pendingRecords and this metric, within the policy's
// metricWindow of the snapshot. Anything else is dropped: counted by
// reason and rejected (flinkscaler.rejected.decide) with the reason.
const (
	MetricLag            = "lag"
	MetricPendingRecords = "pendingRecords"
)

// Reasons a user metric is dropped, as labels of
// flinkscaler_decide_user_metrics_dropped_total.
const (
	DropUnknownName   = "unknown_name"
	DropUnknownUnit   = "unknown_unit"
	DropBadValue      = "bad_value"
	DropUnknownVertex = "unknown_vertex"
	DropStale         = "stale"
)

// maxBacklog bounds a backlog value, in records or seconds.
const maxBacklog = 1e12

// ErrMetricUnused wraps why decide drops a user metric; it is an ErrInvalid.
var ErrMetricUnused = fmt.Errorf("%w: user metric not used by decide", ErrInvalid)

// MetricDropError says why a metric is dropped; Reason is a Drop* label.
type MetricDropError struct {
	Reason string
	Detail string
}

func (e *MetricDropError) Error() string { return ErrMetricUnused.Error() + ": " + e.Detail }

// Unwrap makes the error ErrMetricUnused (and so ErrInvalid).
func (e *MetricDropError) Unwrap() error { return ErrMetricUnused }

// DropReason returns the Drop* reason of err, or "" when it is none.
func DropReason(err error) string {
	var de *MetricDropError
	if errors.As(err, &de) {
		return de.Reason
	}
	return ""
}

// unitScale maps a backlog unit to seconds per unit; 0 means records.
var unitScale = map[string]float64{"": 0, "records": 0, "record": 0,
	"s": 1, "second": 1, "seconds": 1, "ms": 0.001, "millisecond": 0.001, "milliseconds": 0.001}

// CheckUserMetric returns nil when decide uses m, else a *MetricDropError
// saying why not.
func CheckUserMetric(m Metric) error {
	drop := func(reason, format string, args ...any) error {
		return &MetricDropError{Reason: reason, Detail: fmt.Sprintf(format, args...)}
	}
	if !strings.EqualFold(m.Name, MetricLag) && !strings.EqualFold(m.Name, MetricPendingRecords) {
		return drop(DropUnknownName, "name %q: decide uses %s and %s (a source's backlog)", m.Name, MetricLag, MetricPendingRecords)
	}
	if _, ok := unitScale[strings.ToLower(m.Unit)]; !ok {
		return drop(DropUnknownUnit, "unit %q of %s: use records (the default), seconds or ms", m.Unit, m.Name)
	}
	if math.IsNaN(m.Value) || math.IsInf(m.Value, 0) || m.Value < 0 || m.Value > maxBacklog {
		return drop(DropBadValue, "value %g of %s: want a backlog from 0 to %g", m.Value, m.Name, maxBacklog)
	}
	return nil
}

// LagSecondsPerUnit is the seconds of lag one unit of a backlog metric
// stands for; 0 for a backlog in records (or an unknown unit).
func LagSecondsPerUnit(unit string) float64 {
	return unitScale[strings.ToLower(unit)]
}

// BacklogRecords is the records a backlog metric m stands for at a source
// reading inRate records/s: the value itself in records, or the lag in
// time times the rate.
func BacklogRecords(m Metric, inRate float64) float64 {
	scale := unitScale[strings.ToLower(m.Unit)]
	if scale == 0 {
		return m.Value
	}
	return m.Value * scale * math.Max(inRate, 0)
}

// SourceVertex names one of a job's source vertices.
type SourceVertex struct {
	ID   string `json:"id"`
	Name string `json:"name"`
}

// SourcesOf lists the source vertices of snap.
func SourcesOf(snap Snapshot) []SourceVertex {
	var out []SourceVertex
	for _, v := range snap.Vertices {
		if v.IsSource {
			out = append(out, SourceVertex{ID: v.ID, Name: v.Name})
		}
	}
	return out
}

// CheckMetricVertex returns nil when m's Vertex names one of sources (by
// id or name), or m names none and the job has exactly one source; else a
// *MetricDropError (DropUnknownVertex) naming the job's sources. With no
// sources known (no snapshot of the job read yet) it cannot tell: nil.
func CheckMetricVertex(m Metric, sources []SourceVertex) error {
	if len(sources) == 0 {
		return nil
	}
	names := make([]string, len(sources))
	for i, s := range sources {
		if m.Vertex != "" && (m.Vertex == s.ID || m.Vertex == s.Name) {
			return nil
		}
		names[i] = fmt.Sprintf("%q (%s)", s.Name, s.ID)
	}
	if m.Vertex == "" && len(sources) == 1 {
		return nil
	}
	detail := fmt.Sprintf("vertex %q of %s is not a source of job %s: its sources are %s (a backlog metric is a source's)",
		m.Vertex, m.Name, m.Job, strings.Join(names, ", "))
	if m.Vertex == "" {
		detail = fmt.Sprintf("%s names no vertex, and job %s has %d sources: name one with its id or name (%s)",
			m.Name, m.Job, len(sources), strings.Join(names, ", "))
	}
	return &MetricDropError{Reason: DropUnknownVertex, Detail: detail}
}
