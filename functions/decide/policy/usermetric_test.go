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
		return rationale(j, evaluation{candidate: candidate{ps: []int{3, 3}}}, []evaluation{{candidate: candidate{ps: []int{2, 3}}}}, load{}, restartCost{}, limits{})
	}
	require.Contains(t, rationaleWith(1.2e6), ", lag 30 s (the user's lag metric for src)")
	require.NotContains(t, rationaleWith(10), "user's lag metric")
}

// A user's time lag that its exporter updates once a minute (a Kinesis
// consumer's MillisBehindLatest, in ms) steps once a minute: a source
// reading 20k rec/s whose lag grew from 10 s to 16 s over the last minute
// shows the whole minute's growth (6 s × 20k = 120k records) between two
// samples 20 s apart, which read over those 20 s looks like a step up to
// 26k rec/s. The offered rate is read from the lag itself over the
// exporter's update period: 20k ÷ (1 − 6 s / 60 s) ≈ 22.2k (old code: 26k
// and "a step up read over the last 20s"). A report from before the run
// settled is not read (its growth holds the outage, and after a restart
// the backlog in records rises with the catch-up's read): until the run
// has two reports the source is read at what it reads.
func TestUserTimeLagOfferedFromItsGrowth(t *testing.T) {
	src := vtx("src", 2, 900, 20000, 20000)
	src.PendingRecords = nil
	snap := snapAt(300, src, vtx("map", 3, 700, 20000, 20000, "src"))
	window := func() []Sample {
		var w []Sample
		for sec := 80; sec <= 300; sec += 10 {
			lag := 10.0
			if sec == 300 {
				lag = 16
			}
			w = append(w, Sample{At: t0.Add(time.Duration(sec) * time.Second), Epoch: t0, Offered: 20000, V: []VertexSample{
				{P: 2, BusyMax: 0.9, BusyAvg: 0.9, In: 20000, Out: 20000, Pending: lag * 20000},
				{P: 3, BusyMax: 0.7, BusyAvg: 0.7, In: 20000, Out: 20000, Pending: -1},
			}})
		}
		return w
	}
	cfg := Defaults()
	cfg.Settle = MeterSettle
	observed := func(prevAt time.Duration) jobView {
		st := ObserveMetric(State{}, events.Metric{Name: "lag", Value: 10000, Unit: "ms", ObservedAt: t0.Add(prevAt)})
		st = ObserveMetric(st, events.Metric{Name: "lag", Value: 16000, Unit: "ms", ObservedAt: t0.Add(prevAt + time.Minute)})
		st.Epoch = t0
		st.Window = window()
		return observe(st, &snap, cfg)
	}
	j := observed(240 * time.Second)
	require.True(t, j.vs[0].userLag)
	require.True(t, j.vs[0].timeLag)
	require.InDelta(t, 20000/(1-6.0/60), j.offered, 1)
	r := rationale(j, evaluation{candidate: candidate{ps: []int{2, 4}}}, []evaluation{{candidate: candidate{ps: []int{2, 3}}}}, load{}, restartCost{}, limits{})
	require.NotContains(t, r, "a step up")

	early := observed(cfg.Settle - time.Second)
	require.True(t, early.vs[0].timeLag)
	require.InDelta(t, 20000, early.offered, 1, "the earlier report is from before the run settled")
}

// The offered rate a sample records (the load's history: the minutes, the
// volatility, the drift) reads a user's time lag the same way: a source
// catching up after a restart, its read rising from 10k to 30k rec/s
// while its lag fell from 20 s to 16 s over the exporter's minute, shows
// 480k records against 200k a minute before (lag × the rate read), a
// growth of 4.7k/s read as load (old code: 34.7k rec/s); the load is
// 30k ÷ (1 + 4 s / 60 s) ≈ 28.1k.
func TestUserTimeLagRecordedOffered(t *testing.T) {
	at := t0.Add(300 * time.Second)
	src := vtx("src", 2, 900, 30000, 30000)
	src.PendingRecords = nil
	snap := snapAt(300, src, vtx("map", 3, 700, 30000, 30000, "src"))
	st := ObserveMetric(State{}, events.Metric{Name: "lag", Value: 20000, Unit: "ms", ObservedAt: t0.Add(240 * time.Second)})
	st = ObserveMetric(st, events.Metric{Name: "lag", Value: 16000, Unit: "ms", ObservedAt: at})
	st.Epoch = t0
	for sec := 80; sec < 300; sec += 10 {
		st.Window = append(st.Window, Sample{At: t0.Add(time.Duration(sec) * time.Second), Epoch: t0, Offered: 10000, V: []VertexSample{
			{P: 2, BusyMax: 0.9, BusyAvg: 0.9, In: 10000, Out: 10000, Pending: 20 * 10000},
			{P: 3, BusyMax: 0.7, BusyAvg: 0.7, In: 10000, Out: 10000, Pending: -1},
		}})
	}
	cfg := Defaults()
	cfg.Settle = MeterSettle
	next, h := gateRecord(gateInput{snap: &snap, cfg: cfg, now: at}, st)
	require.Nil(t, h)
	last := next.Window[len(next.Window)-1]
	require.InDelta(t, 16*30000.0, last.V[0].Pending, 1)
	require.InDelta(t, 30000/(1+4.0/60), last.Offered, 1)
}
