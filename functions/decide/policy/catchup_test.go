package policy

import (
	"bufio"
	"compress/gzip"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// catchUpReplay is constant-noise on real Flink as ours read it (compare
// --record-ours, session 20; the header holds the configuration decide
// ran with at compare's fast timing), up to 4:11, replayed through
// Decide with each snapshot passed through edit first (nil: as read). It
// returns the decisions, their runs' ages, and the state (after it),
// snapshot and configuration of the run's last sample before the second
// decision (the undo's input, the restart's run).
func catchUpReplay(t *testing.T, edit func(*events.Snapshot, *events.Snapshot)) (got []*events.Decision, ages []time.Duration, st State, last *events.Snapshot, cfg Config) {
	t.Helper()
	f, err := os.Open("testdata/realflink-constant-noise-ours-catchup.jsonl.gz")
	require.NoError(t, err)
	defer f.Close()
	zr, err := gzip.NewReader(f)
	require.NoError(t, err)
	lines := bufio.NewScanner(zr)
	lines.Buffer(make([]byte, 1<<20), 1<<24)
	var head *Config
	var prev *events.Snapshot
	var kept State
	for n := 1; lines.Scan(); n++ {
		var l struct {
			Kind     string           `json:"kind"`
			Policy   *Config          `json:"policyConfig"`
			Snapshot *events.Snapshot `json:"snapshot"`
		}
		require.NoError(t, json.Unmarshal(lines.Bytes(), &l))
		switch {
		case l.Kind == "run":
			head = l.Policy
		case l.Snapshot != nil:
			require.NotNil(t, head, "the header comes first")
			if edit != nil {
				edit(prev, l.Snapshot)
			}
			out := Decide(Input{Snapshot: *l.Snapshot, SnapshotID: fmt.Sprint(n), State: st, Config: *head, Now: l.Snapshot.ObservedAt})
			if len(got) == 1 && out.Decision == nil {
				last, kept = l.Snapshot, out.NewState
			}
			if st = out.NewState; out.Decision != nil {
				got = append(got, out.Decision)
				ages = append(ages, l.Snapshot.ObservedAt.Sub(*l.Snapshot.RunningSince))
			}
			prev = l.Snapshot
		}
	}
	require.NoError(t, lines.Err())
	require.NotNil(t, last)
	return got, ages, kept, last, *head
}

// TestHiddenCatchUpIsNotLoad: the replay above. The first scale-up
// (1m14s, 2/2/2 → 12/12/6) restarts the job on ~67 s of backlog; the
// source's pendingRecords fall 27,054 → 14,614 → 4 in the run's first
// 17 s while it emits nothing (its reader pulled the backlog in at once)
// while the Map is saturated and the source's 60 s meter averages the
// catch-up it emits: 1,214 rec/s 77 s after the restart, where 600 are
// offered. Read as load, that sample was a ±30 % uncertainty and the
// undo went to 6 slots (+30 %) at 4:11, and to 5 at 5:41 (3 rescales for
// one load). Marked as a hidden catch-up (hiddenCatchUp, in a run whose
// pending fell faster than the source could emit it), it is not load:
// the undo comes once the meters show the load, to 5 slots, on a few
// percent.
func TestHiddenCatchUpIsNotLoad(t *testing.T) {
	got, ages, _, _, _ := catchUpReplay(t, nil)
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

// TestShownCatchUpIsLoad: the same stream with the source's pending
// records falling no faster than its meter's minute says it emitted (as
// the emulator's, and a source whose reader does not pull a backlog in
// at once, do): the run's saturated minute with no pending is a drain
// that ended inside it, and nothing is marked (session 20's mark without
// pendingCollapsed fired there too, and two fresh scenarios lagged more:
// meter-readings-quarter-hour p99 146 → 171 s, metrics-rollup-minincrease-
// blind 283 → 413 s).
func TestShownCatchUpIsLoad(t *testing.T) {
	_, _, st, last, cfg := catchUpReplay(t, nil)
	j := observe(st, last, cfg)
	require.True(t, slices.Contains(j.hiddenCatchUp(st.Window, cfg.Settle, cfg.RateWindow), true), "as read: the collapse marks the catch-up")

	slow := func(prev, s *events.Snapshot) {
		if prev == nil || !sameTime(*prev.RunningSince, *s.RunningSince) {
			return
		}
		for i := range s.Vertices {
			v, p := &s.Vertices[i], &prev.Vertices[i]
			if !v.IsSource || v.PendingRecords == nil || p.PendingRecords == nil || v.RecordsOutPerSecond == nil {
				continue
			}
			floor := *p.PendingRecords - meterSpan.Seconds()**v.RecordsOutPerSecond
			if *v.PendingRecords < floor {
				x := floor
				v.PendingRecords = &x
			}
		}
	}
	_, _, st, last, cfg = catchUpReplay(t, slow)
	j = observe(st, last, cfg)
	require.True(t, slices.ContainsFunc(st.Window, func(x Sample) bool {
		return sameTime(x.Epoch, *last.RunningSince) && x.At.Sub(x.Epoch) < 20*time.Second
	}), "the window holds the restart's first samples")
	for k := 1; k < len(st.Window); k++ {
		require.False(t, j.pendingCollapsed(&st.Window[k-1], &st.Window[k], cfg.RateWindow), "sample %d", k)
	}
	require.Nil(t, j.hiddenCatchUp(st.Window, cfg.Settle, cfg.RateWindow))
}
