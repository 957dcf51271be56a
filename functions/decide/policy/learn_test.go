package policy

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// A run that begins after the snapshot that showed our rescale applied is
// a failover's, however soon after the decision: the job rescaled by our
// decision at 130 s runs its targets from 140 s (seen at 150 s), and a
// fault restarts it at 260 s, 2 min after the decision (real Flink at
// compare's fast timing: faults' failovers minutes apart). Measured from
// the decision (5 min), that run was taken as our rescale's restart and
// the failover was not learned. The rescale's own run is not a failover.
func TestFailoverSoonAfterOurAppliedRescaleIsLearned(t *testing.T) {
	job := func(run, sec, window int) events.Snapshot {
		s := snapAt(sec, vtx("source", 2, 300, 40000, 40000), vtx("window", window, 600, 40000, 4000, "source"),
			vtx("sink", 1, 100, 4000, 0, "window"))
		started := t0.Add(time.Duration(run) * time.Second)
		s.RunningSince = &started
		s.TaskManagers, s.SlotsTotal, s.SlotsFree = 4, 8, 8-2-window-1
		return s
	}
	cfg := Defaults()
	cfg.Paused = true // no decision of its own: only d1's restart and the fault's
	feedRun := func(st State, run, from, to, window int) State {
		for sec := from; sec <= to; sec += 10 {
			s := job(run, sec, window)
			st = Decide(Input{Snapshot: s, Config: cfg, Now: s.ObservedAt, State: st}).NewState
		}
		return st
	}

	st := feedRun(State{}, 0, 10, 120, 4)
	st.Rescale = &Rescale{DecisionID: "d1", At: t0.Add(130 * time.Second),
		Targets: map[string]int{"source": 2, "window": 5, "sink": 1}}
	st = feedRun(st, 140, 150, 250, 5)
	require.NotNil(t, st.Rescale)
	require.Equal(t, t0.Add(150*time.Second), st.Rescale.Applied, "the first snapshot of the run at 140 s shows the targets")
	require.Empty(t, st.Failovers, "the run at 140 s is our rescale's restart")

	st = feedRun(st, 260, 270, 300, 5)
	require.Equal(t, []time.Time{t0.Add(260 * time.Second)}, st.Failovers,
		"the run at 260 s began 110 s after our rescale was seen applied: a failover's")
}

// A run whose RUNNING timestamp is a few seconds after the snapshot that
// showed our targets (Flink's clock ahead of ours) is still our rescale's.
func TestOursAllowsAClockAheadOfOurs(t *testing.T) {
	applied := t0.Add(150 * time.Second)
	rs := &Rescale{At: t0.Add(130 * time.Second), Applied: applied}
	require.True(t, ours(rs, applied.Add(-10*time.Second)))
	require.True(t, ours(rs, applied.Add(5*time.Second)))
	require.False(t, ours(rs, applied.Add(2*time.Minute)))
	require.True(t, ours(&Rescale{At: t0}, t0.Add(4*time.Minute)), "not seen applied yet: its restart")
	require.False(t, ours(nil, t0))
}
