package policy

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// TestHiddenCatchUpIsNotLoad: constant-noise on real Flink as ours read it
// (compare --record-ours, session 20; the header holds the configuration
// decide ran with at compare's fast timing), up to 4:11. The first
// scale-up (1m14s, 2/2/2 → 12/12/6) restarts the job on ~67 s of
// backlog; 17 s after the restart the source's pendingRecords read 4 (its
// reader pulled the backlog in at once) while the Map is saturated and
// the source's 60 s meter averages the catch-up it emits: 1,214 rec/s 77 s
// after the restart, where 600 are offered. Read as load, that sample was
// a ±30 % uncertainty and the undo went to 6 slots (+30 %) at 4:11, and
// to 5 at 5:41 (3 rescales for one load). Marked as a hidden catch-up
// (hiddenCatchUp), it is not load: the undo comes once the meters show the
// load, to 5 slots, on a few percent.
func TestHiddenCatchUpIsNotLoad(t *testing.T) {
	f, err := os.Open("testdata/realflink-constant-noise-ours-catchup.jsonl.gz")
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	lines := bufio.NewScanner(zr)
	lines.Buffer(make([]byte, 1<<20), 1<<24)
	var cfg *Config
	var st State
	var got []*events.Decision
	var ages []time.Duration
	for n := 1; lines.Scan(); n++ {
		var l struct {
			Kind     string           `json:"kind"`
			Policy   *Config          `json:"policyConfig"`
			Snapshot *events.Snapshot `json:"snapshot"`
		}
		require.NoError(t, json.Unmarshal(lines.Bytes(), &l))
		switch {
		case l.Kind == "run":
			cfg = l.Policy
		case l.Snapshot != nil:
			require.NotNil(t, cfg, "the header comes first")
			out := Decide(Input{Snapshot: *l.Snapshot, SnapshotID: fmt.Sprint(n), State: st, Config: *cfg, Now: l.Snapshot.ObservedAt})
			if st = out.NewState; out.Decision != nil {
				got = append(got, out.Decision)
				ages = append(ages, l.Snapshot.ObservedAt.Sub(*l.Snapshot.RunningSince))
			}
		}
	}
	require.NoError(t, lines.Err())
	require.Len(t, got, 2)
	require.Contains(t, got[0].Rationale, "12 slots (+100% headroom)")
	undo := got[1]
	require.NotContains(t, undo.Rationale, "±30%", "the catch-up read as load")
	require.Contains(t, undo.Rationale, "offered 605 rec/s")
	require.Less(t, ages[1], 90*time.Second, "decided 87 s after the restart, once the meters show the load")
	slots := 0
	for _, v := range undo.Vertices {
		slots = max(slots, v.Target)
	}
	require.Equal(t, 5, slots, undo.Rationale)
}
