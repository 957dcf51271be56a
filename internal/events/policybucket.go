package events

import (
	"bytes"
	"context"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
	"gopkg.in/yaml.v3"
)

// The policy bucket (BucketPolicy) holds per-job policy overrides: YAML or
// JSON (JSON is YAML) with any subset of decide's policy fields, under
// PolicyKey(cluster, jobID) or, when there is none, PolicyKey(cluster,
// jobName). Whoever writes an entry keys it with PolicyKey; decide merges
// the whole entry into its policy; every function that needs to know
// whether a job is paused reads it with ReadPolicy and PolicySwitchesOf, so
// all agree on keys and format.

// PolicyKey is the policy bucket key of a job of cluster, given its id or
// its name: KVKey(cluster, NameToken(job)). A Flink job id is a token
// already, so its key is KVKey(cluster, jobID); "Word Count" is keyed
// "cluster.Word_Count".
func PolicyKey(cluster, job string) string { return KVKey(cluster, NameToken(job)) }

// PolicyGetter is the read a policy lookup needs from the bucket.
type PolicyGetter interface {
	Get(ctx context.Context, key string) (jetstream.KeyValueEntry, error)
}

// ErrPolicyInvalid wraps an entry of the policy bucket that is not YAML
// (or JSON) of the expected shape.
var ErrPolicyInvalid = errors.New("invalid policy entry")

// ReadPolicy returns a job's entry in the policy bucket and its key, or
// nil when the job has none. A read failure is returned wrapped (it is
// transient, not an invalid entry).
func ReadPolicy(ctx context.Context, kv PolicyGetter, cluster, jobID, jobName string) ([]byte, string, error) {
	keys := []string{PolicyKey(cluster, jobID)}
	if jobName != "" {
		keys = append(keys, PolicyKey(cluster, jobName))
	}
	for _, key := range keys {
		e, err := kv.Get(ctx, key)
		if errors.Is(err, jetstream.ErrKeyNotFound) {
			continue
		}
		if err != nil {
			return nil, key, fmt.Errorf("read policy %s: %w", key, err)
		}
		return e.Value(), key, nil
	}
	return nil, "", nil
}

// PolicySwitches are the switches of a policy entry that concern more
// than decide.
type PolicySwitches struct {
	// Paused stops scaling the job: decide decides nothing, actuate
	// applies nothing still queued.
	Paused bool `yaml:"paused"`
	// DryRun makes the job's decisions dry runs.
	DryRun bool `yaml:"dryRun"`
}

// PolicySwitchesOf reads the switches of an entry (YAML or JSON); other
// fields are ignored here. An entry that does not parse, or whose switches
// are not booleans, is ErrPolicyInvalid.
func PolicySwitchesOf(entry []byte) (PolicySwitches, error) {
	var s PolicySwitches
	if len(bytes.TrimSpace(entry)) == 0 {
		return s, nil
	}
	if err := yaml.Unmarshal(entry, &s); err != nil {
		return PolicySwitches{}, fmt.Errorf("%w: %w", ErrPolicyInvalid, err)
	}
	return s, nil
}
