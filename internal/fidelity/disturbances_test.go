package fidelity

import (
	"context"
	"encoding/json"
	"net/http/httptest"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/clock"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
	"github.com/flinkscaler/flinkscaler/internal/sandbox"
)

const disturbanceFile = "testdata/disturbances.yaml"

func disturbanceProbe(sc *flinksim.Scenario) *DisturbanceProbe {
	return &DisturbanceProbe{Sc: sc, Vertex: "work", SaturateAt: 150 * time.Second}
}

// emulatorDisturbances runs the disturbance probe on the emulator.
func emulatorDisturbances(t *testing.T) (*DisturbanceRecord, *flinksim.Scenario) {
	t.Helper()
	sc, err := flinksim.LoadScenario(disturbanceFile)
	require.NoError(t, err)
	c := flinksim.New(sc, flinksim.Options{Start: time.Now().UTC(), Step: poll})
	ts := httptest.NewServer(c.Handler())
	defer ts.Close()
	p := disturbanceProbe(sc)
	p.URL, p.JobID, p.Clock = ts.URL, c.JobID(), simClock{c}
	p.Truth = func(context.Context) (flinksim.GroundTruth, error) { return c.GroundTruth(), nil }
	rec, err := p.Run(context.Background(), "emulator")
	require.NoError(t, err)
	return rec, sc
}

func workCapacity(sc *flinksim.Scenario) float64 {
	for _, v := range sc.Job.Vertices {
		if v.Name == "work" {
			return v.Capacity
		}
	}
	return 0
}

// TestRecordDisturbances records the real figures (only with -record).
func TestRecordDisturbances(t *testing.T) {
	if !*record {
		t.Skip("records real-Flink figures only with -record")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Minute)
	defer cancel()
	sb, err := sandbox.Start(ctx, sandbox.Config{Scenario: disturbanceFile, Flink: "1.20", Log: os.Stderr, FlinkConfig: productionTiming})
	require.NoError(t, err)
	p := disturbanceProbe(sb.Scenario())
	p.URL, p.JobID, p.Clock, p.Truth = sb.URL(), sb.JobID(), clock.Wall{}, sb.GroundTruth
	rec, err := p.Run(ctx, "flink "+sb.FlinkVersion())
	require.NoError(t, sb.Stop(ctx))
	require.NoError(t, err)
	data, err := json.MarshalIndent(rec, "", "  ")
	require.NoError(t, err)
	f, err := rec.Figures(workCapacity(sb.Scenario()))
	require.NoError(t, err)
	t.Logf("%s\nfigures: %+v", data, f)
	require.NoError(t, os.WriteFile("testdata/disturbances-real-1.20.json", append(data, '\n'), 0o644))
}

// TestDisturbancesMatchRealFlink runs the disturbance probe on the emulator
// with the scenario's calibrated fields and compares its figures with the
// recorded real ones.
func TestDisturbancesMatchRealFlink(t *testing.T) {
	data, err := os.ReadFile("testdata/disturbances-real-1.20.json")
	if os.IsNotExist(err) {
		t.Skip("no recorded disturbances yet: go test ./internal/fidelity -run TestRecordDisturbances -record")
	}
	require.NoError(t, err)
	var real DisturbanceRecord
	require.NoError(t, json.Unmarshal(data, &real))
	emu, sc := emulatorDisturbances(t)
	want, err := real.Figures(workCapacity(sc))
	require.NoError(t, err)
	got, err := emu.Figures(workCapacity(sc))
	require.NoError(t, err)
	t.Logf("%s: %+v\nemulator: %+v", real.Engine, want, got)

	// The scenario's fields are the measured figures …
	rt := sc.Cluster.Runtime
	require.InDelta(t, want.BusyOverhead, rt.BusyOverhead, 0.005, "busyOverhead")
	require.InDelta(t, want.BusyNoise, rt.BusyNoise, 0.002, "busyNoise")
	require.InDelta(t, want.CheckpointMs, float64(rt.CheckpointDuration.Milliseconds()), 10, "checkpointDuration")
	require.InDelta(t, want.SaturatedCheckpointMs, float64((rt.CheckpointDuration + rt.CheckpointAlignment).Milliseconds()), 100, "checkpointAlignment")
	// … and the emulator running them shows what real Flink showed, within
	// the probe's resolution (the emulator steps 100 ms here).
	require.InDelta(t, want.BusyOverhead, got.BusyOverhead, 0.01, "busy overhead")
	require.InDelta(t, want.BusyNoise, got.BusyNoise, 0.01, "busy noise")
	require.InDelta(t, want.CheckpointMs, got.CheckpointMs, 100, "checkpoint, not back-pressured")
	require.InEpsilon(t, want.SaturatedCheckpointMs, got.SaturatedCheckpointMs, 0.25, "checkpoint, back-pressured")
	require.InDelta(t, want.CapacityShare, got.CapacityShare, 0.05, "saturated throughput ÷ configured capacity")
}
