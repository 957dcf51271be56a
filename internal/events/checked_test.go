package events

import (
	"context"
	"testing"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	"github.com/stretchr/testify/require"
)

// DataOf returns what Data decodes: the checked data for the event
// WithChecked checked, a fresh decode for any other event or context.
func TestDataOfIsData(t *testing.T) {
	snap := sampleSnapshot()
	ev, err := New(TypeSnapshot, "metrics-ingest", snap.Cluster, snap.JobID, snap)
	require.NoError(t, err)
	other := sampleSnapshot()
	other.JobName = "another"
	otherEv, err := New(TypeSnapshot, "metrics-ingest", other.Cluster, other.JobID, other)
	require.NoError(t, err)
	subject, err := SubjectOf(ev)
	require.NoError(t, err)
	ctx, err := WithChecked(context.Background(), subject, ev)
	require.NoError(t, err)

	for _, tc := range []struct {
		name string
		ctx  context.Context
		ev   cloudevents.Event
		want Snapshot
	}{
		{"checked event", ctx, ev, snap},
		{"another event", ctx, otherEv, other},
		{"no check", context.Background(), ev, snap},
	} {
		t.Run(tc.name, func(t *testing.T) {
			want, err := Data[Snapshot](tc.ev)
			require.NoError(t, err)
			got, err := DataOf[Snapshot](tc.ctx, tc.ev)
			require.NoError(t, err)
			require.Equal(t, want, got)
			require.Equal(t, tc.want.JobName, got.JobName)
		})
	}
	_, err = DataOf[Metric](ctx, ev) // another type than the check decoded: decoded as Data does
	_, wantErr := Data[Metric](ev)
	require.Equal(t, wantErr, err)
}

// WithChecked refuses what Check refuses, with the same error.
func TestWithCheckedIsCheck(t *testing.T) {
	snap := sampleSnapshot()
	ev, err := New(TypeSnapshot, "metrics-ingest", snap.Cluster, snap.JobID, snap)
	require.NoError(t, err)
	for _, subject := range []string{SnapshotSubject(snap.Cluster, snap.JobID), SnapshotSubject(snap.Cluster, "other"), "junk"} {
		_, err := WithChecked(context.Background(), subject, ev)
		require.Equal(t, Check(subject, ev), err)
	}
}
