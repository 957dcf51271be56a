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

// A user's lag metric that its exporter updates once a minute (the
// payments holdout's MillisBehindLatest, in ms) steps once a minute: a
// source reading 20k rec/s whose lag grew from 10 s to 16 s over the last
// minute shows the whole minute's growth (6 s × 20k = 120k records) between
// two samples 20 s apart. Read over those 20 s it looks like a step up to
// 26k rec/s; the load is what the minute shows, 20k ÷ (1 − 6 s / 60 s) ≈
// 22k. The offered rate of a source whose backlog is a user's metric is
// read over the rate window, never from the freshest samples (old code:
// "a step up read over the last 20s", 26k rec/s, and the scale-up sized
// for it).
func TestUserLagMetricStepNotAStepUp(t *testing.T) {
	at := t0.Add(300 * time.Second)
	src := vtx("src", 2, 900, 20000, 20000)
	src.PendingRecords = nil
	snap := snapAt(300, src, vtx("map", 3, 700, 20000, 20000, "src"))
	st := ObserveMetric(State{}, events.Metric{Name: "lag", Value: 16000, Unit: "ms", ObservedAt: at})
	st.Epoch = t0
	for sec := 80; sec <= 300; sec += 10 {
		lag := 10.0
		if sec == 300 {
			lag = 16
		}
		st.Window = append(st.Window, Sample{At: t0.Add(time.Duration(sec) * time.Second), Epoch: t0, Offered: 20000, V: []VertexSample{
			{P: 2, BusyMax: 0.9, BusyAvg: 0.9, In: 20000, Out: 20000, Pending: lag * 20000},
			{P: 3, BusyMax: 0.7, BusyAvg: 0.7, In: 20000, Out: 20000, Pending: -1},
		}})
	}
	cfg := Defaults()
	cfg.Settle = MeterSettle
	j := observe(st, &snap, cfg)
	require.True(t, j.vs[0].userLag)
	require.Less(t, j.offered, 23500.0, "offered over the minute, not the metric's step")
	require.Greater(t, j.offered, 20000.0, "the minute's growth is still load")
	r := rationale(j, evaluation{candidate: candidate{ps: []int{2, 4}}}, []evaluation{{candidate: candidate{ps: []int{2, 3}}}}, load{}, restartCost{})
	require.NotContains(t, r, "a step up")
}
