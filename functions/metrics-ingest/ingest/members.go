package ingest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// MembersBucket is the KV bucket where live ingest replicas heartbeat.
// Its entries expire after the bucket TTL (one poll interval), so a replica
// that stops heartbeating drops out of every other replica's member list.
const MembersBucket = "flinkscaler_ingest_members"

// Membership lists the live ingest replicas, this one included.
type Membership interface {
	Members(ctx context.Context) ([]string, error)
}

// StaticMembers is a fixed member list, for a single replica.
type StaticMembers []string

// Members implements Membership.
func (s StaticMembers) Members(context.Context) ([]string, error) { return s, nil }

// KVMembers is membership through heartbeats in MembersBucket: each replica
// puts its id every TTL/3; the key expires TTL after the last put. Run
// heartbeats until its context is done and then deletes the key, so a
// replica that stops cleanly hands its jobs over at once.
type KVMembers struct {
	kv  jetstream.KeyValue
	id  string
	ttl time.Duration
}

var _ Membership = (*KVMembers)(nil)

// JoinKV creates (or updates) the members bucket with the given TTL and
// announces id. All replicas must use the same TTL.
func JoinKV(ctx context.Context, js jetstream.JetStream, id string, ttl time.Duration) (*KVMembers, error) {
	kv, err := js.CreateOrUpdateKeyValue(ctx, jetstream.KeyValueConfig{
		Bucket: MembersBucket, Description: "live metrics-ingest replicas", TTL: ttl, History: 1,
	})
	if err != nil {
		return nil, fmt.Errorf("members bucket: %w", err)
	}
	m := &KVMembers{kv: kv, id: id, ttl: ttl}
	if err := m.beat(ctx); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *KVMembers) beat(ctx context.Context) error {
	if _, err := m.kv.PutString(ctx, m.id, time.Now().UTC().Format(time.RFC3339Nano)); err != nil {
		return fmt.Errorf("heartbeat %s: %w", m.id, err)
	}
	return nil
}

// Run heartbeats every TTL/3 until ctx is done, then removes this replica's
// key. Failed heartbeats are reported to onError and retried on the next
// tick. It returns nil.
func (m *KVMembers) Run(ctx context.Context, onError func(error)) error {
	tick := time.NewTicker(max(m.ttl/3, 10*time.Millisecond))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 2*time.Second)
			defer cancel()
			if err := m.kv.Delete(dctx, m.id); err != nil {
				onError(fmt.Errorf("leave %s: %w", m.id, err))
			}
			return nil
		case <-tick.C:
			if err := m.beat(ctx); err != nil && ctx.Err() == nil {
				onError(err)
			}
		}
	}
}

// Members returns the sorted ids with a live heartbeat, always including
// this replica's own.
func (m *KVMembers) Members(ctx context.Context) ([]string, error) {
	lister, err := m.kv.ListKeys(ctx)
	if err != nil && !errors.Is(err, jetstream.ErrNoKeysFound) {
		return nil, fmt.Errorf("list members: %w", err)
	}
	out := []string{m.id}
	if lister != nil {
		for k := range lister.Keys() {
			if k != m.id {
				out = append(out, k)
			}
		}
	}
	slices.Sort(out)
	return out, nil
}
