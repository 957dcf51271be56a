package flinksim

import (
	"testing"

	"github.com/stretchr/testify/require"
)

func TestParseWorkload(t *testing.T) {
	cases := []struct {
		in   string
		want Workload
		ok   bool
	}{
		{"flink/taskmanager", Workload{"deployments", "flink", "taskmanager"}, true},
		{"deployments/flink/tm", Workload{"deployments", "flink", "tm"}, true},
		{"Deployment/flink/tm", Workload{"deployments", "flink", "tm"}, true},
		{"sts/flink/tm", Workload{"statefulsets", "flink", "tm"}, true},
		{"replicasets/flink/tm", Workload{"replicasets", "flink", "tm"}, true},
		{"tm", Workload{}, false},
		{"pods/flink/tm", Workload{}, false},
		{"flink/", Workload{}, false},
		{"a/b/c/d", Workload{}, false},
	}
	for _, tc := range cases {
		t.Run(tc.in, func(t *testing.T) {
			got, err := ParseWorkload(tc.in)
			if !tc.ok {
				require.ErrorIs(t, err, ErrInvalidWorkload)
				return
			}
			require.NoError(t, err)
			require.Equal(t, tc.want, got)
		})
	}
}
