// Package legacyprobe measures what a real Flink reports for a source built
// on the legacy SourceFunction API (docs/FIDELITY.md "Legacy sources"), the
// figures the emulator's busyNaN sources reproduce. It compiles
// LegacyProbe.java against the sandbox jar (built with Maven on first use)
// and runs it; -short skips it.
package legacyprobe

import (
	"context"
	"encoding/json"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/sandbox"
)

// TestLegacySourceMetricsOnFlink: a legacy source below its ceiling, at it,
// and back-pressured, on Flink 1.20. Busy time is NaN and idle time 0 in
// all three (so below and at the ceiling look the same); only a blocked
// output shows, as hard back-pressure; its operator counts no records in,
// only out.
func TestLegacySourceMetricsOnFlink(t *testing.T) {
	if testing.Short() {
		t.Skip("runs a real Flink for about 90 s")
	}
	for _, tool := range []string{"java", "javac"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not on PATH", tool)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Minute)
	defer cancel()
	jar, err := sandbox.BuildJar(ctx, "1.20", nil)
	require.NoError(t, err)
	classes := t.TempDir()
	out, err := exec.CommandContext(ctx, "javac", "-d", classes, "-cp", jar, "LegacyProbe.java").CombinedOutput()
	require.NoError(t, err, "%s", out)
	args := []string{"-Xmx512m", "-XX:+UseSerialGC", "-Djava.io.tmpdir=" + t.TempDir(),
		"-Dorg.slf4j.simpleLogger.defaultLogLevel=error"}
	for _, p := range []string{"java.lang", "java.util", "java.util.concurrent", "java.net", "java.io", "java.nio", "sun.nio.ch", "java.lang.reflect"} {
		args = append(args, "--add-opens=java.base/"+p+"=ALL-UNNAMED")
	}
	args = append(args, "-cp", jar+string(filepath.ListSeparator)+classes, "LegacyProbe", "75")
	cmd := exec.CommandContext(ctx, "java", args...)
	var stderr strings.Builder
	cmd.Stderr = &stderr
	stdout, err := cmd.Output()
	require.NoError(t, err, "%s", stderr.String())

	got := map[string][2]map[string]float64{}
	for _, line := range strings.Split(strings.TrimSpace(string(stdout)), "\n") {
		f := strings.Fields(line)
		require.Len(t, f, 3, "%q", line)
		got[f[0]] = [2]map[string]float64{metrics(t, f[1]), metrics(t, f[2])}
		t.Logf("%s: source %v; map %v", f[0], got[f[0]][0], got[f[0]][1])
	}
	for _, c := range []string{"below", "ceiling", "backpressured"} {
		src := got[c][0]
		require.NotEmpty(t, src, c)
		require.True(t, src["busyTimeMsPerSecond"] < 0, "%s: busy NaN", c)
		require.Zero(t, src["idleTimeMsPerSecond"], "%s: no idle timer", c)
		require.Zero(t, src["softBackPressuredTimeMsPerSecond"], c)
		require.Zero(t, src["numRecordsInPerSecond"], c)
		require.Zero(t, src["Source__legacy.numRecordsInPerSecond"], "%s: its operator counts nothing in", c)
		require.Positive(t, src["Source__legacy.numRecordsOutPerSecond"], c)
		require.InDelta(t, src["numRecordsOutPerSecond"], src["Source__legacy.numRecordsOutPerSecond"], 1, c)
	}
	require.InDelta(t, 1000, got["below"][0]["Source__legacy.numRecordsOutPerSecond"], 200)
	for _, c := range []string{"below", "ceiling"} {
		require.Zero(t, got[c][0]["backPressuredTimeMsPerSecond"], c)
		require.Greater(t, got[c][1]["idleTimeMsPerSecond"], 500.0, "%s: the map is mostly idle", c)
	}
	require.Greater(t, got["backpressured"][0]["hardBackPressuredTimeMsPerSecond"], 500.0)
	require.InDelta(t, got["backpressured"][0]["hardBackPressuredTimeMsPerSecond"], got["backpressured"][0]["backPressuredTimeMsPerSecond"], 1)
}

// metrics reads Flink's aggregated subtask metrics ([{"id","max"}]); NaN
// (a string) reads as -1.
func metrics(t *testing.T, doc string) map[string]float64 {
	t.Helper()
	var rows []struct {
		ID  string          `json:"id"`
		Max json.RawMessage `json:"max"`
	}
	require.NoError(t, json.Unmarshal([]byte(doc), &rows), doc)
	out := map[string]float64{}
	for _, r := range rows {
		s := strings.Trim(string(r.Max), `"`)
		v, err := strconv.ParseFloat(s, 64)
		require.NoError(t, err, "%s: %s", r.ID, r.Max)
		if v != v {
			v = -1
		}
		out[r.ID] = v
	}
	return out
}
