package policy

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// TestIdleTaskManagersReleased: a job sized right for its load, started on
// two TaskManagers of 2 slots where its 2 slots fit on one, the other idle
// (chains-windows on real Flink: the job starts on the first TaskManager
// to register). Decide lets the idle one go in a TaskManager-only
// decision, every vertex kept (no restart), and says what that trades;
// once it is gone, nothing more. Before, decide decided only when a
// parallelism changed, and the idle TaskManager was paid for until the
// first rescale.
func TestIdleTaskManagersReleased(t *testing.T) {
	cases := []struct {
		name string
		mode string
		idle int // idle TaskManagers while there are 2
		// removes: the cluster applies a release (false: a fixed cluster)
		removes bool
		want    []int // TaskManager targets decided, in order
	}{
		{"idle TaskManager released", events.ModeAdaptive, 1, true, []int{1}},
		{"job spread over both: none idle, none released", events.ModeAdaptive, 0, true, nil},
		// once per rescaleTimeout (5 min) in 30 min, not every interval
		{"a release nobody applies is asked again only after rescaleTimeout", events.ModeAdaptive, 1, false, []int{1, 1, 1, 1, 1, 1}},
		{"KEDA mode: the HPA's tolerance would ignore it", events.ModeKEDA, 1, true, nil},
		{"reactive mode: TaskManagers are its parallelism", events.ModeReactive, 1, true, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			cfg := Defaults()
			cfg.Mode = tc.mode
			// 10,000 rec/s on a map of 2 × 8,000: 62 % busy, within its band
			job := newSimJob(t0, []string{"source", "map"}, []float64{1e6, 8000}, []float64{1, 1}, []float64{1, 0}, []int{1, 2}, 30)
			tms := 2
			st := pinned
			var got []int
			for s := 1; s <= 1800; s++ {
				job.step(10000)
				if s%10 != 0 {
					continue
				}
				snap := job.snapshot()
				snap.TaskManagers, snap.SlotsPerTaskManager = tms, 2
				snap.SlotsTotal, snap.SlotsFree = 2*tms, 2*tms-2
				if tms == 2 {
					snap.IdleTaskManagers = tc.idle
				}
				o := Decide(Input{Snapshot: snap, State: st, Config: cfg, Now: snap.ObservedAt})
				st = o.NewState
				d := o.Decision
				if d == nil {
					continue
				}
				for _, v := range d.Vertices {
					require.Equal(t, v.Current, v.Target, "t=%ds: only TaskManagers change: %s", s, d.Rationale)
				}
				require.Equal(t, 2, d.TaskManagers.Current)
				require.Contains(t, d.Rationale, "idle TaskManager")
				require.Contains(t, d.Rationale, "no restart")
				require.Regexp(t, `\d+ slot-s/h\b`, d.Rationale)
				require.Contains(t, d.Rationale, "traded against")
				got = append(got, d.TaskManagers.Target)
				if tc.removes {
					tms = d.TaskManagers.Target
				}
			}
			require.Equal(t, tc.want, got)
		})
	}
}
