package plan

import (
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// Fit brings the steps after a slot wait down to what the registered slots
// allow, under the decision's slot layout.
func TestFit(t *testing.T) {
	shared := events.Slots{PerTaskManager: 2, Sharing: "shared"}
	tests := []struct {
		name    string
		d       events.Decision
		slots   int
		wantReq map[string]Bounds // put and verify (nil: no such steps)
		wantP   map[string]int
		wantErr bool
	}{
		{"shared: every vertex capped at the slots", decision(events.ModeAdaptive, shared, 8, 3), 6,
			reqs(6, 3), map[string]int{"a": 6, "b": 3}, false},
		{"dedicated: the largest lowered first", decision(events.ModeAdaptive, events.Slots{PerTaskManager: 1, Sharing: "dedicated"}, 6, 4), 7,
			reqs(4, 3), map[string]int{"a": 4, "b": 3}, false},
		{"standby's slots stay free", decision(events.ModeAdaptive, events.Slots{PerTaskManager: 2, Standby: 1}, 8), 8,
			reqs(6), map[string]int{"a": 6}, false},
		{"enough slots: unchanged", decision(events.ModeAdaptive, shared, 4, 2), 8,
			reqs(4, 2), map[string]int{"a": 4, "b": 2}, false},
		{"reactive: the slots, standby's included", decision(events.ModeReactive, events.Slots{PerTaskManager: 2, Standby: 1}, 8), 6,
			nil, map[string]int{"a": 6}, false},
		{"no slots at all", decision(events.ModeAdaptive, events.Slots{PerTaskManager: 1, Sharing: "dedicated"}, 3, 3), 1,
			nil, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cur := Current{TaskManagers: 1, Requirements: map[string]Bounds{}}
			for _, v := range tt.d.Vertices {
				cur.Requirements[v.ID] = Bounds{Lower: 1, Upper: 1}
			}
			p, err := For(tt.d, cur, Options{OwnsTaskManagers: true})
			require.NoError(t, err)
			require.Equal(t, KindWaitSlots, p.Steps[1].Kind)
			got, err := Fit(tt.d, p.Steps[2:], tt.slots)
			if tt.wantErr {
				require.ErrorIs(t, err, ErrInvalid)
				return
			}
			require.NoError(t, err)
			for _, s := range got {
				switch s.Kind {
				case KindPutRequirements, KindVerifyRequirements:
					require.Equal(t, tt.wantReq, s.Requirements, s.Kind)
				case KindWaitParallelism:
					require.Equal(t, tt.wantP, s.Parallelism)
				}
			}
			require.Len(t, got, len(p.Steps)-2)
		})
	}
}
