package actuator

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// ErrBusy is returned (transient: the decision is redelivered later) when
// another actuation of the same job holds the job's ledger entry, or the
// entry changed under a compare-and-set.
var ErrBusy = errors.New("job busy")

// appliedKept bounds the decision ids remembered per job.
const appliedKept = 64

// KV is the part of a JetStream KV bucket actuate uses.
type KV interface {
	Get(ctx context.Context, key string) (jetstream.KeyValueEntry, error)
	Create(ctx context.Context, key string, value []byte, opts ...jetstream.KVCreateOpt) (uint64, error)
	Update(ctx context.Context, key string, value []byte, revision uint64) (uint64, error)
	Put(ctx context.Context, key string, value []byte) (uint64, error)
}

var _ KV = jetstream.KeyValue(nil)

// record is a job's entry in events.BucketActuations. Every change is a
// compare-and-set on the entry's revision, so replicas never act on one job
// at once and a redelivered decision is recognised.
//
// In-flight state machine of one job:
//
//	idle ──claim (CAS)──► in flight(decision) ──finish (CAS)──► idle, id in Applied
//	                        │   └─ transient failure before any change ─► release ─► idle
//	                        └─ crash: the claim expires after the lease; a redelivery
//	                           of the same decision may take it over at once
type record struct {
	Applied        []string  `json:"applied"`
	LastDecisionID string    `json:"lastDecisionId,omitempty"`
	LastDecidedAt  time.Time `json:"lastDecidedAt"`
	LastActuatedAt time.Time `json:"lastActuatedAt"`
	LastOutcome    string    `json:"lastOutcome,omitempty"`
	// LastResult is the result of LastDecisionID, published again (under
	// the same event id) when that decision is redelivered, so a result
	// lost between the ledger write and its publish is not lost for good.
	LastResult *events.Result `json:"lastResult,omitempty"`
	InFlight   *inFlight      `json:"inFlight,omitempty"`
	// SlotsTook is the longest a slot wait of this job took to see its
	// slots registered: how slowly its TaskManagers start (waitSlots).
	SlotsTook time.Duration `json:"slotsTook,omitempty"`
	// unreadable is why the stored entry could not be decoded (it is
	// replaced); nil when it could.
	unreadable error
}

type inFlight struct {
	DecisionID string    `json:"decisionId"`
	Since      time.Time `json:"since"`
}

// ledger reads and writes records with compare-and-set.
type ledger struct {
	kv KV
}

// load returns the job's record and revision (0 when absent).
func (l ledger) load(ctx context.Context, key string) (record, uint64, error) {
	e, err := l.kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) {
		return record{}, 0, nil
	}
	if err != nil {
		return record{}, 0, fmt.Errorf("read %s/%s: %w", events.BucketActuations, key, err)
	}
	var r record
	if err := json.Unmarshal(e.Value(), &r); err != nil {
		// A garbled entry must not block the job for ever: start afresh,
		// still under compare-and-set (the caller logs it).
		return record{unreadable: err}, e.Revision(), nil
	}
	return r, e.Revision(), nil
}

// save writes r if the entry is still at rev; ErrBusy if it moved.
func (l ledger) save(ctx context.Context, key string, r record, rev uint64) (uint64, error) {
	b, err := json.Marshal(r)
	if err != nil {
		return 0, fmt.Errorf("encode ledger record: %w", err)
	}
	var n uint64
	if rev == 0 {
		n, err = l.kv.Create(ctx, key, b)
	} else {
		n, err = l.kv.Update(ctx, key, b, rev)
	}
	if events.IsRevisionConflict(err) {
		return 0, fmt.Errorf("%w: %s/%s changed concurrently", ErrBusy, events.BucketActuations, key)
	}
	if err != nil {
		return 0, fmt.Errorf("write %s/%s: %w", events.BucketActuations, key, err)
	}
	return n, nil
}

// skipReason says why d must not be acted on given r, or "".
func (r record) skipReason(d events.Decision, now time.Time, minInterval time.Duration) string {
	switch {
	case d.DecidedAt.Before(r.LastDecidedAt):
		return fmt.Sprintf("a newer decision %s (decided %s) was already applied",
			r.LastDecisionID, r.LastDecidedAt.Format(time.RFC3339Nano))
	case minInterval > 0 && !r.LastActuatedAt.IsZero() && now.Sub(r.LastActuatedAt) < minInterval:
		return fmt.Sprintf("rate limited: last actuation %s ago, minimum interval %s",
			now.Sub(r.LastActuatedAt).Round(time.Millisecond), minInterval)
	}
	return ""
}

// busy reports whether another decision holds the job.
func (r record) busy(d events.Decision, now time.Time, lease time.Duration) bool {
	return r.InFlight != nil && r.InFlight.DecisionID != d.DecisionID && now.Sub(r.InFlight.Since) < lease
}

// finished returns r after d ended with outcome; changed says whether
// anything was changed (only then does the rate limit restart).
func (r record) finished(d events.Decision, res events.Result, changed bool, slotsTook time.Duration, now time.Time) record {
	outcome := res.Outcome
	r.SlotsTook = max(r.SlotsTook, slotsTook)
	r.InFlight = nil
	r.Applied = append(r.Applied, d.DecisionID)
	if len(r.Applied) > appliedKept {
		r.Applied = slices.Clone(r.Applied[len(r.Applied)-appliedKept:])
	}
	if d.DecidedAt.After(r.LastDecidedAt) || r.LastDecidedAt.IsZero() {
		r.LastDecisionID, r.LastDecidedAt, r.LastResult = d.DecisionID, d.DecidedAt, &res
	}
	r.LastOutcome = outcome
	if changed {
		r.LastActuatedAt = now
	}
	return r
}

// finish records the end of d, re-reading and retrying if the entry moved
// (bounded). It only ever adds d's id and clears d's own claim.
func (l ledger) finish(ctx context.Context, key string, d events.Decision, res events.Result, changed bool, slotsTook time.Duration, now time.Time) error {
	var err error
	for range 5 {
		var r record
		var rev uint64
		if r, rev, err = l.load(ctx, key); err != nil {
			return err
		}
		if r.InFlight != nil && r.InFlight.DecisionID != d.DecisionID {
			return fmt.Errorf("%w: decision %s took over job %s", ErrBusy, r.InFlight.DecisionID, key)
		}
		if _, err = l.save(ctx, key, r.finished(d, res, changed, slotsTook, now), rev); !errors.Is(err, ErrBusy) {
			return err
		}
	}
	return err
}

// release clears d's claim after a transient failure that changed nothing.
func (l ledger) release(ctx context.Context, key string, d events.Decision) error {
	r, rev, err := l.load(ctx, key)
	if err != nil || r.InFlight == nil || r.InFlight.DecisionID != d.DecisionID {
		return err
	}
	r.InFlight = nil
	_, err = l.save(ctx, key, r, rev)
	return err
}
