package bench

import (
	"context"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/flinkscaler/flinkscaler/functions/actuate/actuator"
)

// memKV is an in-memory KV bucket with JetStream's revision rules
// (Create fails on an existing key, Update on a moved revision), for
// actuate's ledger and desired TaskManager count in virtual time. One run
// uses it from one goroutine at a time.
type memKV struct {
	name    string
	entries map[string]memEntry
	rev     uint64 // the bucket's last revision
}

var _ actuator.KV = (*memKV)(nil)

func newMemKV(name string) *memKV { return &memKV{name: name, entries: map[string]memEntry{}} }

// Get returns key's entry, or jetstream.ErrKeyNotFound.
func (m *memKV) Get(_ context.Context, key string) (jetstream.KeyValueEntry, error) {
	e, ok := m.entries[key]
	if !ok {
		return nil, jetstream.ErrKeyNotFound
	}
	return e, nil
}

// Create stores a new key; jetstream.ErrKeyExists if it is there.
func (m *memKV) Create(ctx context.Context, key string, value []byte, _ ...jetstream.KVCreateOpt) (uint64, error) {
	if _, ok := m.entries[key]; ok {
		return 0, jetstream.ErrKeyExists
	}
	return m.Put(ctx, key, value)
}

// Update stores key if its entry is still at revision;
// jetstream.ErrKeyRevisionMismatch otherwise.
func (m *memKV) Update(ctx context.Context, key string, value []byte, revision uint64) (uint64, error) {
	if e, ok := m.entries[key]; !ok || e.rev != revision {
		return 0, jetstream.ErrKeyRevisionMismatch
	}
	return m.Put(ctx, key, value)
}

// Put stores key whatever its revision.
func (m *memKV) Put(_ context.Context, key string, value []byte) (uint64, error) {
	m.rev++
	m.entries[key] = memEntry{bucket: m.name, key: key, value: value, rev: m.rev}
	return m.rev, nil
}

// memEntry is a stored value (jetstream.KeyValueEntry).
type memEntry struct {
	bucket, key string
	value       []byte
	rev         uint64
}

func (e memEntry) Bucket() string                  { return e.bucket }
func (e memEntry) Key() string                     { return e.key }
func (e memEntry) Value() []byte                   { return e.value }
func (e memEntry) Revision() uint64                { return e.rev }
func (e memEntry) Created() time.Time              { return time.Time{} }
func (e memEntry) Delta() uint64                   { return 0 }
func (e memEntry) Operation() jetstream.KeyValueOp { return jetstream.KeyValuePut }
