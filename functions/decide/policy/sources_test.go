package policy

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// A scale-up raises the sources of the raised vertex's slot-sharing group
// with it: their subtasks share its slots (no slot more), and a source
// whose busy time under-reads (30 % here, while its reader may be at its
// limit) would otherwise be left to read the restart's backlog alone. Not
// a source in another group (each subtask would take a slot), not with
// dedicated slots (there it may go down to save its own), not a source
// whose capacity is unknown (NaN busy time: sizing never lowers it again),
// and not one without pendingRecords (the blind job's sizing reads it).
func TestScaleUpRaisesSourcesWithTheirGroup(t *testing.T) {
	mk := func(edit func(*events.Snapshot)) func(int) events.Snapshot {
		return func(s int) events.Snapshot {
			snap := growing(s, vtx("src", 2, 300, 41000, 41000), vtx("counter", 3, 1000, 41000, 0, "src"))
			if edit != nil {
				edit(&snap)
			}
			return snap
		}
	}
	o := feedOurs(t, noDelay(), State{}, 2, mk(nil))
	require.NotNil(t, o.Decision, o.Hold)
	c := targetsOf(o.Decision)["counter"]
	require.Greater(t, c, 3)
	require.Equal(t, c, targetsOf(o.Decision)["src"], "%s", o.Decision.Vertices[0].Reason)
	require.Equal(t, c, o.Decision.TaskManagers.Target, "no slot more than the counter's")
	require.Contains(t, o.Decision.Vertices[0].Reason, "with its slot-sharing group in the same restart (no slot more")

	cases := []struct {
		name string
		cfg  func(*Config)
		edit func(*events.Snapshot)
		// sized: the source is sized up for its own lag, not raised
		sized bool
	}{
		{name: "groups reported apart", edit: func(s *events.Snapshot) {
			s.Vertices[0].SlotSharingGroup, s.Vertices[1].SlotSharingGroup = "sources", "counters"
		}},
		{name: "dedicated slots", cfg: func(c *Config) { c.Slots.Sharing = events.SlotSharingDedicated }},
		{name: "no pendingRecords", edit: func(s *events.Snapshot) { s.Vertices[0].PendingRecords = nil }},
		{name: "NaN busy time", edit: func(s *events.Snapshot) {
			s.Vertices[0].BusyMsPerSecond = nil
			s.Vertices[0].Incomplete = []string{"busyMsPerSecond"}
			s.Incomplete, s.Complete = []string{"vertex src: busyMsPerSecond"}, false
		}},
		{name: "NaN busy time, its rate read from its lag", edit: func(s *events.Snapshot) {
			// lagging (pending over laggingLag seconds of its read, and
			// growing): its rate is what it reads, but sizing, with no
			// busy time, never lowers it again
			*s.Vertices[0].PendingRecords += 500000
			s.Vertices[0].BusyMsPerSecond = nil
			s.Vertices[0].Incomplete = []string{"busyMsPerSecond"}
			s.Incomplete, s.Complete = []string{"vertex src: busyMsPerSecond"}, false
		}, sized: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := noDelay()
			if tc.cfg != nil {
				tc.cfg(&cfg)
			}
			o := feedOurs(t, cfg, State{}, 2, mk(tc.edit))
			require.NotNil(t, o.Decision, o.Hold)
			c := targetsOf(o.Decision)["counter"]
			require.Greater(t, c, 3)
			if tc.sized {
				require.Less(t, targetsOf(o.Decision)["src"], c, "%s", o.Decision.Vertices[0].Reason)
			} else {
				require.LessOrEqual(t, targetsOf(o.Decision)["src"], 2, "%s", o.Decision.Vertices[0].Reason)
			}
			require.NotContains(t, o.Decision.Vertices[0].Reason, "slot-sharing group")
		})
	}
}

// A source seen reading more than the restart needs it to read (a
// catch-up in the metric window read 3× today's rate) has shown that
// rate, whatever its busy time says: the scale-up leaves it where it is.
func TestScaleUpLeavesASourceSeenReadingMore(t *testing.T) {
	mk := func(s int) events.Snapshot {
		if s == 80 {
			return snapAt(s, vtx("src", 2, 300, 130000, 130000), vtx("counter", 3, 300, 130000, 0, "src"))
		}
		return growing(s, vtx("src", 2, 300, 41000, 41000), vtx("counter", 3, 1000, 41000, 0, "src"))
	}
	o := feedOurs(t, noDelay(), State{}, 4, mk)
	require.NotNil(t, o.Decision, o.Hold)
	require.Greater(t, targetsOf(o.Decision)["counter"], 3)
	require.Equal(t, 2, targetsOf(o.Decision)["src"], "%s", o.Decision.Vertices[0].Reason)
	require.NotContains(t, o.Decision.Vertices[0].Reason, "slot-sharing group")
}
