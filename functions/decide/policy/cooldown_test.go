package policy

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// stepCooldown with MinInterval 60 s: a decision at t0 whose restart ran
// again at t0+50 s holds until t0+110 s; without a decision of ours nothing
// holds, even right after a restart; MinInterval 0 turns it off.
func TestCooldown(t *testing.T) {
	decided := &Rescale{DecisionID: "d", At: t0}
	cases := []struct {
		name    string
		rescale *Rescale
		epoch   time.Time
		now     time.Duration
		min     time.Duration
		hold    bool
	}{
		{name: "decision 40 s ago, no restart yet", rescale: decided, epoch: t0.Add(-time.Hour), now: 40 * time.Second, min: time.Minute, hold: true},
		{name: "restart ran again 50 s ago", rescale: decided, epoch: t0.Add(50 * time.Second), now: 100 * time.Second, min: time.Minute, hold: true},
		{name: "restart ran again 60 s ago", rescale: decided, epoch: t0.Add(50 * time.Second), now: 110 * time.Second, min: time.Minute},
		{name: "no decision of ours", epoch: t0, now: 20 * time.Second, min: time.Minute},
		{name: "turned off", rescale: decided, epoch: t0.Add(50 * time.Second), now: 60 * time.Second},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := Defaults()
			cfg.MinInterval = c.min
			r := &run{cfg: cfg, st: State{Rescale: c.rescale, Epoch: c.epoch}, now: t0.Add(c.now)}
			h := stepCooldown(r)
			require.Equal(t, c.hold, h != nil, "%+v", h)
			if c.hold {
				require.Equal(t, HoldCooldown, h.kind)
			}
		})
	}
}

// coScale, utilization target 99 %: "count" scales up 2 → 5; "filter", at
// 100 % busy carrying 150k rec/s at 150k per subtask (linear), is above the
// target and is sized with it: 150k ÷ 0.99 → 2 subtasks, with a note; "sink"
// at 50 % is below the target and stays; nothing scales up → nothing moves.
func TestCoScale(t *testing.T) {
	mk := func(countP int) *run {
		return &run{
			cfg:  Defaults(),
			snap: &events.Snapshot{},
			vs: []vplan{
				{id: "f", name: "filter", cur: 1, p: 1, hi: 100, exponent: 1, util: 1.0, target: 150e3,
					est: estimate{perSubtask: 150e3, busy: 1}},
				{id: "c", name: "count", cur: 2, p: countP, hi: 100, exponent: 1, util: 2.5},
				{id: "s", name: "sink", cur: 1, p: 1, hi: 100, exponent: 1, util: 0.5, target: 25e3,
					est: estimate{perSubtask: 50e3, busy: 0.5}},
			},
		}
	}
	r := mk(5)
	r.coScale(0.99, false, 1)
	require.Equal(t, []int{2, 5, 1}, []int{r.vs[0].p, r.vs[1].p, r.vs[2].p})
	require.Contains(t, r.vs[0].notes[0], "co-scaled: 100% busy, above the 99% target")
	require.Empty(t, r.vs[2].notes)

	r = mk(2)
	r.coScale(0.99, false, 1)
	require.Equal(t, 1, r.vs[0].p, "no scale-up: no restart to join")
}
