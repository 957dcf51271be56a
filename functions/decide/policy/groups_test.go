package policy

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// A job whose window and sink run in a slot-sharing group the REST API
// does not report (Flink 1.19) holds 2 + 4 slots at parallelism 2/2/4/1,
// where one group would hold 4: the policy takes every vertex as needing
// its own slots (State.Unfit) from the run's second minute on, not after
// its first scale-up asked for too few TaskManagers and timed out
// (checkpoints-and-groups: one timed-out actuation per run).
func TestHiddenSlotSharingGroupsSeenFromTheSlotsHeld(t *testing.T) {
	job := func(sec, free int) events.Snapshot {
		s := snapAt(sec, vtx("source", 2, 300, 40000, 40000), vtx("parse", 2, 300, 40000, 40000, "source"),
			vtx("window", 4, 600, 40000, 4000, "parse"), vtx("sink", 1, 100, 4000, 0, "window"))
		s.TaskManagers, s.SlotsTotal, s.SlotsFree = 3, 6, free
		return s
	}
	unfit := func(cfg Config, s events.Snapshot) bool {
		return Decide(Input{Snapshot: s, Config: cfg, Now: s.ObservedAt}).NewState.Unfit
	}
	cfg := Defaults()
	require.True(t, unfit(cfg, job(150, 0)), "holds 6 slots where one group needs 4")
	require.False(t, unfit(cfg, job(150, 2)), "holds the 4 one group needs")
	require.False(t, unfit(cfg, job(90, 0)), "within the slots' idle timeout after a run began")

	declared := cfg
	declared.Slots.Groups = map[string]string{"window": "heavy", "sink": "heavy"}
	require.False(t, unfit(declared, job(150, 0)), "the groups are declared: 2 + 4 is what they need")
	session := cfg
	session.Mode = events.ModeSession
	require.False(t, unfit(session, job(150, 0)), "a session cluster's slots hold other jobs")

	reported := job(150, 0)
	for i := range reported.Vertices {
		reported.Vertices[i].SlotSharingGroup = "c2ddbf4c94b2187c176c9eadb50964ff"
	}
	require.False(t, unfit(cfg, reported), "every vertex reports its group (Flink 1.20+): none is hidden")

	// A rescale of ours in flight: the overview can be read after the
	// restart (the new run's slots) and the job before it (the old run).
	before := job(110, 2)
	inFlight := Decide(Input{Snapshot: before, Config: cfg, Now: before.ObservedAt}).NewState
	require.False(t, inFlight.Unfit)
	inFlight.Rescale = &Rescale{DecisionID: "d1", At: before.ObservedAt,
		Targets: map[string]int{"source": 2, "parse": 2, "window": 6, "sink": 1}}
	torn := job(150, 0)
	out := Decide(Input{Snapshot: torn, Config: cfg, Now: torn.ObservedAt, State: inFlight}).NewState
	require.NotNil(t, out.Rescale, "still in flight")
	require.False(t, out.Unfit, "a snapshot read across our rescale's restart")
}
