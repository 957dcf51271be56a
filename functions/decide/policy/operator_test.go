package policy

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// TestOperatorAlignment: the operator's key-group alignment in each mode
// (reference §2.10), on 128 key groups and on 4 source partitions.
func TestOperatorAlignment(t *testing.T) {
	tests := []struct {
		name                   string
		mode                   string
		units, cur, target, lo int
		want                   int
	}{
		// 2 → 6 on 128 key groups: the releases take the next divisor,
		// main also any p lowering the share (128/7 = 18 < 21).
		{"up, evenly spread", AlignEvenlySpread, 128, 2, 6, 1, 8},
		{"up, maximize utilisation", AlignMaximizeUtilisation, 128, 2, 6, 1, 7},
		{"up, balanced", AlignBalanced, 128, 2, 6, 1, 7},
		{"up, off", AlignOff, 128, 2, 6, 1, 6},
		{"a divisor stays", AlignEvenlySpread, 128, 2, 16, 1, 16},
		// 2 → 6 on 4 partitions: nothing upward; the releases fall back to
		// the partition count, main keeps the target.
		{"more than the partitions, evenly spread", AlignEvenlySpread, 4, 2, 6, 1, 4},
		{"more than the partitions, balanced", AlignBalanced, 4, 2, 6, 1, 6},
		// 8 → 5 on 12 partitions: down to the current at most; 6 divides.
		{"down", AlignEvenlySpread, 12, 8, 5, 1, 6},
		// 4 → 3 on 8: the downward scan includes the current parallelism,
		// a divisor: no change.
		{"down to the current", AlignEvenlySpread, 8, 4, 3, 1, 4},
		// 6 → 4 on 9 partitions, scan [4, 6]: no divisor; the fallback
		// walks down to 3, the first p with a larger share (9/3 = 3 >
		// 9/4 = 2), a divisor: 3.
		{"down, fallback", AlignEvenlySpread, 9, 6, 4, 1, 3},
		// 3 → 2 on 7 partitions with a floor of 3: the fallback would
		// invert the direction: blocked at the current.
		{"blocked", AlignEvenlySpread, 7, 3, 2, 3, 3},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := NewFlinkOperator()
			f.Alignment = tt.mode
			vp := &vplan{units: tt.units, maxPar: 128, cur: tt.cur, p: tt.target}
			if got := f.align(vp, tt.lo, 200); got != tt.want {
				t.Errorf("align %d→%d on %d: got %d, want %d", tt.cur, tt.target, tt.units, got, tt.want)
			}
		})
	}
}

// TestOperatorDecidesAgainWhileInFlight: as the operator's own loop does,
// the baseline keeps evaluating while its rescale waits to show (the job
// runs on at its old parallelism), does not decide the same targets twice,
// decides again once its targets change, and once the job restarted at
// them waits for a new window.
func TestOperatorDecidesAgainWhileInFlight(t *testing.T) {
	f := NewFlinkOperator()
	f.Stabilization, f.Window = 10*time.Second, time.Minute
	cfg := Defaults()
	var st State
	var decisions []*events.Decision
	held := 0
	pending, growth := 0.0, 2000.0
	run, p := t0, 2
	for sec := 0; sec < 220; sec += 10 { // 220 s: the restart, stabilization and a window later
		if sec == 100 {
			growth = 8000 // the backlog grows faster: the targets rise
		}
		if sec == 150 { // the job restarts at the latest decision's targets
			run, p = t0.Add(150*time.Second), decisions[len(decisions)-1].Vertices[1].Target
		}
		pending += 10 * growth
		src := vtx("src", 2, 500, 10000, 10000)
		src.PendingRecords = ptr(pending)
		s := snapAt(sec, src, vtx("map", p, 1000, 10000, 10000, "src"))
		s.RunningSince = &run
		out := f.Decide(Input{Snapshot: s, State: st, Config: cfg, Now: s.ObservedAt})
		st = out.NewState
		if out.Decision == nil {
			if out.HoldKind == HoldInFlight {
				held++
			}
			continue
		}
		require.Less(t, sec, 150, "nothing before a new window after the restart")
		if n := len(decisions); n > 0 {
			require.NotEqual(t, targetsOf(decisions[n-1]), targetsOf(out.Decision), "at %ds: the same targets decided twice", sec)
			require.Equal(t, 2, out.Decision.Vertices[1].Current, "decided again while the job still ran at its old parallelism")
		}
		decisions = append(decisions, out.Decision)
	}
	require.Greater(t, len(decisions), 1, "decided again once the targets changed before the first showed")
	require.Positive(t, held, "the same targets are held, not decided again")
}
