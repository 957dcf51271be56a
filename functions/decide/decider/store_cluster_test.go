package decider

import (
	"context"
	"errors"
	"sync"
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"
	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/flinkscaler/flinkscaler/internal/events/eventstest"
)

// On a replicated bucket (production runs R=3) a write that races another
// one on the same key is refused with code 10164 (ErrKeyRevisionMismatch),
// not the single server's 10071: update must still re-read and re-apply,
// not fail the snapshot (a Nak, a backoff, a delivery spent). Four decide
// replicas update one job's record at once.
func TestUpdateResolvesConflictsOnReplicatedBucket(t *testing.T) {
	c := eventstest.StartCluster(t)
	nc, js, err := events.Connect(events.ConnOptions{URL: c.URL(), Name: "test"})
	require.NoError(t, err)
	t.Cleanup(nc.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	kv, err := js.CreateKeyValue(ctx, jetstream.KeyValueConfig{Bucket: "state_r3", Replicas: 3, Storage: jetstream.MemoryStorage})
	require.NoError(t, err)

	const key, writers, each = "demo.job", 4, 25
	// A bucket just created on three nodes may answer "no responders" for a
	// moment while its replicas subscribe to direct gets; production decide
	// Naks such a snapshot and reads it again. This test is about conflicts,
	// so it starts once the bucket answers.
	require.Eventually(t, func() bool {
		_, err := kv.Get(ctx, key)
		return errors.Is(err, jetstream.ErrKeyNotFound)
	}, 30*time.Second, 50*time.Millisecond, "the replicated bucket never answered a read")
	_, err = update(ctx, kv, key, func(r record) record { return r })
	require.NoError(t, err, "create the record")
	errs := make(chan error, writers*each)
	var wg sync.WaitGroup
	for range writers {
		wg.Go(func() {
			for range each {
				_, err := update(ctx, kv, key, func(r record) record {
					r.State.Version++
					return r
				})
				errs <- err
			}
		})
	}
	wg.Wait()
	close(errs)
	var failed []string
	for err := range errs {
		if err != nil && !errors.Is(err, ErrConflict) {
			failed = append(failed, err.Error())
		}
	}
	require.Empty(t, failed, "a conflict is re-read, never a write error")
	rec, err := load(ctx, kv, key)
	require.NoError(t, err)
	t.Logf("%d concurrent updates, record at revision %d", writers*each, rec.revision)
}
