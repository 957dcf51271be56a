package events

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	cloudevents "github.com/cloudevents/sdk-go/v2/event"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden CloudEvents in testdata/golden")

// goldenCase is one event type's golden event: the Go value it carries.
type goldenCase struct {
	typ, function, file string
	data                any
	decode              func(cloudevents.Event) (any, error)
}

func decodeAs[T any](ev cloudevents.Event) (any, error) { return Data[T](ev) }

func goldenCases() []goldenCase {
	at := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	job := "0123456789abcdef0123456789abcdef"
	rej := RejectionOf("decide", "flinkscaler.metric.demo.wordcount", nats.Header{"Content-Type": {"text/plain"}},
		[]byte("junk"), "not a CloudEvent")
	rej.RejectedAt = at
	return []goldenCase{
		{TypeSnapshot, "metrics-ingest", "snapshot.json", sampleSnapshot(), decodeAs[Snapshot]},
		{TypeMetric, "publish", "metric.json", Metric{Cluster: "demo", Job: "wordcount", Name: MetricLag, Value: 1200,
			Unit: "records", ObservedAt: at}, decodeAs[Metric]},
		{TypeDecision, "decide", "decision.json", Decision{DecisionID: "d-0123", SnapshotID: "s-0123", Cluster: "demo",
			JobID: job, JobName: "wordcount", Mode: ModeAdaptive,
			Vertices:     []VertexDecision{{ID: "90bea66de1c231edf33913ecd54406c1", Name: "tokenizer", Current: 2, Target: 3, Reason: "busy 95%"}},
			TaskManagers: Count{Current: 2, Target: 3}, Slots: Slots{PerTaskManager: 1, Sharing: SlotSharingShared},
			Policy: "flinkscaler", Rationale: "offered 45.3k rec/s", DecidedAt: at}, decodeAs[Decision]},
		{TypeResult, "actuate", "result.json", Result{DecisionID: "d-0123", Cluster: "demo", JobID: job, Outcome: OutcomeApplied,
			Steps: []Step{{Name: "put-requirements", Status: "done", StartedAt: at, DurationMs: 12}}, FinishedAt: at}, decodeAs[Result]},
		{TypeRejected, "decide", "rejected.json", rej, decodeAs[Rejected]},
	}
}

// goldenEvent is the case's event with a fixed id and time.
func goldenEvent(t *testing.T, c goldenCase) cloudevents.Event {
	t.Helper()
	cluster, job := "demo", "0123456789abcdef0123456789abcdef"
	if m, ok := c.data.(Metric); ok {
		job = m.Job
	}
	ev, err := New(c.typ, c.function, cluster, job, c.data)
	require.NoError(t, err)
	ev.SetID("00000000-0000-4000-8000-0000000000" + map[string]string{TypeSnapshot: "01", TypeMetric: "02",
		TypeDecision: "03", TypeResult: "04", TypeRejected: "05"}[c.typ])
	ev.SetTime(time.Date(2026, 11, 21, 10, 0, 1, 0, time.UTC))
	return ev
}

// TestGoldenEvents checks every event type both ways against its golden
// CloudEvent (structured mode) in testdata/golden: what we encode is the
// file, and what we decode from the file is the Go value, valid by the
// runtime checks and the JSON Schema. go test -run TestGoldenEvents -update
// rewrites the files after a deliberate change of the contract.
func TestGoldenEvents(t *testing.T) {
	seen := map[string]bool{}
	for _, c := range goldenCases() {
		seen[c.typ] = true
		t.Run(c.typ, func(t *testing.T) {
			path := filepath.Join("testdata", "golden", c.file)
			ev := goldenEvent(t, c)
			encoded, err := json.MarshalIndent(ev, "", "  ")
			require.NoError(t, err)
			encoded = append(encoded, '\n')
			if *update {
				require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
				require.NoError(t, os.WriteFile(path, encoded, 0o644))
			}
			golden, err := os.ReadFile(path)
			require.NoError(t, err, "run with -update to create it")
			require.JSONEq(t, string(golden), string(encoded), "encoding %s changed; the contract is the golden file", c.typ)

			subject, err := SubjectOf(ev)
			require.NoError(t, err)
			decoded, err := Decode(&nats.Msg{Subject: subject, Header: nats.Header{"content-type": {StructuredJSON}}, Data: golden})
			require.NoError(t, err)
			require.NoError(t, Check(subject, decoded))
			require.NoError(t, ValidateSchema(c.typ, decoded.Data()))
			got, err := c.decode(decoded)
			require.NoError(t, err)
			require.Equal(t, c.data, got)
			require.Equal(t, ev.ID(), decoded.ID())
		})
	}
	for _, typ := range []string{TypeSnapshot, TypeMetric, TypeDecision, TypeResult, TypeRejected} {
		require.True(t, seen[typ], "no golden event for %s", typ)
	}
}
