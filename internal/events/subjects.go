package events

import (
	"fmt"
	"regexp"
	"strings"
)

// Stream and subjects.
const (
	StreamName     = "FLINKSCALER"
	SubjectAll     = "flinkscaler.>"
	subjectPrefix  = "flinkscaler."
	kindSnapshot   = "snapshot"
	kindMetric     = "metric"
	kindDecision   = "decision"
	kindResult     = "result"
	kindRejected   = "rejected"
	SourcePrefix   = "/flinkscaler/"
	SpecVersion    = "1.0"
	DataJSON       = "application/json"
	StructuredJSON = "application/cloudevents+json"
)

// KV buckets (docs/scaling-modes.md "State"). Keys are KVKey(cluster, job).
const (
	BucketState      = "flinkscaler_state"       // decide's per-job state
	BucketPolicy     = "flinkscaler_policy"      // per-job policy overrides
	BucketDesiredTMs = "flinkscaler_desired_tms" // desired TM count per job, for KEDA
	BucketActuations = "flinkscaler_actuations"  // actuate's applied decisions per job
)

var tokenRE = regexp.MustCompile(`^[A-Za-z0-9_-]{1,128}$`)

// ValidToken reports whether s can stand as one NATS subject token and one KV
// key part: letters, digits, '-' and '_', at most 128 characters.
func ValidToken(s string) bool { return tokenRE.MatchString(s) }

// ValidateCluster returns an error naming the problem when name is not a
// usable cluster name.
func ValidateCluster(name string) error {
	if !ValidToken(name) {
		return fmt.Errorf("cluster name %q: use 1-128 letters, digits, '-' or '_'", name)
	}
	return nil
}

// SnapshotSubject is flinkscaler.snapshot.<cluster>.<job>.
func SnapshotSubject(cluster, job string) string { return jobSubject(kindSnapshot, cluster, job) }

// MetricSubject is flinkscaler.metric.<cluster>.<job>.
func MetricSubject(cluster, job string) string { return jobSubject(kindMetric, cluster, job) }

// DecisionSubject is flinkscaler.decision.<cluster>.<job>.
func DecisionSubject(cluster, job string) string { return jobSubject(kindDecision, cluster, job) }

// ResultSubject is flinkscaler.result.<cluster>.<job>.
func ResultSubject(cluster, job string) string { return jobSubject(kindResult, cluster, job) }

// RejectedSubject is flinkscaler.rejected.<function>.
func RejectedSubject(function string) string { return subjectPrefix + kindRejected + "." + function }

// Filter subjects for consumers.
const (
	SnapshotFilter = subjectPrefix + kindSnapshot + ".>"
	MetricFilter   = subjectPrefix + kindMetric + ".>"
	DecisionFilter = subjectPrefix + kindDecision + ".>"
	ResultFilter   = subjectPrefix + kindResult + ".>"
	RejectedFilter = subjectPrefix + kindRejected + ".>"
)

func jobSubject(kind, cluster, job string) string {
	return subjectPrefix + kind + "." + cluster + "." + job
}

// KVKey is the key of a job in every per-job bucket.
func KVKey(cluster, job string) string { return cluster + "." + job }

// SplitJobSubject returns the cluster and job tokens of a per-job subject, or
// ok=false when subject is not one.
func SplitJobSubject(subject string) (kind, cluster, job string, ok bool) {
	parts := strings.Split(subject, ".")
	if len(parts) != 4 || parts[0] != "flinkscaler" {
		return "", "", "", false
	}
	return parts[1], parts[2], parts[3], true
}

// Source is the CloudEvents source of a function's events for a cluster.
func Source(function, cluster string) string { return SourcePrefix + function + "/" + cluster }

// NameToken turns a job name into a token: every character that is not a
// letter, digit, '-' or '_' becomes '_', and it is cut to 128 bytes.
// "Word Count" → "Word_Count".
func NameToken(name string) string {
	b := []byte(name)
	for i, c := range b {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
			b[i] = '_'
		}
	}
	if len(b) > 128 {
		b = b[:128]
	}
	if len(b) == 0 {
		return "_"
	}
	return string(b)
}
