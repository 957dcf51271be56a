package events

import (
	"encoding/json"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestEmittedEventsMatchSchemas validates one event of every type, built by
// New from our Go types, against the JSON Schemas in schemas/.
func TestEmittedEventsMatchSchemas(t *testing.T) {
	now := time.Date(2026, 11, 21, 10, 0, 0, 0, time.UTC)
	job := "0123456789abcdef0123456789abcdef"
	cases := []struct {
		typ, function string
		data          any
	}{
		{TypeSnapshot, "metrics-ingest", sampleSnapshot()},
		{TypeMetric, "publish", Metric{Cluster: "demo", Job: job, Name: "lag", Value: 12, Unit: "records", ObservedAt: now}},
		{TypeDecision, "decide", Decision{DecisionID: "d1", SnapshotID: "s1", Cluster: "demo", JobID: job, JobName: "wc",
			Mode: ModeAdaptive, Vertices: []VertexDecision{{ID: "v", Name: "counter", Current: 2, Target: 4, Reason: "busy"}},
			TaskManagers: Count{Current: 2, Target: 4}, Slots: Slots{PerTaskManager: 1, Sharing: SlotSharingShared},
			Policy: "flinkscaler", Rationale: "up", DecidedAt: now}},
		{TypeResult, "actuate", Result{DecisionID: "d1", Cluster: "demo", JobID: job, Outcome: OutcomeApplied,
			Steps: []Step{{Name: "put-requirements", Status: "done", StartedAt: now, DurationMs: 12}}, FinishedAt: now}},
		{TypeRejected, "decide", RejectionOf("decide", "flinkscaler.snapshot.x.y", nil, []byte("junk"), "not a CloudEvent")},
	}
	for _, c := range cases {
		t.Run(c.typ, func(t *testing.T) {
			ev, err := New(c.typ, c.function, "demo", job, c.data)
			require.NoError(t, err)
			require.NoError(t, ValidateSchema(ev.Type(), ev.Data()))
			subject, err := SubjectOf(ev)
			require.NoError(t, err)
			require.NoError(t, Check(subject, ev))
		})
	}
}

// TestSchemasCoverGoTypes keeps each schema's property names equal to the
// JSON field names of its Go type, so the two cannot drift apart.
func TestSchemasCoverGoTypes(t *testing.T) {
	types := map[string]any{
		"snapshot.json": Snapshot{}, "metric.json": Metric{}, "decision.json": Decision{},
		"result.json": Result{}, "rejected.json": Rejected{},
	}
	for file, v := range types {
		t.Run(file, func(t *testing.T) {
			raw, err := schemaFS.ReadFile("schemas/" + file)
			require.NoError(t, err)
			var sch struct {
				Properties map[string]json.RawMessage `json:"properties"`
			}
			require.NoError(t, json.Unmarshal(raw, &sch))
			require.Equal(t, jsonFields(reflect.TypeOf(v)), sortedKeys(sch.Properties))
		})
	}
}

func jsonFields(t reflect.Type) []string {
	var out []string
	for i := range t.NumField() {
		name, _, _ := strings.Cut(t.Field(i).Tag.Get("json"), ",")
		out = append(out, name)
	}
	sort.Strings(out)
	return out
}

func sortedKeys(m map[string]json.RawMessage) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func TestCheckRejects(t *testing.T) {
	job := "0123456789abcdef0123456789abcdef"
	good := snapshotEvent(t)
	wrongType := good.Clone()
	wrongType.SetType("io.example.unknown.v1")
	negative := sampleSnapshot()
	negative.TaskManagers = -1
	negEv, err := New(TypeSnapshot, "metrics-ingest", "demo", job, negative)
	require.NoError(t, err)
	notJSON := good.Clone()
	require.NoError(t, notJSON.SetData(DataJSON, []byte("{")))

	tests := []struct {
		name, subject string
		ev            func() any
		want          string
	}{
		{"unknown type", SnapshotSubject("demo", job), func() any { return wrongType }, "unknown event type"},
		{"payload fails schema", SnapshotSubject("demo", job), func() any { return negEv }, "/taskManagers"},
		{"data not JSON", SnapshotSubject("demo", job), func() any { return notJSON }, "not a JSON object"},
		{"subject names another cluster", SnapshotSubject("prod", job), func() any { return good }, `cluster "prod"`},
		{"subject names another job", SnapshotSubject("demo", "ffff"), func() any { return good }, `job "ffff"`},
		{"subject of another kind", DecisionSubject("demo", job), func() any { return good }, "want flinkscaler.snapshot"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ev := tt.ev()
			err := Check(tt.subject, toEvent(ev))
			require.ErrorIs(t, err, ErrInvalid)
			require.Contains(t, err.Error(), tt.want)
		})
	}
}
