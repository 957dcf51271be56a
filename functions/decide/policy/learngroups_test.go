package policy

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/slots"
)

// clicksJob is clicks-sessionize-session-118's topology: source → enrich
// (default group) → window ("sessions") → sink ("sink"), groups hidden.
func clicksJob(p ...int) []events.VertexSnapshot {
	return []events.VertexSnapshot{
		vtx("source", p[0], 900, 20000, 20000), vtx("enrich", p[1], 900, 20000, 18000, "source"),
		vtx("window", p[2], 900, 18000, 3000, "enrich"), vtx("sink", p[3], 900, 3000, 0, "window")}
}

func held(p []int, n int) HeldSlots {
	ids := []string{"source", "enrich", "window", "sink"}
	m := map[string]int{}
	for i, id := range ids {
		m[id] = p[i]
	}
	return HeldSlots{P: m, Slots: n}
}

// The slots a job held at the parallelism it ran at show its hidden
// slot-sharing groups: at [2 3 2 1] on 6 slots, source and enrich share a
// group, or enrich and window, or source and window; counted as the most
// any of them needs,
// [2 6 6 3] needs 15 slots (the true count; every vertex apart: 17, one
// group: 6, which timed out once a run on clicks-sessionize-session-118).
// Readings at [3 6 5 1] on 12 slots and [6 3 2 1] on 9 leave the true
// grouping. A
// reading no grouping matches (other jobs' slots) learns nothing.
func TestGroupsLearnedFromTheSlotsHeld(t *testing.T) {
	vs := clicksJob(2, 3, 2, 1)
	layout := func(gs []map[string]string) slots.Layout {
		require.NotEmpty(t, gs)
		return slots.Layout{PerTaskManager: 3, Groups: gs[0], Alternatives: gs[1:]}
	}
	peak := map[string]int{"source": 2, "enrich": 6, "window": 6, "sink": 3}

	one := learnGroups(vs, []HeldSlots{held([]int{2, 3, 2, 1}, 6)})
	require.Len(t, one, 3, "source+enrich | window | sink, source | enrich+window | sink, or source+window | enrich | sink")
	n, err := layout(one).Needed(peak)
	require.NoError(t, err)
	require.Equal(t, 15, n)
	for _, g := range one {
		k, err := slots.Layout{PerTaskManager: 3, Groups: g}.Needed(peak)
		require.NoError(t, err)
		require.LessOrEqual(t, k, 15)
	}

	two := learnGroups(vs, []HeldSlots{held([]int{2, 3, 2, 1}, 6), held([]int{3, 6, 5, 1}, 12)})
	require.Len(t, two, 2, "enrich and window apart; the source with either")
	n, err = layout(two).Needed(peak)
	require.NoError(t, err)
	require.Equal(t, 15, n)
	two = learnGroups(vs, []HeldSlots{held([]int{2, 3, 2, 1}, 6), held([]int{3, 6, 5, 1}, 12), held([]int{6, 3, 2, 1}, 9)})
	require.Len(t, two, 1)
	require.Equal(t, two[0]["source"], two[0]["enrich"], "source and enrich share the default group")
	require.NotEqual(t, two[0]["enrich"], two[0]["window"])
	require.NotEqual(t, two[0]["window"], two[0]["sink"])
	n, err = layout(two).Needed(map[string]int{"source": 2, "enrich": 6, "window": 6, "sink": 3})
	require.NoError(t, err)
	require.Equal(t, 15, n)
	require.True(t, countsLearned(layout(two)))

	require.Nil(t, learnGroups(vs, []HeldSlots{held([]int{2, 3, 2, 1}, 10)}), "more than every vertex apart: none matches")
	require.Nil(t, learnGroups(vs, []HeldSlots{held([]int{2, 3, 2, 1}, 6), held([]int{3, 6, 5, 1}, 7)}), "readings no grouping matches")
}

// A session job on Flink 1.18 whose groups are hidden, watched from its
// start: its first decision counts the slots by the groups the slots it
// holds show, never by one group (which asked for more than the cluster
// has and timed out once a run on clicks-sessionize-session-118 and
// logs-dedupe-session-spikes), and actuate is told the grouping that
// counts its targets so.
func TestSessionFirstDecisionCountsLearnedGroups(t *testing.T) {
	cfg := noDelay()
	cfg.Mode = events.ModeSession
	cfg.Slots.PerTaskManager = 3
	mk := func(s int) events.Snapshot {
		snap := growing(s, clicksJob(2, 3, 2, 1)...)
		run := t0.Add(-time.Minute) // held 2 min by the first snapshot
		snap.RunningSince = &run
		snap.SlotsTotal, snap.SlotsFree, snap.TaskManagers = 15, 9, 5
		return snap
	}
	o := feedOurs(t, cfg, State{}, 4, mk)
	require.True(t, o.NewState.Unfit, o.Hold)
	require.Len(t, o.NewState.Groups, 3)
	require.NotNil(t, o.Decision, o.Hold)
	got := targetsOf(o.Decision)
	last := mk(80)
	n, err := layoutIn(cfg, &last, o.NewState).Needed(got)
	require.NoError(t, err)
	require.LessOrEqual(t, n, 15, "within the session cluster's 15 slots by the learned count: %v", got)
	d := slots.Layout{PerTaskManager: 3, Groups: o.Decision.Slots.Groups}
	m, err := d.Needed(got)
	require.NoError(t, err)
	require.Equal(t, n, m, "the decision's groups count its targets as the policy did")
	require.Contains(t, o.Decision.Rationale, learnedNote)
}
