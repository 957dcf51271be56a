package decider

import (
	"context"
	"errors"
	"fmt"

	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/nats-io/nats.go/jetstream"
)

// record is what decide keeps per job in the state bucket: the policy's
// State and the last decision it emitted (the outbox), so a redelivered
// snapshot re-publishes the same decision instead of losing it.
type record struct {
	State   policy.State     `json:"state"`
	Outbox  *events.Decision `json:"outbox,omitempty"`
	JobName string           `json:"jobName,omitempty"`
	// Sources are the job's source vertices in its last snapshot, which a
	// user metric's vertex must name.
	Sources  []events.SourceVertex `json:"sources,omitempty"`
	revision uint64
	// unreadable is why the stored record could not be decoded (it is
	// replaced); nil when it could.
	unreadable error
}

// ErrConflict is returned when compare-and-set lost to another replica too
// many times in a row; the message is retried later.
var ErrConflict = errors.New("state update conflict")

// casAttempts bounds the read-modify-write loop of one update.
const casAttempts = 8

// kvStore is the part of jetstream.KeyValue decide needs.
type kvStore interface {
	Get(ctx context.Context, key string) (jetstream.KeyValueEntry, error)
	Create(ctx context.Context, key string, value []byte, opts ...jetstream.KVCreateOpt) (uint64, error)
	Update(ctx context.Context, key string, value []byte, revision uint64) (uint64, error)
	Put(ctx context.Context, key string, value []byte) (uint64, error)
}

var _ kvStore = jetstream.KeyValue(nil)

// load reads a job's record; a missing key is an empty record at revision 0.
func load(ctx context.Context, kv kvStore, key string) (record, error) {
	e, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return record{}, nil
	}
	if err != nil {
		return record{}, fmt.Errorf("read state %s: %w", key, err)
	}
	var r record
	if err := decodeRecord(e.Value(), &r); err != nil {
		// A record we cannot read is replaced: losing the window costs a
		// settle period, refusing every snapshot would stop the job's scaling.
		// The caller says so (Decider.noteReset).
		return record{revision: e.Revision(), unreadable: err}, nil
	}
	r.revision = e.Revision()
	return r, nil
}

// update applies change to the job's record with compare-and-set, re-reading
// and re-applying on conflict. change must be pure: it may run several times.
func update(ctx context.Context, kv kvStore, key string, change func(record) record) (record, error) {
	next, _, err := updateIf(ctx, kv, key, func(cur record) (record, bool) { return change(cur), true })
	return next, err
}

// updateIf is update where change also says whether the record changed:
// when it did not, nothing is written and wrote is false.
func updateIf(ctx context.Context, kv kvStore, key string, change func(record) (record, bool)) (next record, wrote bool, err error) {
	for range casAttempts {
		cur, err := load(ctx, kv, key)
		if err != nil {
			return record{}, false, err
		}
		next, changed := change(cur)
		if !changed {
			return cur, false, nil
		}
		data, err := encodeRecord(next)
		if err != nil {
			return record{}, false, fmt.Errorf("encode state %s: %w", key, err)
		}
		if cur.revision == 0 {
			_, err = kv.Create(ctx, key, data)
		} else {
			_, err = kv.Update(ctx, key, data, cur.revision)
		}
		if err == nil {
			return next, true, nil
		}
		if !events.IsRevisionConflict(err) {
			return record{}, false, fmt.Errorf("write state %s: %w", key, err)
		}
	}
	return record{}, false, fmt.Errorf("%w: %s changed %d times while deciding", ErrConflict, key, casAttempts)
}
