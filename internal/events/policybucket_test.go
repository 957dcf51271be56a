package events

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
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

// mapBucket is a policy bucket in memory.
type mapBucket map[string]string

func (m mapBucket) Get(_ context.Context, key string) (jetstream.KeyValueEntry, error) {
	v, ok := m[key]
	if !ok {
		return nil, jetstream.ErrKeyNotFound
	}
	return policyEntry(v), nil
}

type policyEntry string

func (e policyEntry) Bucket() string                  { return BucketPolicy }
func (e policyEntry) Key() string                     { return "" }
func (e policyEntry) Value() []byte                   { return []byte(e) }
func (e policyEntry) Revision() uint64                { return 1 }
func (e policyEntry) Created() time.Time              { return time.Time{} }
func (e policyEntry) Delta() uint64                   { return 0 }
func (e policyEntry) Operation() jetstream.KeyValueOp { return jetstream.KeyValuePut }

// An entry written under PolicyKey, by job id or by job name, is the one
// ReadPolicy finds: one key rule for writers and readers.
func TestPolicyKeyIsWhereReadPolicyLooks(t *testing.T) {
	const id = "a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5"
	require.Equal(t, "prod."+id, PolicyKey("prod", id))
	require.Equal(t, "prod.Word_Count__v2_", PolicyKey("prod", "Word Count (v2)"))

	byName := mapBucket{PolicyKey("prod", "Word Count (v2)"): "paused: true\n"}
	entry, key, err := ReadPolicy(context.Background(), byName, "prod", id, "Word Count (v2)")
	require.NoError(t, err)
	require.Equal(t, "prod.Word_Count__v2_", key)
	require.Equal(t, "paused: true\n", string(entry))

	byID := mapBucket{PolicyKey("prod", id): "dryRun: true\n", PolicyKey("prod", "Word Count (v2)"): "paused: true\n"}
	entry, key, err = ReadPolicy(context.Background(), byID, "prod", id, "Word Count (v2)")
	require.NoError(t, err)
	require.Equal(t, "prod."+id, key, "the id's entry comes first")
	require.Equal(t, "dryRun: true\n", string(entry))

	entry, key, err = ReadPolicy(context.Background(), mapBucket{}, "prod", id, "Word Count (v2)")
	require.NoError(t, err)
	require.Nil(t, entry)
	require.Empty(t, key)
}
