package decider

import (
	"context"

	"github.com/flinkscaler/flinkscaler/internal/events"
	"github.com/nats-io/nats.go/jetstream"
)

// KVPolicies reads per-job policy overrides from the policy bucket, as
// events.ReadPolicy finds them.
type KVPolicies struct{ KV jetstream.KeyValue }

// Overrides returns the stored overrides, or nil when the job has none.
func (p KVPolicies) Overrides(ctx context.Context, cluster, jobID, jobName string) ([]byte, error) {
	entry, _, err := events.ReadPolicy(ctx, p.KV, cluster, jobID, jobName)
	return entry, err
}
