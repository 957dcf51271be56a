package slots

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestTaskManagers(t *testing.T) {
	tests := []struct {
		name   string
		layout Layout
		p      map[string]int
		want   int
	}{
		{"(4,2) shared at 1 slot per TM", Layout{PerTaskManager: 1}, map[string]int{"a": 4, "b": 2}, 4},
		{"(4,2) dedicated at 1 slot per TM", Layout{PerTaskManager: 1, Dedicated: true}, map[string]int{"a": 4, "b": 2}, 6},
		{"p=8 at 4 slots per TM", Layout{PerTaskManager: 4}, map[string]int{"a": 8}, 2},
		{"p=8 at 8 slots per TM with 1 standby", Layout{PerTaskManager: 8, Standby: 1}, map[string]int{"a": 8}, 2},
		{"two sharing groups add their maxima", Layout{PerTaskManager: 2, Groups: map[string]string{"c": "g2"}}, map[string]int{"a": 3, "b": 5, "c": 4}, 5},
		{"no vertices need no TMs but standby", Layout{PerTaskManager: 2, Standby: 1}, map[string]int{}, 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := tt.layout.TaskManagers(tt.p)
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}

func TestInvalidLayout(t *testing.T) {
	for name, l := range map[string]Layout{
		"zero slots per TM": {PerTaskManager: 0},
		"negative standby":  {PerTaskManager: 1, Standby: -1},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := l.TaskManagers(map[string]int{"a": 1})
			require.ErrorIs(t, err, ErrInvalid)
		})
	}
	_, err := Layout{PerTaskManager: 1}.Needed(map[string]int{"a": -1})
	require.ErrorIs(t, err, ErrInvalid)
}
