package compare

import (
	"bytes"
	"compress/gzip"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/internal/flinkautoscaler"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
	"github.com/flinkscaler/flinkscaler/internal/scorecard"
)

// TestBaselineFor: the peer's options of both timings map onto the
// baseline field by field; an algorithm option the baseline cannot follow
// is an error, the standalone control loop's are not.
func TestBaselineFor(t *testing.T) {
	def, err := baselineFor(flinkautoscaler.Map(peerOptions(TimingDefault)))
	require.NoError(t, err)
	require.Equal(t, policy.NewFlinkOperator(), def, "default timing: the baseline at the operator's defaults")

	fast, err := baselineFor(flinkautoscaler.Map(peerOptions(TimingFast)))
	require.NoError(t, err)
	require.Equal(t, 3*time.Minute, fast.Window)
	require.Equal(t, time.Minute, fast.Stabilization)
	require.Equal(t, 12*time.Minute, fast.ScaleDownInterval)
	require.Equal(t, 6*time.Minute, fast.CatchUp)
	require.Equal(t, time.Minute, fast.Restart)
	require.Equal(t, def.Target, fast.Target)

	f, err := baselineFor(map[string]string{
		"job.autoscaler.target.utilization": "0.5", "job.autoscaler.vertex.max-parallelism": "12",
		"job.autoscaler.metrics.window": "90000", "autoscaler.standalone.control-loop.interval": "2s",
	})
	require.NoError(t, err)
	require.Equal(t, 0.5, f.Target)
	require.Equal(t, 12, f.VertexMax)
	require.Equal(t, 90*time.Second, f.Window, "a bare number is milliseconds, as Flink reads it")

	_, err = baselineFor(map[string]string{"job.autoscaler.memory.tuning.enabled": "true", "job.autoscaler.target.utilization": "high"})
	require.ErrorContains(t, err, "memory.tuning.enabled: our flink-operator baseline has no counterpart")
	require.ErrorContains(t, err, `target.utilization "high"`)
}

// TestMatch: a rescale of the original matches one baseline decision with
// the same targets within the tolerance, and each decision matches once.
func TestMatch(t *testing.T) {
	a := map[string]int{"src": 2, "map": 5}
	b := map[string]int{"src": 2, "map": 6}
	c := BaselineCheck{
		Original: []Move{{At: 4 * time.Minute, Targets: a}, {At: 4*time.Minute + 11*time.Second, Targets: a}, {At: 9 * time.Minute, Targets: b}},
		Baseline: []Move{{At: 4*time.Minute - 7*time.Second, Targets: a}, {At: 9*time.Minute + MatchTolerance + time.Second, Targets: b}},
	}
	c.match()
	require.Equal(t, 1, c.Matched())
	require.True(t, c.Original[0].Matched)
	require.False(t, c.Original[1].Matched, "the decision was paired already")
	require.False(t, c.Original[2].Matched, "outside the tolerance")
	var out bytes.Buffer
	c.Print(&out)
	require.Contains(t, out.String(), "1 of 3 rescales of the original matched")
}

// TestReplayRejectsBadRecordings: a recording without its header, or with
// an unknown line, is an error naming the line.
func TestReplayRejectsBadRecordings(t *testing.T) {
	_, err := ReplayRecording(strings.NewReader(""))
	require.ErrorContains(t, err, "no run header")
	_, err = ReplayRecording(strings.NewReader(`{"kind":"snapshot","snapshot":{}}` + "\n"))
	require.ErrorContains(t, err, "line 1")
	_, err = ReplayRecording(strings.NewReader(`{"kind":"run"}` + "\n" + `{"kind":"other"}` + "\n"))
	require.ErrorContains(t, err, `line 2: unknown kind "other"`)
	_, err = ReplayRecording(strings.NewReader("{not json\n"))
	require.ErrorContains(t, err, "line 1")
}

// TestBaselineMatchesRecordedOriginal replays metric streams recorded once
// with the real autoscaler (flink-autoscaler 1.10.0 against the emulator,
// `flinkscaler compare --timing fast --record`) against our
// flink-operator baseline: it must make every rescale the original made
// (same target for every vertex, within MatchTolerance) and nothing else,
// also where the original made none (spikes-dedicated). Some cases carry
// what the original does that a simpler reading would miss:
// chains-windows (a legacy source without busy time or pendingRecords; a
// vertex saturated all window, its TPR equal to its TDR) and
// skewed-sources (pendingRecords that show up within the window read as
// a backlog grown from 0).
func TestBaselineMatchesRecordedOriginal(t *testing.T) {
	files, err := filepath.Glob("testdata/original-*.jsonl.gz")
	require.NoError(t, err)
	require.NotEmpty(t, files)
	for _, path := range files {
		t.Run(strings.TrimSuffix(filepath.Base(path), ".jsonl.gz"), func(t *testing.T) {
			f, err := os.Open(path)
			require.NoError(t, err)
			defer f.Close()
			zr, err := gzip.NewReader(f)
			require.NoError(t, err)
			c, err := ReplayRecording(zr)
			require.NoError(t, err)
			var out bytes.Buffer
			c.Print(&out)
			require.Positive(t, c.Snapshots)
			require.Equal(t, len(c.Original), c.Matched(), "every rescale of the original is matched:\n%s", out.String())
			require.Len(t, c.Baseline, len(c.Original), "the baseline decides nothing else:\n%s", out.String())
			t.Log(out.String())
		})
	}
}

// TestBaselineCheckInEveryOutput: a replayed check shows in the text, in
// the peer's JSON line and in the HTML report.
func TestBaselineCheckInEveryOutput(t *testing.T) {
	f, err := os.Open("testdata/original-wordcount-fast.jsonl.gz")
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	check, err := ReplayRecording(zr)
	require.NoError(t, err)
	sc, err := flinksim.LoadScenario("../../scenarios/wordcount.yaml")
	require.NoError(t, err)
	card := scorecard.Summary{Decisions: 1}
	r := &Result{Scenario: "wordcount", Engine: EngineEmulator, Timing: TimingFast, sc: sc, Simulated: 6 * time.Minute, Runs: []Run{
		{Policy: PolicyOurs, Status: StatusOK, Card: &card},
		{Policy: PolicyPeer, Status: StatusOK, Card: &card, Baseline: check},
	}}
	var out, js, html bytes.Buffer
	r.Print(&out)
	require.Contains(t, out.String(), "1 of 1 rescales of the original matched")
	require.Contains(t, out.String(), "Processing capacity", "the original's scaling report")
	require.NoError(t, r.WriteJSON(&js))
	require.Contains(t, js.String(), `"baselineCheck"`)
	require.NoError(t, r.WriteReport(&html))
	require.Contains(t, html.String(), "Our flink-operator baseline on the original's metric stream")
	require.Contains(t, html.String(), "<b>1 of 1</b>")
}
