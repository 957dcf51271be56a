package policy

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// actuateResult is actuate's result of decision id: outcome, with err as
// its error.
func actuateResult(id, outcome, err string) events.Result {
	return events.Result{DecisionID: id, Cluster: "c", JobID: "j", Outcome: outcome, Error: err,
		Steps: []events.Step{{Name: "check", Status: "skipped", Detail: "rate limited: the last change 20s ago"}}}
}

// saturatedJob is a two-vertex job at s seconds whose counter is saturated
// while the source's backlog grows.
func saturatedJob(s int) events.Snapshot {
	return growing(s, vtx("src", 2, 500, 41000, 41000), vtx("counter", 3, 1000, 41000, 0, "src"))
}

// scaledUp is ours' first decision on saturatedJob: a scale-up.
func scaledUp(t *testing.T, cfg Config) Output {
	t.Helper()
	first := feedOurs(t, cfg, State{}, 2, saturatedJob)
	require.NotNil(t, first.Decision, first.Hold)
	return first
}

func dryRun(r events.Result) events.Result {
	r.DryRun = true
	return r
}

// A result from actuate that a decision's targets will not show (skipped,
// failed, applied in part) ends the in-flight wait once the cool-down from
// the decision has passed, where without it the policy waits RescaleTimeout
// (5 min) for targets that never come. An applied result, a dry run's, one
// of another decision and a second one change nothing.
func TestActuateResultEndsTheInFlightWait(t *testing.T) {
	cfg := noDelay()
	mk := saturatedJob
	first := scaledUp(t, cfg)
	id, at := first.Decision.DecisionID, first.NewState.Rescale.At
	// the job still runs at its old parallelism 70 s after the decision
	later := func(after time.Duration) events.Snapshot {
		return mk(int(at.Add(after).Sub(t0).Seconds()))
	}
	// decide feeds snapshots every 10 s from after until a decision (at
	// most three)
	decide := func(st State, after time.Duration) Output {
		o := Output{NewState: st}
		for k := range 3 {
			s := later(after + time.Duration(k)*10*time.Second)
			if o = Decide(Input{Snapshot: s, State: o.NewState, Config: cfg, Now: s.ObservedAt}); o.Decision != nil || k == 0 && o.HoldKind == HoldInFlight {
				break
			}
		}
		return o
	}

	waiting := decide(first.NewState, 70*time.Second)
	require.Equal(t, HoldInFlight, waiting.HoldKind, "no result: the wait goes on")

	for _, bad := range []events.Result{
		actuateResult(id, events.OutcomeApplied, ""),
		actuateResult("another", events.OutcomeFailed, "timed out"),
		dryRun(actuateResult(id, events.OutcomeSkipped, "")),
	} {
		st, changed := Observe(first.NewState, bad)
		require.False(t, changed, bad.Outcome+" "+bad.DecisionID)
		require.Equal(t, first.NewState, st)
	}

	for _, outcome := range []string{events.OutcomeSkipped, events.OutcomeFailed, events.OutcomePartial} {
		st, changed := Observe(first.NewState, actuateResult(id, outcome, ""))
		require.True(t, changed, outcome)
		require.Empty(t, first.NewState.Rescale.Outcome, "Observe changed the state it was given")
		_, again := Observe(st, actuateResult(id, outcome, ""))
		require.False(t, again, "a result observed twice")

		soon := decide(st, 30*time.Second)
		require.Equal(t, HoldInFlight, soon.HoldKind, outcome)
		require.Contains(t, soon.Hold, "was "+outcome+" by actuate (rate limited: the last change 20s ago)")

		o := decide(st, 70*time.Second)
		require.NotEqual(t, HoldInFlight, o.HoldKind, "%s: %s", outcome, o.Hold)
		require.NotNil(t, o.Decision, "%s: %s", outcome, o.Hold)
	}

	// a scale-up whose slot wait ran out after 2 minutes: the cool-down
	// runs from its end, as actuate's rate limit does
	failed := actuateResult(id, events.OutcomeFailed, "timed out after 2m0s: 3 of 7 slots registered")
	failed.FinishedAt = at.Add(2 * time.Minute)
	st, _ := Observe(first.NewState, failed)
	soon := decide(st, 2*time.Minute+30*time.Second)
	require.Equal(t, HoldInFlight, soon.HoldKind)
	require.Contains(t, soon.Hold, "after its actuation ended")
	o := decide(st, 3*time.Minute+10*time.Second)
	require.NotNil(t, o.Decision, o.Hold)

	// an end stamped far ahead of decide's clock holds no longer than
	// the wait without a result
	failed.FinishedAt = at.Add(24 * time.Hour)
	st, _ = Observe(first.NewState, failed)
	require.Equal(t, HoldInFlight, decide(st, 4*time.Minute).HoldKind)
	require.NotEqual(t, HoldInFlight, decide(st, cfg.RescaleTimeout+10*time.Second).HoldKind)
}

// A decision actuate skipped or failed never had its requirements
// declared (or had them rolled back): the job not running at its targets
// while the slots they need registered says nothing of the slot layout,
// and the next decision still counts the job's slots by its largest
// vertex. Without the result (a decision that timed out so) the layout
// is taken as wrong (TestSlotSharingGroups).
func TestSkippedDecisionTeachesNoLayout(t *testing.T) {
	cfg := noDelay()
	mk := saturatedJob
	first := scaledUp(t, cfg)
	c := targetsOf(first.Decision)["counter"]
	require.Equal(t, c, first.Decision.TaskManagers.Target, "one group: the largest vertex")

	// 400 s on, the slots the decision asked for registered and free, the
	// job still at 2 and 3
	registered := func(st State) Output {
		return feedOurs(t, cfg, st, 2, func(s int) events.Snapshot {
			snap := mk(s + 400)
			snap.SlotsTotal, snap.TaskManagers, snap.SlotsFree = c, c, c-3
			return snap
		})
	}
	for _, outcome := range []string{events.OutcomeSkipped, events.OutcomeFailed} {
		st, _ := Observe(first.NewState, actuateResult(first.Decision.DecisionID, outcome, ""))
		o := registered(st)
		require.False(t, o.NewState.Unfit, "%s: a decision never declared marked the layout unfit", outcome)
		require.NotNil(t, o.Decision, o.Hold)
		require.Equal(t, targetsOf(o.Decision)["counter"], o.Decision.TaskManagers.Target, "%s: still one group", outcome)
	}

	o := registered(first.NewState)
	require.True(t, o.NewState.Unfit, "without a result the timed-out decision still teaches the layout: %s", o.Hold)
}
