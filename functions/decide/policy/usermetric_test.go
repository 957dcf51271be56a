package policy

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// A user's backlog metric is the source's pending records when it is the
// larger (also when Flink reports pendingRecords, as the emulator's sources
// do), in records or converted from seconds of lag at the source's input
// rate; a smaller one leaves Flink's figure.
func TestUserBacklogMetric(t *testing.T) {
	at := t0.Add(80 * time.Second)
	snap := snapAt(80, vtx("src", 2, 900, 40000, 40000), vtx("counter", 3, 750, 40000, 0, "src"))
	snap.Vertices[0].PendingRecords = ptr(1000.0)
	for _, tt := range []struct {
		name string
		m    events.Metric
		want float64
	}{
		{"records, larger than Flink's", events.Metric{Name: "lag", Value: 1200000, Unit: "records"}, 1200000},
		{"no unit is records", events.Metric{Name: "pendingRecords", Value: 5000}, 5000},
		{"seconds of lag at 40k records/s", events.Metric{Name: "lag", Value: 30, Unit: "seconds"}, 1200000},
		{"milliseconds", events.Metric{Name: "LAG", Value: 500, Unit: "ms"}, 20000},
		{"smaller than Flink's", events.Metric{Name: "lag", Value: 10}, 1000},
		{"for the source by name", events.Metric{Name: "lag", Value: 7000, Vertex: "src"}, 7000},
		{"negative: not used", events.Metric{Name: "lag", Value: -5}, 1000},
		{"unknown unit: not used", events.Metric{Name: "lag", Value: 9e6, Unit: "ms/s"}, 1000},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := tt.m
			m.ObservedAt = at
			st := ObserveMetric(State{}, m)
			g := gateInput{snap: &snap, cfg: Defaults(), now: at}
			require.InDelta(t, tt.want, sampleVertices(g, st, sourcesOf(&snap))[0].Pending, 1e-6)
		})
	}
}

// A source's backlog taken from a user's lag metric (larger than Flink's,
// or where Flink reports none) is named in the rationale, so a reader
// knows what the lag was read from; Flink's own pendingRecords is not.
func TestUserLagMetricNamedInRationale(t *testing.T) {
	at := t0.Add(80 * time.Second)
	snap := snapAt(80, vtx("src", 2, 900, 40000, 40000), vtx("counter", 3, 750, 40000, 0, "src"))
	snap.Vertices[0].PendingRecords = ptr(1000.0)
	rationaleWith := func(lag float64) string {
		st := ObserveMetric(State{}, events.Metric{Name: "lag", Value: lag, ObservedAt: at})
		g := gateInput{snap: &snap, cfg: Defaults(), now: at}
		st.Window = []Sample{{At: at, V: sampleVertices(g, st, sourcesOf(&snap))}}
		j := observe(st, &snap, g.cfg)
		return rationale(j, evaluation{candidate: candidate{ps: []int{3, 3}}}, []evaluation{{candidate: candidate{ps: []int{2, 3}}}}, load{}, restartCost{})
	}
	require.Contains(t, rationaleWith(1.2e6), ", lag 30 s (the user's lag metric for src)")
	require.NotContains(t, rationaleWith(10), "user's lag metric")
}
