package policy

import "testing"

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
