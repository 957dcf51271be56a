package flink

import (
	"context"
	"strings"
)

// SubtaskMetrics reads a vertex's subtask metrics safely around Flink's
// all-or-nothing rule (an aggregated request answers [] when any requested
// id has no value): it lists the ids first, keeps those keep accepts, and
// requests only them, aggregated with aggs. If the list went stale between
// the two calls (a rescale, a lazily registered metric) and the batch comes
// back empty, it asks for each id alone, so one missing id does not hide the
// others.
//
// names is the full listing (for callers that count ids, such as Kafka
// partitions); values holds the aggregates by id, without the ids that had
// no value.
func (c *Client) SubtaskMetrics(ctx context.Context, jobID, vertexID string, keep func(id string) bool, aggs ...Agg) (names []string, values map[string]AggregatedMetric, err error) {
	names, err = c.SubtaskMetricNames(ctx, jobID, vertexID)
	if err != nil {
		return nil, nil, err
	}
	var want []string
	for _, n := range names {
		if keep(n) {
			want = append(want, n)
		}
	}
	values = make(map[string]AggregatedMetric, len(want))
	if len(want) == 0 {
		return names, values, nil
	}
	got, err := c.AggregatedSubtaskMetrics(ctx, jobID, vertexID, want, aggs...)
	if err != nil {
		return nil, nil, err
	}
	if len(got) == 0 && len(want) > 1 {
		return names, values, c.oneByOne(ctx, jobID, vertexID, want, aggs, values)
	}
	for _, m := range got {
		values[m.ID] = m
	}
	return names, values, nil
}

func (c *Client) oneByOne(ctx context.Context, jobID, vertexID string, ids []string, aggs []Agg, into map[string]AggregatedMetric) error {
	for _, id := range ids {
		got, err := c.AggregatedSubtaskMetrics(ctx, jobID, vertexID, []string{id}, aggs...)
		if err != nil {
			return err
		}
		for _, m := range got {
			into[m.ID] = m
		}
	}
	return nil
}

// MetricName turns an operator or group name into the metric id component
// Flink uses: cut to 80 characters, then space, '.', ':' and ',' become '_'
// ("Source: orders" → "Source__orders").
func MetricName(name string) string {
	if r := []rune(name); len(r) > 80 {
		name = string(r[:80])
	}
	return strings.Map(func(r rune) rune {
		switch r {
		case ' ', '.', ':', ',':
			return '_'
		}
		return r
	}, name)
}
