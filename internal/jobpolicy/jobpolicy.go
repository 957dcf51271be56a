// Package jobpolicy reads and writes a job's policy overrides in the policy
// KV bucket (events.BucketPolicy), the entries decide merges over its base
// policy and actuate reads for "paused". It is what `flinkscaler policy`
// does, so day-2 changes need neither the nats CLI nor hand-written keys.
//
// Entries are stored as JSON (which decide reads as YAML too), keyed
// events.PolicyKey(cluster, job) for a job id or name: the keys decide and
// actuate look up (events.ReadPolicy). Every write is validated against the policy and made with
// compare-and-set on the entry's revision, so concurrent edits are never
// lost.
package jobpolicy

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/nats-io/nats.go/jetstream"
	"gopkg.in/yaml.v3"

	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/internal/events"
)

// ErrInvalid: the cluster, the job or the overrides are not acceptable;
// nothing was written.
var ErrInvalid = errors.New("invalid policy overrides")

// KV is the part of the policy bucket used here.
type KV interface {
	Get(ctx context.Context, key string) (jetstream.KeyValueEntry, error)
	Create(ctx context.Context, key string, value []byte, opts ...jetstream.KVCreateOpt) (uint64, error)
	Update(ctx context.Context, key string, value []byte, revision uint64) (uint64, error)
	Delete(ctx context.Context, key string, opts ...jetstream.KVDeleteOpt) error
}

// Key is the bucket key of job (a job id or a job name) in cluster.
func Key(cluster, job string) (string, error) {
	if err := events.ValidateCluster(cluster); err != nil {
		return "", fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if job == "" {
		return "", fmt.Errorf("%w: job: want a job name or a 32-hex job id", ErrInvalid)
	}
	return events.PolicyKey(cluster, job), nil
}

// Entry is a job's stored overrides.
type Entry struct {
	Key      string
	Fields   map[string]any // the overrides, as decoded
	Revision uint64         // 0 when the job has none
}

// Get returns job's overrides; an Entry with no fields and revision 0 when
// it has none.
func Get(ctx context.Context, kv KV, cluster, job string) (Entry, error) {
	key, err := Key(cluster, job)
	if err != nil {
		return Entry{}, err
	}
	e, err := kv.Get(ctx, key)
	if errors.Is(err, jetstream.ErrKeyNotFound) || errors.Is(err, jetstream.ErrKeyDeleted) {
		return Entry{Key: key, Fields: map[string]any{}}, nil
	}
	if err != nil {
		return Entry{}, fmt.Errorf("read %s %s: %w", events.BucketPolicy, key, err)
	}
	fields := map[string]any{}
	if err := yaml.Unmarshal(e.Value(), &fields); err != nil {
		return Entry{}, fmt.Errorf("stored overrides %s are not YAML or JSON: %w", key, err)
	}
	if fields == nil {
		fields = map[string]any{}
	}
	return Entry{Key: key, Fields: fields, Revision: e.Revision()}, nil
}

// Validate checks overrides (YAML or JSON) as decide will merge them over
// its defaults: unknown fields and bad values are errors naming the field.
func Validate(overrides []byte) error {
	cfg, err := policy.Merge(policy.Defaults(), overrides)
	if err == nil {
		err = cfg.Validate()
	}
	if err != nil {
		return fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	return nil
}

// Set replaces job's overrides with overrides (YAML or JSON), after
// validating them. It returns what was stored.
func Set(ctx context.Context, kv KV, cluster, job string, overrides []byte) (Entry, error) {
	fields := map[string]any{}
	if err := yaml.Unmarshal(overrides, &fields); err != nil {
		return Entry{}, fmt.Errorf("%w: not YAML or JSON: %w", ErrInvalid, err)
	}
	cur, err := Get(ctx, kv, cluster, job)
	if err != nil {
		return Entry{}, err
	}
	return write(ctx, kv, cur, fields)
}

// Patch sets one top-level field of job's overrides (for example "paused"
// to true), keeping the others, with compare-and-set; retried when another
// writer got in between.
func Patch(ctx context.Context, kv KV, cluster, job, field string, value any) (Entry, error) {
	for range 5 {
		cur, err := Get(ctx, kv, cluster, job)
		if err != nil {
			return Entry{}, err
		}
		next := make(map[string]any, len(cur.Fields)+1)
		for k, v := range cur.Fields {
			next[k] = v
		}
		next[field] = value
		e, err := write(ctx, kv, cur, next)
		if errors.Is(err, errConflict) {
			continue
		}
		return e, err
	}
	return Entry{}, fmt.Errorf("policy of %s/%s changed under every attempt; try again", cluster, job)
}

// Clear deletes job's overrides: decide applies its base policy again.
func Clear(ctx context.Context, kv KV, cluster, job string) error {
	key, err := Key(cluster, job)
	if err != nil {
		return err
	}
	if err := kv.Delete(ctx, key); err != nil && !errors.Is(err, jetstream.ErrKeyNotFound) {
		return fmt.Errorf("delete %s %s: %w", events.BucketPolicy, key, err)
	}
	return nil
}

var errConflict = errors.New("revision conflict")

// write stores fields over cur after validating them.
func write(ctx context.Context, kv KV, cur Entry, fields map[string]any) (Entry, error) {
	raw, err := json.Marshal(jsonable(fields))
	if err != nil {
		return Entry{}, fmt.Errorf("%w: %w", ErrInvalid, err)
	}
	if err := Validate(raw); err != nil {
		return Entry{}, err
	}
	var rev uint64
	if cur.Revision == 0 {
		rev, err = kv.Create(ctx, cur.Key, raw)
	} else {
		rev, err = kv.Update(ctx, cur.Key, raw, cur.Revision)
	}
	if errors.Is(err, jetstream.ErrKeyExists) || isWrongSequence(err) {
		return Entry{}, errConflict
	}
	if err != nil {
		return Entry{}, fmt.Errorf("write %s %s: %w", events.BucketPolicy, cur.Key, err)
	}
	return Entry{Key: cur.Key, Fields: fields, Revision: rev}, nil
}

func isWrongSequence(err error) bool {
	var apiErr *jetstream.APIError
	return errors.As(err, &apiErr) && apiErr.ErrorCode == jetstream.JSErrCodeStreamWrongLastSequence
}

// jsonable turns YAML's map[string]any trees (whose nested maps may be
// map[string]any already with yaml.v3) into values encoding/json accepts.
func jsonable(v any) any {
	switch t := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[k] = jsonable(x)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(t))
		for k, x := range t {
			out[fmt.Sprint(k)] = jsonable(x)
		}
		return out
	case []any:
		out := make([]any, len(t))
		for i, x := range t {
			out[i] = jsonable(x)
		}
		return out
	}
	return v
}

// YAML renders an entry's fields for people.
func (e Entry) YAML() string {
	if len(e.Fields) == 0 {
		return ""
	}
	var b bytes.Buffer
	enc := yaml.NewEncoder(&b)
	enc.SetIndent(2)
	_ = enc.Encode(e.Fields) // a map of decoded values always encodes
	return b.String()
}
