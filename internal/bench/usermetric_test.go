package bench

import (
	"context"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
	"github.com/flinkscaler/flinkscaler/internal/scorecard"
)

// A source without pendingRecords whose busy time under-reads passes its
// ceiling at a load step with no restart to show it: Flink shows nothing
// of the backlog building outside it. With the user's lag exporter
// publishing the source's backlog as a user metric event (lagMetric), our
// policy reads the backlog growing, takes the source's read as its
// capacity (the observed true rate) and scales the source at the step;
// without it, it keeps the job as it is for the rest of the run while the
// lag grows past the SLO.
func TestUserLagMetricScalesASourceWithoutPendingRecords(t *testing.T) {
	scs, err := LoadScenarios([]string{"testdata/nopending-lagmetric.yaml"})
	require.NoError(t, err)
	sc := scs[0]
	src := sc.Job.Vertices[0]
	require.NotNil(t, src.LagMetric)

	with, err := Run(context.Background(), sc, Setting{Policy: policy.Name}, Options{})
	require.NoError(t, err)
	require.Equal(t, 0, with.Failed)
	s := with.Summary
	require.Less(t, s.MaxLagSeconds, sc.SLO.MaxLagSeconds, "%+v", s)
	require.Equal(t, 1, s.Rescales, "one scale-up at the step: %+v", s)
	// the first decision that changes a parallelism (the job's bounds
	// declared at what it runs at come before it, restarting nothing)
	i := slices.IndexFunc(with.Series.Decisions, func(m scorecard.Mark) bool { return strings.Contains(m.Rationale, "→ scale ") })
	require.GreaterOrEqual(t, i, 0, "no scale-up")
	up := with.Series.Decisions[i]
	require.Contains(t, up.Rationale, "Source: mqtt-bridge 1→")
	require.Contains(t, up.Rationale, "(the user's lag metric for Source: mqtt-bridge)")
	require.Greater(t, up.Elapsed, 10*time.Minute)

	blind := *sc
	blind.Job.Vertices = append([]flinksim.VertexSpec(nil), sc.Job.Vertices...)
	blind.Job.Vertices[0].LagMetric = nil
	without, err := Run(context.Background(), &blind, Setting{Policy: policy.Name}, Options{})
	require.NoError(t, err)
	require.Zero(t, without.Summary.Rescales, "%+v", without.Summary)
	require.Greater(t, without.Summary.MaxLagSeconds, 5*sc.SLO.MaxLagSeconds)
}

// The exporter reads the source's records waiting, or those ÷ its share
// of the offered rate in seconds or milliseconds; a time lag with no load
// to divide by is not published.
func TestLagExporterReads(t *testing.T) {
	gt := &flinksim.GroundTruth{OfferedRate: 20000, Vertices: []flinksim.VertexTruth{{Backlog: 30000}, {}}}
	read := func(unit string, rate float64) (float64, bool) {
		g := *gt
		g.OfferedRate = rate
		x := lagExporter{spec: flinksim.LagMetric{Unit: unit}}
		return x.read(&g, 2)
	}
	v, ok := read(flinksim.LagRecords, 20000)
	require.True(t, ok)
	require.Equal(t, 30000.0, v)
	v, _ = read(flinksim.LagSeconds, 20000)
	require.Equal(t, 3.0, v, "30k waiting at its half of 20k/s")
	v, _ = read(flinksim.LagMilliseconds, 20000)
	require.Equal(t, 3000.0, v)
	_, ok = read(flinksim.LagSeconds, 0)
	require.False(t, ok)
}
