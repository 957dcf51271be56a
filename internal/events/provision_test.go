package events

import (
	"context"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"
)

// TestProvisionKeepsWhatOperatorsSet: a stream created with explicit
// limits keeps them when a function with default settings provisions again,
// and explicit settings still apply.
func TestProvisionKeepsWhatOperatorsSet(t *testing.T) {
	_, js := startJS(t) // provisioned with memory storage and defaults
	ctx := context.Background()
	require.NoError(t, Provision(ctx, js, ProvisionConfig{MaxAge: time.Hour, MaxBytes: 1 << 20, BucketMaxBytes: 1 << 20}))
	require.NoError(t, Provision(ctx, js, ProvisionConfig{}))
	s, err := js.Stream(ctx, StreamName)
	require.NoError(t, err)
	cfg := s.CachedInfo().Config
	require.Equal(t, time.Hour, cfg.MaxAge)
	require.Equal(t, int64(1<<20), cfg.MaxBytes)
	require.Equal(t, jetstream.MemoryStorage, cfg.Storage)
	kv, err := js.Stream(ctx, "KV_"+BucketState)
	require.NoError(t, err)
	require.Equal(t, int64(1<<20), kv.CachedInfo().Config.MaxBytes)

	require.NoError(t, Provision(ctx, js, ProvisionConfig{MaxAge: 2 * time.Hour}))
	s, err = js.Stream(ctx, StreamName)
	require.NoError(t, err)
	require.Equal(t, 2*time.Hour, s.CachedInfo().Config.MaxAge)
}
