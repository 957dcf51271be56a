package fidelity

import (
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"net/http/httptest"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/clock"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
	"github.com/flinkscaler/flinkscaler/internal/sandbox"
)

var record = flag.Bool("record", false, "run the probe on real Flink (1.20 and 2, about 5 minutes each) and rewrite testdata/real-*.json")

const scenarioFile = "testdata/calibration.yaml"

// simClock advances the emulator in simulated time.
type simClock struct{ c *flinksim.Cluster }

func (s simClock) Now() time.Time { return s.c.Now() }
func (s simClock) Sleep(ctx context.Context, d time.Duration) error {
	s.c.Advance(d)
	return ctx.Err()
}

// emulatorRecord runs the probe on the emulator in virtual time.
func emulatorRecord(t *testing.T) *Record {
	t.Helper()
	sc, err := flinksim.LoadScenario(scenarioFile)
	require.NoError(t, err)
	c := flinksim.New(sc, flinksim.Options{Start: time.Now().UTC(), Step: poll})
	ts := httptest.NewServer(c.Handler())
	defer ts.Close()
	p := &Probe{URL: ts.URL, JobID: c.JobID(), Sc: sc, Clock: simClock{c}, Rescale: "enrich",
		Truth: func(context.Context) (flinksim.GroundTruth, error) { return c.GroundTruth(), nil }}
	rec, err := p.Run(context.Background(), "emulator")
	require.NoError(t, err)
	return rec
}

// TestEmulatorMatchesRealFlink replays the probe on the emulator and
// compares every figure with what real Flink did (testdata/real-*.json,
// recorded with -record): it fails when the emulator drifts from recorded
// real behaviour beyond each figure's tolerance.
func TestEmulatorMatchesRealFlink(t *testing.T) {
	emu := emulatorRecord(t)
	golden, err := filepath.Glob("testdata/real-*.json")
	require.NoError(t, err)
	if len(golden) == 0 {
		t.Skip("no recorded real-Flink figures yet: go test ./internal/fidelity -run TestRecordRealFlink -record")
	}
	for _, path := range golden {
		t.Run(filepath.Base(path), func(t *testing.T) {
			data, err := os.ReadFile(path)
			require.NoError(t, err)
			var real Record
			require.NoError(t, json.Unmarshal(data, &real))
			diffs := Compare(&real, emu)
			t.Logf("%s vs emulator:\n%s", real.Engine, Table(diffs))
			for _, d := range diffs {
				if !d.OK && !notModelled(filepath.Base(path), d.Figure) {
					t.Errorf("%s: real %s, emulator %s (tolerance %s)", d.Figure, d.Real, d.Emulator, d.Tolerance)
				}
			}
		})
	}
}

// productionTiming puts back Flink's defaults for how fresh the REST API is
// (the sandbox lowers them for fast tests), so real Flink is measured as it
// runs in production, which is what the emulator imitates.
var productionTiming = map[string]string{
	"metrics.fetcher.update-interval": "10000",
	"web.refresh-interval":            "3000",
}

// notModelled lists what the emulator knowingly does not model: Flink 2.x
// with checkpointing rescales only once the next checkpoint completes
// (FLIP-461), so its PUT → RUNNING, downtime and first checkpoint after the
// restart follow the checkpoint interval; the emulator models the 1.18–1.20
// adaptive scheduler.
func notModelled(golden, figure string) bool {
	if golden != "real-2.json" {
		return false
	}
	switch figure {
	case "PUT to RUNNING", "rescale downtime", "first checkpoint after RUNNING":
		return true
	}
	return false
}

// TestRecordRealFlink records the real figures (only with -record).
func TestRecordRealFlink(t *testing.T) {
	if !*record {
		t.Skip("records real-Flink figures only with -record")
	}
	for _, line := range []string{"1.20", "2"} {
		ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
		sb, err := sandbox.Start(ctx, sandbox.Config{Scenario: scenarioFile, Flink: line, Log: os.Stderr, FlinkConfig: productionTiming})
		require.NoError(t, err)
		p := &Probe{URL: sb.URL(), JobID: sb.JobID(), Sc: sb.Scenario(), Clock: clock.Wall{}, Rescale: "enrich", Truth: sb.GroundTruth}
		rec, err := p.Run(ctx, "flink "+sb.FlinkVersion())
		require.NoError(t, sb.Stop(ctx))
		cancel()
		require.NoError(t, err)
		data, err := json.MarshalIndent(rec, "", "  ")
		require.NoError(t, err)
		t.Logf("Flink %s:\n%s", line, data)
		require.NoError(t, os.WriteFile(fmt.Sprintf("testdata/real-%s.json", line), append(data, '\n'), 0o644))
	}
}
