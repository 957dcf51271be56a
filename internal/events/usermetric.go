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
// the job's when it has one source. decide takes a source's backlog as the
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
	DropUnknownName = "unknown_name"
	DropUnknownUnit = "unknown_unit"
	DropBadValue    = "bad_value"
	DropStale       = "stale"
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
