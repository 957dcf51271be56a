package compare

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/internal/bench"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
)

// replayYoung runs ours' decide, tuned as compare's fast timing tunes it
// for scenario file, over a recorded metric stream of real Flink (the
// snapshots as metrics-ingest read them: the peer's run's, compare
// --record, or ours', compare --record-ours) and returns its first decision
// and the run's age at it; nil when it made none.
func replayYoung(t *testing.T, scenario, recording string) (*events.Decision, string) {
	t.Helper()
	path, _, err := compressScenario(filepath.Join("..", "..", scenario), t.TempDir(), FastFactor)
	require.NoError(t, err)
	sc, err := flinksim.LoadScenario(path)
	require.NoError(t, err)
	cfg := bench.ConfigFor(sc)
	tunePolicy, _, _ := tuneOurs(TimingFast)
	tunePolicy(&cfg)
	f, err := os.Open(recording)
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	lines := bufio.NewScanner(zr)
	lines.Buffer(make([]byte, 1<<20), 1<<24)
	var st policy.State
	for n := 1; lines.Scan(); n++ {
		var rec struct {
			Snapshot *events.Snapshot `json:"snapshot"`
		}
		require.NoError(t, json.Unmarshal(lines.Bytes(), &rec))
		if rec.Snapshot == nil {
			continue // a recording's header or ours' decisions (compare --record-ours)
		}
		out := policy.Decide(policy.Input{Snapshot: *rec.Snapshot, SnapshotID: fmt.Sprint(n), State: st, Config: cfg, Now: rec.Snapshot.ObservedAt})
		if st = out.NewState; out.Decision != nil {
			return out.Decision, rec.Snapshot.ObservedAt.Sub(*rec.Snapshot.RunningSince).Round(100e6).String()
		}
	}
	return nil, ""
}

// TestYoungReadOnRealFlink: the first minute of constant-noise on real
// Flink (the sandbox, compare --timing fast, session 18; the peer's run,
// recorded before it scaled): ours decides its first scale-up 55 s into
// the run on rates read de-ramped. The last sample repeats the one before
// (the JobManager answered from its previous fetch: every vertex's rates
// identical 43.8 and 55.1 s into the run); divided by the ramp of its own
// age, it read the Map's true rate at 86 rec/s a subtask (175 once
// settled) and sized Map 2 → 13 (the job needs 5 slots at +15 %). Read at
// its reading's age it is read at 125 and sized 9.
func TestYoungReadOnRealFlink(t *testing.T) {
	d, at := replayYoung(t, "scenarios/constant-noise.yaml", "testdata/realflink-constant-noise-first-minute.jsonl.gz")
	require.NotNil(t, d)
	require.Equal(t, "55.1s", at)
	require.Contains(t, d.Rationale, "rates read de-ramped")
	require.Contains(t, d.Rationale, "3 vertex readings repeated the poll before (the JobManager's same fetch): read at its age")
	for _, v := range d.Vertices {
		if strings.HasPrefix(v.Name, "Map") {
			require.LessOrEqual(t, v.Target, 9, d.Rationale)
		}
	}
}

// TestYoungReadOnRealFlinkKeyed: keyed-aggregation's first minute on real
// Flink (session 18, the peer's run): the source's rates 66.5 s into the
// run repeat those of 56.3 s (the Window's do not). Fitted at its own age
// the ramp read a staleness below −2 s and was not used, so ours waited
// for the meters and decided at 1m47s on a backlog 11 s longer, 12 slots
// (+41 %); read at its reading's age, the ramp fits and ours decides at
// 66.5 s, 10 slots (+20 %).
func TestYoungReadOnRealFlinkKeyed(t *testing.T) {
	d, at := replayYoung(t, "scenarios/keyed-aggregation.yaml", "testdata/realflink-keyed-aggregation-first-minute.jsonl.gz")
	require.NotNil(t, d)
	require.Equal(t, "1m6.5s", at)
	require.Contains(t, d.Rationale, "rates read de-ramped")
	require.Contains(t, d.Rationale, "1 vertex readings repeated the poll before")
}

// TestFirstCountOnRealFlink: wordcount-flatmap's first minutes on real
// Flink as ours read them (compare --record-ours, session 20: ours' own
// stream, header and all). Its first scale-up comes 1m31.6s into the run
// on settled rates (82 rec/s offered, 58 s of lag) and raises the count
// 4 → 60: the efficiency prior p^0.90±0.10 extrapolated 15× from 4, with
// the +75 % the recovery bound asks to drain the restart's ~113 s backlog,
// where 24 carry the load. The run then released the count within the
// undo window (BENCHMARK "Real Flink (session 20, s20real)"). A change to
// the first step's size shows here first.
func TestFirstCountOnRealFlink(t *testing.T) {
	const rec = "testdata/realflink-wordcount-flatmap-ours-first-minutes.jsonl.gz"
	d, at := replayYoung(t, "scenarios/wordcount-flatmap.yaml", rec)
	require.NotNil(t, d)
	require.Equal(t, "1m31.6s", at)
	require.Contains(t, d.Rationale, "60 slots (+75% headroom)")
	count := slices.IndexFunc(d.Vertices, func(v events.VertexDecision) bool { return v.Name == "count" })
	require.GreaterOrEqual(t, count, 0, d.Rationale)
	require.Equal(t, 60, d.Vertices[count].Target, d.Rationale)

	// The recording's own header: ReplayOurs with the configuration the
	// run's decide had makes the same decision.
	got, ages := replayOursFile(t, rec)
	require.Len(t, got, 1)
	require.Equal(t, d.Rationale, got[0].Rationale)
	require.Equal(t, "1m31.6s", ages[0].Round(100*time.Millisecond).String())
}

// replayOursFile replays a gzipped recording of ours' run (compare
// --record-ours) through today's decide with the configuration in its
// header (ReplayOurs).
func replayOursFile(t *testing.T, path string) ([]events.Decision, []time.Duration) {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	raw, err := io.ReadAll(zr)
	require.NoError(t, err)
	var head recordLine
	require.NoError(t, json.Unmarshal(raw[:bytes.IndexByte(raw, '\n')], &head))
	require.Equal(t, PolicyOurs, head.Run)
	got, ages, err := ReplayOurs(bytes.NewReader(raw), *head.Policy)
	require.NoError(t, err)
	return got, ages
}

// TestCatchUpReadAsLoadOnRealFlink: constant-noise on real Flink as ours
// read it (compare --record-ours, session 20), up to 4:11, replayed with
// the recording's own header. The first scale-up (1m14s, 2/2/2 → 12/12/6)
// restarts the job on ~67 s of backlog; the source's pendingRecords fall
// 27,054 → 14,614 → 4 in the run's first 17 s while it emits nothing (the
// reader pulled the backlog in at once), and its 60 s meter then averages
// the catch-up it emits: 1,214 rec/s 77 s after the restart, where 600
// are offered. The run read that sample as a ±30 % load uncertainty and
// undid the scale-up to 6 slots at 4:11, then to 5 at 5:41 (3 rescales
// for one load). decide now leaves it out as a hidden catch-up, in a run
// whose pending fell faster than its sources could emit it (policy
// TestHiddenCatchUpIsNotLoad, session 21): the undo comes 87 s after the
// restart, to 5 slots on ±6 %.
func TestCatchUpReadAsLoadOnRealFlink(t *testing.T) {
	got, ages := replayOursFile(t, "testdata/realflink-constant-noise-ours-catchup.jsonl.gz")
	require.Len(t, got, 2)
	require.Equal(t, "1m14s", ages[0].Round(time.Second).String())
	require.Contains(t, got[0].Rationale, "12 slots (+100% headroom)")
	require.NotContains(t, got[1].Rationale, "±30%", "the catch-up read as load")
	require.Contains(t, got[1].Rationale, "uncertainty ±6%")
	require.Contains(t, got[1].Rationale, "5 slots (+0% headroom)")
	require.Equal(t, "1m27s", ages[1].Round(time.Second).String(), "87 s after the restart")
}
