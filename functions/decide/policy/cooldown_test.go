package policy

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// gateCooldown with MinInterval 60 s: a decision at t0 whose restart ran
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
			st := State{Rescale: c.rescale, Epoch: c.epoch}
			out, h := gateCooldown(gateInput{snap: &events.Snapshot{}, cfg: cfg, now: t0.Add(c.now)}, st)
			require.Equal(t, st, out, "cooldown changes no state")
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
	require.Contains(t, r.vs[0].notes[0], "co-scaled in the same restart (100% busy)")
	require.Empty(t, r.vs[2].notes)

	r = mk(2)
	r.coScale(0.99, false, 1)
	require.Equal(t, 1, r.vs[0].p, "no scale-up: no restart to join")
}

// drainSpare, SLO 30 s, budget 2 SLOs (60 s), a job checkpointing every
// 60 s (replay 6 s), last restart 50 s from decision to running of which
// 30 s outage:
//   - a spike: 150k offered, 65k read, 1.5M pending (10 s): L = 10 + 30 +
//     6 + 20 × (1 − 65/150) = 57.33 s, 27.33 over → 27.33 ÷ max(60 −
//     27.33, 30) = 0.837;
//   - keeping up, no backlog: L = 36 s, 6 over → 6 ÷ 54 = 0.111;
//   - far behind: 30M pending (200 s): L = 236 s, 206 over → 206 ÷ 30 = 6.87,
//     capped at 2 (a backlog that large is worked off within catchUp);
//   - within the SLO (SLO 60 s): 0.
func TestDrainSpare(t *testing.T) {
	cases := []struct {
		name                   string
		slo                    time.Duration
		pending, offered, read float64
		want                   float64
	}{
		{"spike", 30 * time.Second, 1.5e6, 150e3, 65e3, 27.333 / 32.667},
		{"keeping up", 30 * time.Second, 0, 150e3, 150e3, 6.0 / 54},
		{"far behind", 30 * time.Second, 30e6, 150e3, 150e3, 2},
		{"within the SLO", 60 * time.Second, 0, 150e3, 150e3, 0},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg := Defaults()
			cfg.SLO.MaxLag = c.slo
			r := &run{cfg: cfg, snap: &events.Snapshot{CheckpointIntervalMs: 60000},
				st: State{Outage: 30 * time.Second}, downtime: 50 * time.Second}
			require.InDelta(t, c.want, r.drainSpare(c.pending, c.offered, c.read), 0.001)
		})
	}
}
