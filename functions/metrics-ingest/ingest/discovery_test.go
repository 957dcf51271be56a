package ingest

import (
	"testing"

	"github.com/flinkscaler/flinkscaler/internal/flink"
	"github.com/stretchr/testify/require"
)

func TestTrackerPlan(t *testing.T) {
	all := func(string) bool { return true }
	jo := func(id, state string) flink.JobOverview {
		return flink.JobOverview{ID: id, Name: "n-" + id, State: state}
	}
	tests := []struct {
		name   string
		filter []string
		known  []string
		jobs   []flink.JobOverview
		owned  func(string) bool
		want   []pollItem
		after  int
	}{
		{name: "running jobs are polled", jobs: []flink.JobOverview{jo("a", "RUNNING"), jo("b", "RUNNING")},
			want: []pollItem{{JobID: "a", Name: "n-a"}, {JobID: "b", Name: "n-b"}}, after: 2},
		{name: "unknown non-running jobs wait", jobs: []flink.JobOverview{jo("a", "CREATED"), jo("b", "FINISHED")}, after: 0},
		{name: "known restarting job is polled", known: []string{"a"}, jobs: []flink.JobOverview{jo("a", "RESTARTING")},
			want: []pollItem{{JobID: "a", Name: "n-a"}}, after: 1},
		{name: "known job ends: one final poll", known: []string{"a"}, jobs: []flink.JobOverview{jo("a", "CANCELED")},
			want: []pollItem{{JobID: "a", Name: "n-a", Final: true}}, after: 0},
		{name: "known job vanishes: one final poll", known: []string{"a"},
			want: []pollItem{{JobID: "a", Final: true}}, after: 0},
		{name: "filter by name or id", filter: []string{"n-a", "c"},
			jobs: []flink.JobOverview{jo("a", "RUNNING"), jo("b", "RUNNING"), jo("c", "RUNNING")},
			want: []pollItem{{JobID: "a", Name: "n-a"}, {JobID: "c", Name: "n-c"}}, after: 2},
		{name: "jobs of other replicas are left alone", known: []string{"a"},
			jobs:  []flink.JobOverview{jo("a", "RUNNING"), jo("b", "RUNNING")},
			owned: func(id string) bool { return id == "b" },
			want:  []pollItem{{JobID: "b", Name: "n-b"}}, after: 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tr := newTracker(tt.filter)
			for _, k := range tt.known {
				tr.known[k] = true
			}
			owned := tt.owned
			if owned == nil {
				owned = all
			}
			require.Equal(t, tt.want, tr.plan(tt.jobs, owned))
			require.Equal(t, tt.after, tr.jobs())
		})
	}
}

func TestFinalPollHappensOnce(t *testing.T) {
	tr := newTracker(nil)
	all := func(string) bool { return true }
	tr.plan([]flink.JobOverview{{ID: "a", State: "RUNNING"}}, all)
	require.Len(t, tr.plan([]flink.JobOverview{{ID: "a", State: "FINISHED"}}, all), 1)
	require.Empty(t, tr.plan([]flink.JobOverview{{ID: "a", State: "FINISHED"}}, all))
}
