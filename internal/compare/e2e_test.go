package compare

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/bench"
	"github.com/flinkscaler/flinkscaler/internal/flinkautoscaler"
)

// overloaded: a map offered twice what it sustains, TaskManagers starting
// in 5 s, so both policies rescale within the first minute.
const overloaded = `
name: overloaded
duration: 10m
seed: 3
cluster: {scaling: adaptive, slotsPerTaskManager: 2, initialTaskManagers: 1, maxTaskManagers: 4, taskManagerStartup: 5s, restart: 2s}
job:
  name: overloaded
  vertices:
    - {name: "Source: in", parallelism: 1, maxParallelism: 128, capacity: 100000, partitions: 8}
    - {name: map, inputs: ["Source: in"], parallelism: 1, maxParallelism: 128, capacity: 2000}
load: {pattern: constant, rate: 4000}
slo: {maxLagSeconds: 30}
`

// TestCompareOnEmulator runs a minute of both policies on the emulator,
// with the peer's windows shortened through its documented options, and
// checks that both ran, the peer's TaskManagers followed its requirements,
// and every output has both runs.
func TestCompareOnEmulator(t *testing.T) {
	if testing.Short() {
		t.Skip("a minute of real time and a JVM")
	}
	if _, err := flinkautoscaler.Resolve(context.Background(), flinkautoscaler.DefaultVersion, nil); errors.Is(err, flinkautoscaler.ErrTooling) {
		t.Skipf("no Java tooling: %v", err)
	}
	path := filepath.Join(t.TempDir(), "overloaded.yaml")
	require.NoError(t, os.WriteFile(path, []byte(overloaded), 0o644))
	peerOverrides = map[string]string{
		"job.autoscaler.stabilization.interval": "1s", "job.autoscaler.metrics.window": "15s",
		"autoscaler.standalone.control-loop.interval": "2s",
	}
	defer func() { peerOverrides = nil }()
	var progress bytes.Buffer
	res, err := Compare(context.Background(), Config{ScenarioPath: path, Duration: time.Minute, Progress: &lockedWriter{w: &progress}})
	require.NoError(t, err)
	require.Len(t, res.Runs, 2)
	ours, peer := res.Runs[0], res.Runs[1]
	require.Equal(t, PolicyOurs, ours.Policy)
	require.Equal(t, PolicyPeer, peer.Policy)
	require.Equal(t, StatusOK, peer.Status, "%s\n%s", peer.Error, progress.String())
	require.NotNil(t, ours.Card, ours.Error)
	require.Positive(t, peer.Card.Decisions)
	require.Greater(t, peer.WallSeconds, 50.0)
	require.Positive(t, peer.Requests["PUT /jobs/:id/resource-requirements 200"])
	last := peer.Series.Samples[len(peer.Series.Samples)-1]
	require.Greater(t, last.TaskManagers, 1, "the peer's TaskManagers follow its requirements")
	require.Contains(t, progress.String(), "rescale →")
	require.Len(t, ours.Targets, len(bench.Targets), "ours ran to the end: its targets are checked")
	require.Equal(t, bench.TargetAhead, ours.Targets[0].Target)

	var out, js, html bytes.Buffer
	res.Print(&out)
	require.Contains(t, out.String(), "flink-operator-autoscaler")
	require.Contains(t, out.String(), "targets of flinkscaler")
	require.NoError(t, res.WriteJSON(&js))
	require.Len(t, strings.Split(strings.TrimSpace(js.String()), "\n"), 2)
	require.NoError(t, res.WriteReport(&html))
	require.Contains(t, html.String(), "<svg")
}

// TestCompareMissingPeerVersion: a peer version that does not resolve is
// reported as not run, with the reason, and never scored.
func TestCompareMissingPeerVersion(t *testing.T) {
	path := filepath.Join(t.TempDir(), "overloaded.yaml")
	require.NoError(t, os.WriteFile(path, []byte(overloaded), 0o644))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	var progress bytes.Buffer
	res, err := Compare(ctx, Config{ScenarioPath: path, PeerVersion: "latest", Progress: &progress})
	require.NoError(t, err)
	peer := res.Runs[1]
	require.Equal(t, StatusNotRun, peer.Status)
	require.Contains(t, peer.Error, "not found on Maven Central")
	require.Nil(t, peer.Card)
	ours := res.Runs[0]
	require.NotEqual(t, StatusOK, ours.Status, "ours was cut short by the deadline")
	require.NotEmpty(t, ours.Error)
	// Where the runs are watched, a run that is not ok says why.
	require.Contains(t, progress.String(), "[flinkscaler] run "+ours.Status+" after ")
	require.Contains(t, progress.String(), ": "+ours.Error+"\n")
}

// TestCompareVerboseShowsHolds: with Log set (compare --verbose) ours'
// functions log at debug, so decide's holds and their reasons show, not
// only its decisions: a run over the SLO with no decision says why.
func TestCompareVerboseShowsHolds(t *testing.T) {
	path := filepath.Join(t.TempDir(), "overloaded.yaml")
	require.NoError(t, os.WriteFile(path, []byte(overloaded), 0o644))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var log lockedWriter
	var buf bytes.Buffer
	log.w = &buf
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = Compare(ctx, Config{ScenarioPath: path, PeerVersion: "latest", Log: &log, Progress: io.Discard})
	}()
	require.Eventually(t, func() bool {
		log.mu.Lock()
		defer log.mu.Unlock()
		return strings.Contains(buf.String(), `msg=holding`)
	}, 30*time.Second, 200*time.Millisecond, "decide's holds are logged")
	cancel()
	<-done
	require.Contains(t, buf.String(), "[flinkscaler] ")
}

// TestCompareRecordsOurs: with RecordOurs set, ours' run is recorded as
// decide read it (a header naming ours with the policy configuration, every
// snapshot in order, then the decisions), and replaying the snapshots
// through decide (ReplayOurs) makes the run's decisions again, rationale
// and all: a misread on real Flink can be replayed as a test.
func TestCompareRecordsOurs(t *testing.T) {
	if testing.Short() {
		t.Skip("100 s of real time")
	}
	path := filepath.Join(t.TempDir(), "overloaded.yaml")
	require.NoError(t, os.WriteFile(path, []byte(overloaded), 0o644))
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Second)
	defer cancel()
	var rec bytes.Buffer
	res, err := Compare(ctx, Config{ScenarioPath: path, PeerVersion: "latest", Timing: TimingFast, Progress: io.Discard, RecordOurs: &rec})
	require.NoError(t, err)
	ours := res.Runs[0]
	require.NotNil(t, ours.Card, ours.Error)
	made := decisions(ours.Series)
	require.NotEmpty(t, made, "ours scales the overloaded map once its metrics settle (1m10s, snapshots every 10 s)")

	lines := strings.Split(strings.TrimSpace(rec.String()), "\n")
	var head recordLine
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &head))
	require.Equal(t, "run", head.Kind)
	require.Equal(t, PolicyOurs, head.Run)
	require.Equal(t, TimingFast, head.Timing)
	require.NotNil(t, head.Policy)
	var snaps, recorded int
	for _, l := range lines[1:] {
		var rl recordLine
		require.NoError(t, json.Unmarshal([]byte(l), &rl))
		switch rl.Kind {
		case "snapshot":
			require.Zero(t, recorded, "the decisions come after every snapshot")
			snaps++
		case "decision":
			require.Equal(t, made[recorded].Rationale, rl.Line)
			recorded++
		}
	}
	require.Greater(t, snaps, 8, "a snapshot every 10 s over the run")
	require.Equal(t, len(made), recorded)

	replayed, ages, err := ReplayOurs(strings.NewReader(rec.String()), *head.Policy)
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(replayed), len(made), "the run may have ended before its last decision was recorded")
	require.Len(t, ages, len(replayed))
	for i, d := range made {
		require.Equal(t, d.Rationale, replayed[i].Rationale, "decision %d", i)
	}

	// The peer's replay refuses ours' recording, and ours' the peer's.
	_, err = ReplayRecording(strings.NewReader(rec.String()))
	require.ErrorContains(t, err, "ReplayOurs")
	_, _, err = ReplayOurs(strings.NewReader(`{"kind":"run","scenario":"x"}`), *head.Policy)
	require.ErrorContains(t, err, "ReplayRecording")
}
