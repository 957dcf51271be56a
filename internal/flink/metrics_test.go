package flink

import (
	"context"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
)

const vertexID = "cbc357ccb763df2852fee8c4fc7d55f2"

func TestSubtaskMetricsListsBeforeAggregating(t *testing.T) {
	base := "GET /jobs/" + jobID + "/vertices/" + vertexID + "/subtasks/metrics"
	listing := `[{"id":"busyTimeMsPerSecond"},{"id":"isBackPressured"},{"id":"Source__orders.pendingRecords"},
		{"id":"Source__orders.KafkaSourceReader.topic.t.partition.0.currentOffset"}]`
	tests := []struct {
		name   string
		routes map[string]route
		want   map[string]float64 // id → max
	}{
		{
			name: "all listed ids answer",
			routes: map[string]route{
				base: {200, listing},
				base + "?agg=avg%2Cmax&get=busyTimeMsPerSecond%2CSource__orders.pendingRecords": {200,
					`[{"id":"busyTimeMsPerSecond","avg":850.5,"max":912.0},{"id":"Source__orders.pendingRecords","avg":30105.0,"max":"NaN"}]`},
			},
			want: map[string]float64{"busyTimeMsPerSecond": 912},
		},
		{
			name: "stale listing: batch empty, one by one",
			routes: map[string]route{
				base: {200, listing},
				base + "?agg=avg%2Cmax&get=busyTimeMsPerSecond%2CSource__orders.pendingRecords": {200, `[]`},
				base + "?agg=avg%2Cmax&get=busyTimeMsPerSecond":                                 {200, `[{"id":"busyTimeMsPerSecond","avg":800,"max":900}]`},
				base + "?agg=avg%2Cmax&get=Source__orders.pendingRecords":                       {200, `[]`},
			},
			want: map[string]float64{"busyTimeMsPerSecond": 900},
		},
	}
	keep := func(id string) bool {
		return id == "busyTimeMsPerSecond" || strings.HasSuffix(id, ".pendingRecords")
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := wireServer(t, tt.routes)
			c := newTestClient(t, srv.URL, Options{})
			names, values, err := c.SubtaskMetrics(context.Background(), jobID, vertexID, keep, AggAvg, AggMax)
			require.NoError(t, err)
			require.Len(t, names, 4)
			for id, max := range tt.want {
				require.NotNil(t, values[id].Max)
				require.InDelta(t, max, float64(*values[id].Max), 1e-9)
			}
			if p, ok := values["Source__orders.pendingRecords"]; ok {
				require.False(t, p.Max.Finite())
			}
		})
	}
}

func TestSubtaskMetricsSkipsRequestWhenNothingWanted(t *testing.T) {
	var calls atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		calls.Add(1)
		_, _ = w.Write([]byte(`[]`))
	}))
	t.Cleanup(srv.Close)
	names, values, err := newTestClient(t, srv.URL, Options{}).SubtaskMetrics(context.Background(), jobID, vertexID, func(string) bool { return true })
	require.NoError(t, err)
	require.Empty(t, names)
	require.Empty(t, values)
	require.Equal(t, int32(1), calls.Load())
}

func TestMetricName(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Source: orders", "Source__orders"},
		{"Slow Map (Backpressure)", "Slow_Map_(Backpressure)"},
		{"a.b,c", "a_b_c"},
		{strings.Repeat("x", 90), strings.Repeat("x", 80)},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) { require.Equal(t, tt.want, MetricName(tt.in)) })
	}
}
