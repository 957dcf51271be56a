package decider

import (
	"context"
	"errors"
	"fmt"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/nats-io/nats.go/jetstream"
)

// KVPolicies reads per-job policy overrides from the policy bucket. A job's
// overrides are found under KVKey(cluster, jobID) or, failing that,
// KVKey(cluster, NameToken(jobName)); the value is YAML or JSON with any
// subset of the policy's fields.
type KVPolicies struct{ KV jetstream.KeyValue }

// Overrides returns the stored overrides, or nil when the job has none.
func (p KVPolicies) Overrides(ctx context.Context, cluster, jobID, jobName string) ([]byte, error) {
	for _, key := range []string{events.KVKey(cluster, jobID), events.KVKey(cluster, events.NameToken(jobName))} {
		e, err := p.KV.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("read policy %s: %w", key, err)
		}
		return e.Value(), nil
	}
	return nil, nil
}
