package events

import (
	"context"
	"fmt"
	"time"

	"github.com/nats-io/nats.go/jetstream"
)

// ProvisionConfig bounds the stream and KV buckets. A zero field takes the
// default of DefaultProvision when the stream or bucket is created, and keeps
// the existing value when it is updated, so a function started with no
// settings never shrinks what an operator provisioned (say, 3 replicas).
type ProvisionConfig struct {
	// Replicas is the JetStream replication factor (3 on a 3-node cluster).
	Replicas int
	// Storage is file (default) or memory.
	Storage jetstream.StorageType
	// MaxAge and MaxBytes bound the FLINKSCALER stream.
	MaxAge   time.Duration
	MaxBytes int64
	// Duplicates is the Nats-Msg-Id de-duplication window.
	Duplicates time.Duration
	// BucketMaxBytes bounds each KV bucket.
	BucketMaxBytes int64
	// RecordTTL expires per-job entries that are no longer updated (state
	// of deleted jobs, applied decision ids).
	RecordTTL time.Duration
}

// DefaultProvision returns the defaults: one replica, file storage, events
// kept 24 h or 1 GiB, a 2-minute de-duplication window, 64 MiB per bucket,
// idle per-job records dropped after 7 days.
func DefaultProvision() ProvisionConfig {
	return ProvisionConfig{
		Replicas:       1,
		Storage:        jetstream.FileStorage,
		MaxAge:         24 * time.Hour,
		MaxBytes:       1 << 30,
		Duplicates:     2 * time.Minute,
		BucketMaxBytes: 64 << 20,
		RecordTTL:      7 * 24 * time.Hour,
	}
}

func (c ProvisionConfig) withDefaults() ProvisionConfig {
	d := DefaultProvision()
	if c.Replicas <= 0 {
		c.Replicas = d.Replicas
	}
	if c.MaxAge <= 0 {
		c.MaxAge = d.MaxAge
	}
	if c.MaxBytes <= 0 {
		c.MaxBytes = d.MaxBytes
	}
	if c.Duplicates <= 0 {
		c.Duplicates = d.Duplicates
	}
	if c.BucketMaxBytes <= 0 {
		c.BucketMaxBytes = d.BucketMaxBytes
	}
	if c.RecordTTL <= 0 {
		c.RecordTTL = d.RecordTTL
	}
	return c
}

// StreamConfig is the FLINKSCALER stream definition.
func (c ProvisionConfig) StreamConfig() jetstream.StreamConfig {
	c = c.withDefaults()
	return jetstream.StreamConfig{
		Name:        StreamName,
		Description: "flinkscaler events: snapshots, metrics, decisions, results, rejections",
		Subjects:    []string{SubjectAll},
		Retention:   jetstream.LimitsPolicy,
		Discard:     jetstream.DiscardOld,
		MaxAge:      c.MaxAge,
		MaxBytes:    c.MaxBytes,
		MaxMsgSize:  MaxMessageSize,
		Duplicates:  c.Duplicates,
		Storage:     c.Storage,
		Replicas:    c.Replicas,
	}
}

// BucketConfigs are the KV bucket definitions, by bucket name.
func (c ProvisionConfig) BucketConfigs() []jetstream.KeyValueConfig {
	c = c.withDefaults()
	kv := func(name, desc string, history uint8, ttl time.Duration) jetstream.KeyValueConfig {
		return jetstream.KeyValueConfig{
			Bucket: name, Description: desc, History: history, TTL: ttl,
			MaxBytes: c.BucketMaxBytes, Storage: c.Storage, Replicas: c.Replicas,
		}
	}
	return []jetstream.KeyValueConfig{
		kv(BucketState, "decide: per-job metric window, rescale history, learned efficiency", 1, c.RecordTTL),
		kv(BucketPolicy, "per-job policy overrides", 5, 0),
		kv(BucketDesiredTMs, "desired TaskManager count per job, served to KEDA", 1, 0),
		kv(BucketActuations, "actuate: last applied decision per job", 1, c.RecordTTL),
	}
}

// Provision creates or updates the FLINKSCALER stream and the KV buckets.
// It is idempotent: every function calls it at start-up. Settings left zero
// in cfg keep what an existing stream or bucket has.
func Provision(ctx context.Context, js jetstream.JetStream, cfg ProvisionConfig) error {
	sc := cfg.StreamConfig()
	if s, err := js.Stream(ctx, StreamName); err == nil {
		keepStream(&sc, s.CachedInfo().Config, cfg)
	}
	if _, err := js.CreateOrUpdateStream(ctx, sc); err != nil {
		return fmt.Errorf("provision stream %s: %w", StreamName, err)
	}
	for _, b := range cfg.BucketConfigs() {
		if s, err := js.Stream(ctx, "KV_"+b.Bucket); err == nil {
			keepBucket(&b, s.CachedInfo().Config, cfg)
		}
		if _, err := js.CreateOrUpdateKeyValue(ctx, b); err != nil {
			return fmt.Errorf("provision bucket %s: %w", b.Bucket, err)
		}
	}
	return nil
}

// keepStream keeps the existing stream's values of the settings cfg left
// zero.
func keepStream(sc *jetstream.StreamConfig, have jetstream.StreamConfig, cfg ProvisionConfig) {
	if cfg.Replicas <= 0 {
		sc.Replicas = have.Replicas
	}
	if cfg.MaxAge <= 0 {
		sc.MaxAge = have.MaxAge
	}
	if cfg.MaxBytes <= 0 {
		sc.MaxBytes = have.MaxBytes
	}
	if cfg.Duplicates <= 0 {
		sc.Duplicates = have.Duplicates
	}
	sc.Storage = have.Storage // storage cannot change after creation
}

// keepBucket keeps the existing bucket's values of the settings cfg left
// zero.
func keepBucket(b *jetstream.KeyValueConfig, have jetstream.StreamConfig, cfg ProvisionConfig) {
	if cfg.Replicas <= 0 {
		b.Replicas = have.Replicas
	}
	if cfg.BucketMaxBytes <= 0 {
		b.MaxBytes = have.MaxBytes
	}
	if cfg.RecordTTL <= 0 && b.TTL > 0 {
		b.TTL = have.MaxAge
	}
	b.Storage = have.Storage
}
