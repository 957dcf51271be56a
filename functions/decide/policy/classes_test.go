package policy

import (
	"encoding/json"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/slots"
)

// feedOurs runs Decide on up to n snapshots at 80 s, 90 s, … from st and
// returns the output of the first decision, or the last.
func feedOurs(t *testing.T, cfg Config, st State, n int, mk func(sec int) events.Snapshot) Output {
	t.Helper()
	o := Output{NewState: st}
	for k := range n {
		s := mk(80 + 10*k)
		o = Decide(Input{Snapshot: s, State: o.NewState, Config: cfg, Now: s.ObservedAt})
		if o.Decision != nil {
			break
		}
	}
	return o
}

func targetsOf(d *events.Decision) map[string]int {
	m := map[string]int{}
	for _, v := range d.Vertices {
		m[v.ID] = v.Target
	}
	return m
}

func noDelay() Config {
	c := Defaults()
	c.ScaleUpDelay = 0
	return c
}

// A restart's replay is the time since the last checkpoint: with a 10 min
// interval and the last checkpoint 4 min ago, a restart 20 s of start-up
// later replays 4m20s; with the next one due within actuate's wait, none
// (and the wait grows by it); without the last checkpoint, half the
// interval; without an interval, Replay.
func TestReplayFromLastCheckpoint(t *testing.T) {
	now := t0.Add(time.Hour)
	st := State{Restarts: []RestartObs{{Downtime: 50 * time.Second, Outage: 30 * time.Second}}}
	at := func(ago time.Duration) *time.Time { c := now.Add(-ago); return &c }
	cases := []struct {
		name         string
		interval     time.Duration
		last         *time.Time
		replay, wait time.Duration
		later        time.Duration
	}{
		{name: "minutes since the checkpoint", interval: 10 * time.Minute, last: at(4 * time.Minute),
			replay: 4*time.Minute + 20*time.Second, wait: 20 * time.Second, later: 6 * time.Minute},
		{name: "checkpoint due during the start-up", interval: 10 * time.Minute, last: at(9*time.Minute + 35*time.Second),
			wait: 25 * time.Second},
		{name: "no checkpoint seen", interval: 10 * time.Minute, replay: 5 * time.Minute, wait: 20 * time.Second},
		{name: "no interval", replay: 30 * time.Second, wait: 20 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			snap := events.Snapshot{CheckpointIntervalMs: c.interval.Milliseconds(), LastCheckpointAt: c.last}
			rc := restartFor(st, &snap, Defaults(), now)
			require.Equal(t, c.replay, rc.replay, string(rc.describe(nil)))
			require.Equal(t, c.wait, rc.wait)
			require.Equal(t, c.later, rc.later)
			require.Equal(t, 30*time.Second, rc.outage)
		})
	}
}

// A job a little short with a 10 min checkpoint interval, 9 min after its
// last checkpoint: restarting now replays 9 minutes of input, restarting
// after the checkpoint due in a minute almost none. The policy waits for
// the checkpoint and says so; right after it, it scales.
func TestRestartTimedAfterCheckpoint(t *testing.T) {
	cfg := noDelay()
	mk := func(last time.Duration) func(int) events.Snapshot {
		return func(s int) events.Snapshot {
			snap := growing(s, vtx("src", 2, 500, 41000, 41000), vtx("counter", 3, 1000, 41000, 0, "src"))
			snap.Vertices[0].PendingRecords = ptr(float64(s-80) * 400)
			snap.CheckpointIntervalMs = (10 * time.Minute).Milliseconds()
			c := snap.ObservedAt.Add(-last)
			snap.LastCheckpointAt = &c
			return snap
		}
	}
	o := feedOurs(t, cfg, State{}, 2, mk(9*time.Minute))
	require.Nil(t, o.Decision)
	require.Equal(t, HoldCheckpoint, o.HoldKind, o.Hold)
	o = feedOurs(t, cfg, State{}, 2, mk(5*time.Second))
	require.NotNil(t, o.Decision, o.Hold)
	require.Greater(t, targetsOf(o.Decision)["counter"], 3)
}

// Slot-sharing groups: read from the snapshot (Flink 1.20+), declared in
// the policy for older versions, and learned when a decision timed out
// although the slots it asked for came (the requirements needed more): the
// next decision asks for every vertex's own slots instead of repeating.
func TestSlotSharingGroups(t *testing.T) {
	cfg := noDelay()
	snapWith := func(groups ...string) func(int) events.Snapshot {
		return func(s int) events.Snapshot {
			snap := growing(s, vtx("src", 2, 500, 41000, 41000), vtx("counter", 3, 1000, 41000, 0, "src"))
			for i, g := range groups {
				snap.Vertices[i].SlotSharingGroup = g
			}
			return snap
		}
	}
	shared := feedOurs(t, cfg, State{}, 2, snapWith())
	require.NotNil(t, shared.Decision, shared.Hold)
	c := targetsOf(shared.Decision)["counter"]
	require.Equal(t, c, shared.Decision.TaskManagers.Target, "one group: the largest vertex")

	reported := feedOurs(t, cfg, State{}, 2, snapWith("g1", "g2"))
	require.Equal(t, 2+c, reported.Decision.TaskManagers.Target, "two groups reported: the sum")

	declared := cfg
	declared.Slots.Groups = map[string]string{"src": "sources", "counter": "counters"}
	dec := feedOurs(t, declared, State{}, 2, snapWith())
	require.Equal(t, 2+c, dec.Decision.TaskManagers.Target, "two groups declared: the sum")

	// The shared decision times out while the job holds the slots it asked
	// for but still runs at 3: the layout was wrong.
	st := shared.NewState
	late := func(s int) events.Snapshot {
		snap := snapWith()(s + 400)
		snap.SlotsTotal, snap.TaskManagers = c, c
		return snap
	}
	o := feedOurs(t, cfg, st, 2, late)
	require.True(t, o.NewState.Unfit, o.Hold)
	require.NotNil(t, o.Decision, o.Hold)
	require.Equal(t, 2+targetsOf(o.Decision)["counter"], o.Decision.TaskManagers.Target, "learned: every vertex its own slots")
	// per vertex, or by the groups the slots it holds show (c slots at 2
	// and 3: src and counter apart), the same count
	l := slots.Layout{PerTaskManager: 1, Dedicated: o.Decision.Slots.Sharing == events.SlotSharingDedicated, Groups: o.Decision.Slots.Groups}
	n, err := l.Needed(targetsOf(o.Decision))
	require.NoError(t, err)
	require.Equal(t, 2+targetsOf(o.Decision)["counter"], n, "src and counter in slots of their own")

	// A decision that only lowered vertices and was never applied (actuate
	// skipped it, or ran dry) fits any layout: it teaches nothing.
	// (The job holds the 3 slots one group needs: it shows no groups.)
	down := st
	down.Rescale = &Rescale{At: st.Rescale.At, Targets: map[string]int{"src": 1, "counter": 1}}
	o = feedOurs(t, cfg, down, 2, func(s int) events.Snapshot {
		snap := late(s)
		snap.SlotsFree = c - 3
		return snap
	})
	require.False(t, o.NewState.Unfit, "a scale-down that did not apply marked the layout unfit")
}

// timedOutWithSlots feeds the job on from first's decision 400 s later,
// its slots and TaskManagers those the decision's counter asked for, but
// the job still at mk's parallelism: a scale-up that timed out while its
// slots registered.
func timedOutWithSlots(t *testing.T, cfg Config, first Output, mk func(sec int) events.Snapshot) Output {
	t.Helper()
	c := targetsOf(first.Decision)["counter"]
	return feedOurs(t, cfg, first.NewState, 2, func(s int) events.Snapshot {
		snap := mk(s + 400)
		snap.SlotsTotal, snap.TaskManagers = c, c
		return snap
	})
}

// In reactive mode Flink runs every vertex at the slots it has: a
// scale-up that timed out while the slots it asked for registered (a
// TaskManager lost or replaced as the job restarted) teaches nothing about
// slot-sharing groups, and the next decision still counts the job's slots
// by its largest vertex (read as hidden groups, ride-surge-reactive-
// failovers counted each vertex's own slots and no size above 6 fitted its
// 12 TaskManagers).
func TestTimedOutReactiveDecisionKeepsTheLayout(t *testing.T) {
	cfg := noDelay()
	cfg.Mode = events.ModeReactive
	mk := func(s int) events.Snapshot {
		return growing(s, vtx("src", 3, 500, 41000, 41000), vtx("counter", 3, 1000, 41000, 0, "src"))
	}
	first := feedOurs(t, cfg, State{}, 2, mk)
	require.NotNil(t, first.Decision, first.Hold)
	require.Greater(t, targetsOf(first.Decision)["counter"], 3)

	o := timedOutWithSlots(t, cfg, first, mk)
	require.False(t, o.NewState.Unfit, "a timed-out reactive decision marked the layout unfit")
	require.NotNil(t, o.Decision, o.Hold)
	require.NotContains(t, o.Decision.Rationale, "slots counted per vertex")
}

// A job whose every vertex reports its slot-sharing group (Flink 1.20+)
// has none hidden: a scale-up that timed out while the slots it asked for
// registered (Flink 2 waiting for a checkpoint that failed, the change
// rolled back) teaches nothing about the layout, and the next decision
// still shares the slots instead of asking for every vertex's own.
func TestTimedOutDecisionWithReportedGroupsKeepsTheLayout(t *testing.T) {
	cfg := noDelay()
	reported := func(s int) events.Snapshot {
		snap := growing(s, vtx("src", 2, 500, 41000, 41000), vtx("counter", 3, 1000, 41000, 0, "src"))
		for i := range snap.Vertices {
			snap.Vertices[i].SlotSharingGroup = "default-group-id"
		}
		return snap
	}
	first := feedOurs(t, cfg, State{}, 2, reported)
	require.NotNil(t, first.Decision, first.Hold)
	c := targetsOf(first.Decision)["counter"]
	require.Equal(t, c, first.Decision.TaskManagers.Target, "one reported group: the largest vertex")

	o := timedOutWithSlots(t, cfg, first, reported)
	require.False(t, o.NewState.Unfit, "a timed-out decision of a job reporting its groups marked the layout unfit")
	require.NotNil(t, o.Decision, o.Hold)
	require.Equal(t, targetsOf(o.Decision)["counter"], o.Decision.TaskManagers.Target, "still one group: the largest vertex")
	require.NotEqual(t, events.SlotSharingDedicated, o.Decision.Slots.Sharing)
}

// A legacy source whose busy time is NaN (missing in the snapshot) does
// not hold the job: the saturated vertex behind it still scales.
func TestNaNSourceDoesNotBlock(t *testing.T) {
	o := feedOurs(t, noDelay(), State{}, 2, func(s int) events.Snapshot {
		snap := growing(s, vtx("src", 2, 0, 41000, 41000), vtx("counter", 3, 1000, 41000, 0, "src"))
		snap.Vertices[0].BusyMsPerSecond = nil
		snap.Vertices[0].Incomplete = []string{"busyMsPerSecond"}
		snap.Incomplete = []string{"vertex src: busyMsPerSecond"}
		snap.Complete = false
		return snap
	})
	require.NotNil(t, o.Decision, o.Hold)
	require.Greater(t, targetsOf(o.Decision)["counter"], 3)

	// Something missing beyond a source's own metrics still holds.
	o = feedOurs(t, noDelay(), State{}, 2, func(s int) events.Snapshot {
		snap := growing(s, vtx("src", 2, 500, 41000, 41000), vtx("counter", 3, 1000, 41000, 0, "src"))
		snap.Incomplete = []string{"cluster overview unavailable"}
		snap.Complete = false
		return snap
	})
	require.Equal(t, HoldIncomplete, o.HoldKind)
}

// A source whose busy time under-reads (40 %) while its lag grows and it is
// not back-pressured is sized from what it is seen to read: it scales.
func TestSourceBusyUnderReads(t *testing.T) {
	o := feedOurs(t, noDelay(), State{}, 8, func(s int) events.Snapshot {
		snap := snapAt(s, vtx("src", 2, 400, 40000, 40000), vtx("map", 4, 500, 40000, 40000, "src"))
		snap.Vertices[0].PendingRecords = ptr(400000 + float64(s-80)*10000)
		return snap
	})
	require.NotNil(t, o.Decision, o.Hold)
	require.Greater(t, targetsOf(o.Decision)["src"], 2)
	require.Contains(t, o.Decision.Vertices[0].Reason, "observed from its growing lag")
}

// A source whose lag grows since a step up is not taken to read at its
// capacity: its rate meter, averaging the last minute, still rises from
// the lower load it read before the step (15 k rec/s, then the 30 k the
// busy vertex behind it passes). That vertex scales; the source, 20 %
// busy, is not sized up for it (it goes up only with its slot-sharing
// group, which costs no slot). The offered rate is read from the freshest samples
// (30 k), where the minute's rates show 20 k, and the rationale says so.
func TestSourceLagAtAStepIsNotItsCapacity(t *testing.T) {
	o := feedOurs(t, noDelay(), pinned, 8, func(s int) events.Snapshot {
		in := 15000 + 15000*min(float64(max(s-130, 0))/60, 1)
		snap := snapAt(s, vtx("src", 2, 200, in, in), vtx("map", 2, 900, in, in, "src"))
		snap.Vertices[0].PendingRecords = ptr(float64(max(s-130, 0)) * 15000)
		return snap
	})
	require.NotNil(t, o.Decision, o.Hold)
	require.Greater(t, targetsOf(o.Decision)["map"], 2)
	// the source goes up only with its slot-sharing group (raiseSources),
	// not for a capacity read from its lag
	require.Equal(t, targetsOf(o.Decision)["map"], targetsOf(o.Decision)["src"], "%s", o.Decision.Vertices[0].Reason)
	require.Contains(t, o.Decision.Vertices[0].Reason, "with its slot-sharing group")
	require.NotContains(t, o.Decision.Vertices[0].Reason, "observed from its growing lag")
	require.Contains(t, o.Decision.Rationale, "a step up read over the last 20s; the minute's rates show 20.0k")
}

// A source without pendingRecords: with a user lag metric the lag counts;
// without one, a saturated job is sized beyond what it is seen to read.
func TestSourceWithoutPendingRecords(t *testing.T) {
	mk := func(s int) events.Snapshot {
		snap := snapAt(s, vtx("src", 2, 500, 41000, 41000), vtx("counter", 3, 1000, 41000, 0, "src"))
		snap.Vertices[0].PendingRecords = nil
		return snap
	}
	o := feedOurs(t, noDelay(), State{}, 2, mk)
	require.NotNil(t, o.Decision, o.Hold)
	require.Greater(t, targetsOf(o.Decision)["counter"], 3)
	require.Contains(t, o.Decision.Rationale, "shows no backlog")

	st := ObserveMetric(State{}, events.Metric{Name: "lag", Value: 5e6, ObservedAt: t0.Add(75 * time.Second)})
	o = feedOurs(t, noDelay(), st, 2, mk)
	require.NotNil(t, o.Decision, o.Hold)
	require.Contains(t, o.Decision.Rationale, "lag ")
}

// Efficiency is fitted to every parallelism measured, and its uncertainty
// shrinks with more of them; a scale-up that added almost no capacity marks
// the vertex ineffective above it, and sizing stops there.
func TestEfficiencyAndIneffectiveScaling(t *testing.T) {
	curve := func(p int, noise float64) CapPoint {
		return CapPoint{P: p, Rate: 1000 * pow(float64(p), 0.7-1) * (1 + noise)}
	}
	a2, sd2, _ := fitExponent([]CapPoint{curve(2, 0), curve(8, 0)}, CapPoint{}, 0.9)
	a4, sd4, n := fitExponent([]CapPoint{curve(2, 0.03), curve(4, -0.03), curve(8, 0.02), curve(16, 0)}, CapPoint{}, 0.9)
	require.Equal(t, 4, n)
	require.InDelta(t, 0.7, a2, 0.06)
	require.InDelta(t, 0.7, a4, 0.06)
	require.Less(t, sd4, sd2)

	var s Scaling
	s = addPoint(s, CapPoint{P: 4, Rate: 10000}, 0)
	s = addPoint(s, CapPoint{P: 8, Rate: 5100}, 0) // 40.8k total against 40k: +2 % for ×2
	require.Equal(t, 8, s.Ineffective)
	v := vertexView{cur: 8, rate: 5100, est: estimate{in: 40000}}
	sc := scaling{a: 0.3, ineffective: s.Ineffective}
	require.Equal(t, 8, sizeVertex(&v, sc, 80000, 80000, 128, 1, &capMemo{v: &v, a: sc.a}))
}

// A vertex running below every parallelism it was measured at fits its
// current run's reading too, before learnScaling stores it (real Flink at
// fast timing released each step ~80 s into the last one's run, on one
// measured parallelism: docs/BENCHMARK.md "Real Flink (session 23,
// s23real)"); at or above a measured parallelism the reading waits for
// learnScaling, and a reading learnScaling would not store is not fitted.
func TestEfficiencyFitsARunBelowTheMeasured(t *testing.T) {
	cfg := Defaults()
	st := State{Scaling: map[string]Scaling{"count": {Points: []CapPoint{{P: 60, Rate: 47}}}}}
	fit := func(cur int, rate, busy float64, observed bool) scaling {
		j := jobView{vs: []vertexView{{id: "count", cur: cur, rate: rate, observed: observed, est: estimate{busy: busy}}}}
		return scalingFor(new(scratch), st, j, cfg)[0]
	}
	// wordcount-flatmap's count on the sandbox: 47 a subtask at 60, 59 at 40.
	below := fit(40, 59, 0.35, false)
	require.Equal(t, 2, below.fitted)
	require.Less(t, below.a, cfg.Efficiency.Prior-0.03, "scales worse than the prior: a smaller release reads more a subtask")
	require.Less(t, below.sd, priorSD)
	for _, sc := range []scaling{fit(80, 40, 0.9, false), fit(60, 50, 0.9, false), fit(40, 59, 0.2, false), fit(40, 59, 0.35, true)} {
		require.Equal(t, 1, sc.fitted)
		require.InDelta(t, cfg.Efficiency.Prior, sc.a, 1e-9)
	}
	st.Scaling = nil
	require.Equal(t, 0, fit(40, 59, 0.35, false).fitted, "nothing measured yet: the prior")
}

// A vertex read saturated leaves its rate at that parallelism
// (learnSaturation): a release to it or below is priced at most at what it
// carried there, whatever the fitted exponent extrapolates; sizing at or
// above the current parallelism is not bounded. The reading goes after an
// hour, or once the vertex carries more unsaturated at that parallelism or
// below; the given State is never changed.
func TestReleaseBoundedBySaturatedReading(t *testing.T) {
	book := func(cur int, rate, in, busy float64) jobView {
		return jobView{vs: []vertexView{{id: "book", cur: cur, rate: rate, lowRate: rate, units: 40, est: estimate{in: in, busy: busy}}}}
	}
	// orderbook-hotsymbol's keyed book: 7.97k saturated at 1 subtask
	st := learnSaturation(State{}, book(1, 7970, 7970, 1), true, t0, time.Minute)
	require.Equal(t, []Saturation{{P: 1, Rate: 7970, At: t0}}, st.Scaling["book"].Saturated)
	require.Equal(t, st, learnSaturation(st, book(1, 7970, 7970, 1), false, t0.Add(time.Minute), time.Minute), "a job not running leaves no reading")

	// back at 3 subtasks, fitted to p^0.62: 1 subtask would carry 9.1k
	j := book(3, 6000, 8000, 0.48)
	before := st
	st = learnSaturation(st, j, true, t0.Add(2*time.Minute), time.Minute)
	require.Equal(t, before, st, "unsaturated at 3, above the reading's parallelism: kept")
	v := j.vs[0]
	sc := scaling{a: 0.62}
	require.InDelta(t, 6000*math.Pow(3, 0.38), capacityAt(&v, 1, sc.a), 1, "the fit alone: 9.1k")
	v.saturated = st.Scaling["book"].Saturated
	require.InDelta(t, 7970, capacityAt(&v, 1, sc.a), 1e-9, "a release to 1 is priced at what 1 carried")
	require.InDelta(t, capacityAt(&vertexView{cur: 3, rate: 6000, lowRate: 6000, units: 40}, 2, sc.a), capacityAt(&v, 2, sc.a), 1e-9,
		"2 subtasks is above the reading: the model's")
	require.Equal(t, 2, sizeVertex(&v, sc, 8000, 8000, 40, 1, &capMemo{v: &v, a: sc.a}), "8k needs 2 subtasks, not 1")
	require.Contains(t, string(appendVertexReason(nil, v, sc, 7000, 1)), "1 subtasks priced at 8.0k rec/s, what 1 carried saturated, not the efficiency's 9.1k")
	require.NotContains(t, string(appendVertexReason(nil, v, sc, 7000, 2)), "carried saturated")

	// unsaturated at 1 and carrying more than the reading: it was low
	later := learnSaturation(st, book(1, 9500, 8500, 0.9), true, t0.Add(5*time.Minute), time.Minute)
	require.Empty(t, later.Scaling["book"].Saturated)
	require.Len(t, st.Scaling["book"].Saturated, 1, "the given State is not changed")
	// an hour on: gone
	require.Empty(t, learnSaturation(st, book(3, 6000, 8000, 0.48), true, t0.Add(time.Hour), time.Minute).Scaling["book"].Saturated)
	// a new reading at the same parallelism replaces the old
	again := learnSaturation(st, book(1, 7800, 7800, 0.99), true, t0.Add(10*time.Minute), time.Minute)
	require.Equal(t, []Saturation{{P: 1, Rate: 7800, At: t0.Add(10 * time.Minute)}}, again.Scaling["book"].Saturated)
	// a source read from its backlog, or an idle vertex, leaves none
	obs := book(1, 7970, 7970, 1)
	obs.vs[0].observed = true
	require.Empty(t, learnSaturation(State{}, obs, true, t0, time.Minute).Scaling)
}

// The load's shape: rises seen in two earlier periods at this time of the
// period are forecast; one period is not a repeat; periods that disagree
// are not a shape.
func TestForecastNeedsARepeat(t *testing.T) {
	period := 2 * time.Hour
	var p *Profile
	rate := func(k int, t time.Duration) float64 {
		base := 10000.0
		if t >= 60*time.Minute {
			base = 20000 * (1 + 0.1*float64(k%2))
		}
		return base
	}
	start := t0.Truncate(period)
	feedPeriods := func(n int) {
		for k := range n {
			for t := time.Duration(0); t < period; t += time.Minute {
				p = p.withSample(period, start.Add(time.Duration(k)*period+t), rate(k, t))
			}
		}
	}
	now := func(k int) time.Time { return start.Add(time.Duration(k)*period + 58*time.Minute) }
	feedPeriods(1)
	p = p.withSample(period, now(1), 10000)
	f, _ := p.rise(now(1), 3*time.Minute, 10000)
	require.Equal(t, 1.0, f, "one period is no repeat")

	p = nil
	feedPeriods(3)
	p = p.withSample(period, now(3), 10000)
	f, why := p.rise(now(3), 3*time.Minute, 10000)
	require.InDelta(t, 2.0, f, 0.01)
	require.True(t, strings.HasPrefix(why, "forecast"), why)
	require.Len(t, p.Rates, profileCycles)
}

// withSample shares the periods it does not write with the profile it was
// given and never changes that profile: a sample in the current period, in
// a new one, and from a past one.
func TestProfileWithSampleLeavesItsInputAlone(t *testing.T) {
	period := time.Hour
	start := t0.Truncate(period)
	var p *Profile
	for m := range 150 {
		p = p.withSample(period, start.Add(time.Duration(m)*time.Minute), float64(1000+m))
	}
	require.Len(t, p.Rates, 3)
	before, err := json.Marshal(p)
	require.NoError(t, err)
	for _, at := range []time.Duration{149 * time.Minute, 185 * time.Minute, 30 * time.Minute} {
		q := p.withSample(period, start.Add(at), 5000)
		after, err := json.Marshal(p)
		require.NoError(t, err)
		require.JSONEq(t, string(before), string(after), "sample at %s changed its input", at)
		if at == 149*time.Minute {
			require.Equal(t, p.Rates[1:], q.Rates[1:])
			require.InDelta(t, (1149.0+5000)/2, q.Rates[0][profileBuckets*29/60], 1e-9)
		}
	}
}

func pow(x, y float64) float64 { return math.Pow(x, y) }

// Unplanned restarts are learned: a job failing over every half hour
// without a decision of ours is priced at the rate it showed (over the
// last two hours), and the hold says so; the restarts of our own decisions
// are not counted.
func TestFailoversLearned(t *testing.T) {
	job := newSimJob(t0, []string{"source", "map", "sink"},
		[]float64{1e6, 2000, 1e6}, []float64{1, 1, 1}, []float64{1, 1, 0}, []int{1, 8, 1}, 30)
	st := pinned
	var o Output
	for s := 1; s <= 5400; s++ {
		if s%1800 == 0 {
			job.downLeft = job.restart // a failover: same parallelism, a new run
		}
		job.step(10000)
		if s%10 != 0 || job.downLeft > 0 { // restarting: not RUNNING
			continue
		}
		snap := job.snapshot()
		o = Decide(Input{Snapshot: snap, State: st, Config: Defaults(), Now: snap.ObservedAt})
		require.Nil(t, o.Decision, "a job with 60 %% headroom is kept: %v", o.Decision)
		st = o.NewState
	}
	require.Len(t, st.Failovers, 2, "the failovers at 30 and 60 min (the one at 90 min is still restarting)")
	require.Contains(t, o.Hold, "1.0 failovers/h (2 seen)")

	wc := newSimJob(t0, []string{"source", "flatmap", "count"},
		[]float64{1e6, 100e3 / 60, 1e6 / 60}, []float64{1, 1, 1}, []float64{1, 20, 0}, []int{1, 1, 1}, 30)
	var wst State
	decided := 0
	for s := 1; s <= 1800; s++ {
		wc.step(1e6 / 60)
		if s%10 != 0 {
			continue
		}
		snap := wc.snapshot()
		out := Decide(Input{Snapshot: snap, State: wst, Config: Defaults(), Now: snap.ObservedAt})
		wst = out.NewState
		if out.Decision != nil {
			decided++
			wc.apply(out.Decision)
		}
	}
	require.Positive(t, decided)
	require.Empty(t, wst.Failovers, "our own rescales are not failovers")
}

// A source that reported pendingRecords before a restart and not yet
// after it is waited for (up to pendingGrace), not sized blind; one that
// never reported it is sized blind at once.
func TestAwaitPendingAfterRestart(t *testing.T) {
	epoch := t0.Add(time.Hour)
	before := Sample{At: epoch.Add(-time.Minute), V: []VertexSample{{Pending: 5000}, {Pending: -1}}}
	never := Sample{At: epoch.Add(-time.Minute), V: []VertexSample{{Pending: -1}, {Pending: -1}}}
	view := jobView{vs: []vertexView{{name: "Source: orders", source: true, est: estimate{pending: -1}}, {name: "map", est: estimate{pending: -1}}}}
	cases := []struct {
		name   string
		window []Sample
		after  time.Duration
		waits  bool
	}{
		{"reported before, 90 s into the run", []Sample{before}, 90 * time.Second, true},
		{"reported before, past the grace", []Sample{before}, pendingGrace, false},
		{"never reported", []Sample{never}, 90 * time.Second, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			msg := awaitPending(State{Epoch: epoch, Window: c.window}, view, epoch.Add(c.after))
			require.Equal(t, c.waits, msg != "", msg)
			if c.waits {
				require.Contains(t, msg, "Source: orders has not reported pendingRecords")
			}
		})
	}
}

// A session-mode job on Flink before 1.20 (no group reported) whose
// scale-up timed out while the slots its targets need by the policy's
// count were there for it (the cluster's free slots plus what its running
// parallelism needs) has slot-sharing groups nobody declared: the layout
// is learned unfit and the next decision counts every vertex's own slots,
// instead of asking again for a kind of size the job never reaches
// (logs-dedupe-session-spikes: 3.5 failed actuations a run, 1.0 after).
// When other jobs took the free slots meanwhile, the time-out says
// nothing of groups and the layout stays.
func TestSessionTimedOutDecisionLearnsHiddenGroups(t *testing.T) {
	cfg := noDelay()
	cfg.Mode = events.ModeSession
	cfg.Slots.PerTaskManager = 2
	mk := func(free int) func(int) events.Snapshot {
		return func(s int) events.Snapshot {
			snap := growing(s, vtx("src", 2, 500, 41000, 41000), vtx("counter", 3, 1000, 41000, 0, "src"))
			snap.SlotsTotal, snap.SlotsFree, snap.TaskManagers = 40, free, 20
			return snap
		}
	}
	first := feedOurs(t, cfg, State{}, 2, mk(30))
	require.NotNil(t, first.Decision, first.Hold)
	c := targetsOf(first.Decision)["counter"]
	require.Greater(t, c, 3)
	require.LessOrEqual(t, c, 30+3, "within the free slots and the job's own")

	late := func(free int) Output {
		return feedOurs(t, cfg, first.NewState, 2, func(s int) events.Snapshot { return mk(free)(s + 400) })
	}
	o := late(30)
	require.True(t, o.NewState.Unfit, o.Hold)
	if o.Decision != nil {
		require.Equal(t, events.SlotSharingDedicated, o.Decision.Slots.Sharing, "learned: every vertex its own slots")
	}

	taken := late(0)
	require.False(t, taken.NewState.Unfit, "other jobs' slots kept the target from fitting: no groups learned")
}

// Once a session-mode job's layout is learned unfit, with keeping chosen, the parallelism the job runs at is declared again, every
// vertex kept: the declaration that timed out would otherwise stay Flink's
// requirements, and the job's next restart would wait for ever for lower
// bounds the cluster's slots do not meet (logs-dedupe-session-spikes seed
// 142007: down from 30m31s to the end, p99 10,047 → 151 s). Once only:
// the next decision declares its own.
func TestSessionUnfitDeclarationWithdrawn(t *testing.T) {
	cfg := noDelay()
	cfg.Mode = events.ModeSession
	cfg.Slots.PerTaskManager = 2
	mk := func(s int) events.Snapshot {
		snap := growing(s, vtx("src", 2, 500, 41000, 41000), vtx("counter", 3, 1000, 41000, 0, "src"))
		snap.SlotsTotal, snap.SlotsFree, snap.TaskManagers = 40, 30, 20
		return snap
	}
	first := feedOurs(t, cfg, State{}, 2, mk)
	require.NotNil(t, first.Decision, first.Hold)
	// the load fell; the job carries it at 2/3 and runs below the targets
	calm := func(s int) events.Snapshot {
		snap := snapAt(s+400, vtx("src", 2, 300, 20000, 20000), vtx("counter", 3, 600, 20000, 0, "src"))
		snap.SlotsTotal, snap.SlotsFree, snap.TaskManagers = 40, 30, 20
		return snap
	}
	o := feedOurs(t, cfg, first.NewState, 6, calm)
	require.True(t, o.NewState.Unfit, o.Hold)
	require.NotNil(t, o.Decision, o.Hold)
	require.False(t, o.NewState.Withdraw)
	require.Equal(t, map[string]int{"src": 2, "counter": 3}, targetsOf(o.Decision), "every vertex kept")
	require.Contains(t, o.Decision.Rationale, "withdrawn")

	s := calm(160)
	again := Decide(Input{Snapshot: s, State: o.NewState, Config: cfg, Now: s.ObservedAt})
	if again.Decision != nil {
		require.NotContains(t, again.Decision.Rationale, "withdrawn", "once only")
	}
}
