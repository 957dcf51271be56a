package events

import (
	"testing"

	"github.com/stretchr/testify/require"
)

// One reading of a policy entry for every function: YAML and JSON alike.
func TestPolicySwitchesOf(t *testing.T) {
	for _, tt := range []struct {
		name  string
		entry string
		want  PolicySwitches
		err   bool
	}{
		{name: "yaml", entry: "paused: true\n", want: PolicySwitches{Paused: true}},
		{name: "json", entry: `{"paused": true, "dryRun": true}`, want: PolicySwitches{Paused: true, DryRun: true}},
		{name: "other fields only", entry: "utilization: {max: 0.8}\n"},
		{name: "empty", entry: " \n"},
		{name: "not yaml", entry: "paused: [", err: true},
		{name: "not a boolean", entry: "paused: later\n", err: true},
	} {
		t.Run(tt.name, func(t *testing.T) {
			got, err := PolicySwitchesOf([]byte(tt.entry))
			if tt.err {
				require.ErrorIs(t, err, ErrPolicyInvalid)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tt.want, got)
		})
	}
}
