package events

import (
	"encoding/json"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestValidatorsAgreeWithSchemas runs payloads through both the JSON Schema
// (the published contract) and the runtime validator: both accept the valid
// ones and both reject the invalid ones.
func TestValidatorsAgreeWithSchemas(t *testing.T) {
	snap, err := json.Marshal(sampleSnapshot())
	require.NoError(t, err)
	metric := `{"cluster":"demo","job":"wc","name":"lag","value":1,"observedAt":"2026-11-21T10:00:00Z"}`
	decision := `{"decisionId":"d","snapshotId":"s","cluster":"demo","jobId":"j","jobName":"n","mode":"adaptive","vertices":[],` +
		`"taskManagers":{"current":1,"target":2},"slots":{"perTaskManager":1,"sharing":"shared"},"policy":"p","dryRun":false,` +
		`"rationale":"r","decidedAt":"2026-11-21T10:00:00Z"}`
	result := `{"decisionId":"d","cluster":"demo","jobId":"j","outcome":"applied","steps":[],"finishedAt":"2026-11-21T10:00:00Z"}`
	tests := []struct {
		name, typ, data string
		valid           bool
	}{
		{"snapshot", TypeSnapshot, string(snap), true},
		{"metric", TypeMetric, metric, true},
		{"decision", TypeDecision, decision, true},
		{"result", TypeResult, result, true},
		{"metric without value", TypeMetric, `{"cluster":"demo","job":"wc","name":"lag","observedAt":"2026-11-21T10:00:00Z"}`, false},
		{"metric value as string", TypeMetric, `{"cluster":"demo","job":"wc","name":"lag","value":"1","observedAt":"2026-11-21T10:00:00Z"}`, false},
		{"metric with unknown field", TypeMetric, metric[:len(metric)-1] + `,"extra":1}`, false},
		{"metric cluster with a dot", TypeMetric, `{"cluster":"de.mo","job":"wc","name":"lag","value":1,"observedAt":"2026-11-21T10:00:00Z"}`, false},
		{"metric empty name", TypeMetric, `{"cluster":"demo","job":"wc","name":"","value":1,"observedAt":"2026-11-21T10:00:00Z"}`, false},
		{"snapshot negative slots", TypeSnapshot, replaceJSON(t, snap, "slotsFree", -1), false},
		{"snapshot vertex negative rate", TypeSnapshot, replaceVertex(t, snap, "recordsInPerSecond", -5), false},
		{"snapshot vertex null", TypeSnapshot, replaceJSON(t, snap, "vertices", []any{nil}), false},
		{"decision unknown mode", TypeDecision, replaceJSON(t, []byte(decision), "mode", "turbo"), false},
		{"decision zero slots per TM", TypeDecision, replaceJSON(t, []byte(decision), "slots", map[string]any{"perTaskManager": 0, "sharing": "shared"}), false},
		{"result unknown outcome", TypeResult, replaceJSON(t, []byte(result), "outcome", "maybe"), false},
		{"not an object", TypeResult, `[1,2]`, false},
		{"key in another letter case", TypeMetric, `{"CLUSTER":"demo","cluster":"demo","job":"wc","name":"lag","value":1,"observedAt":"2026-11-21T10:00:00Z"}`, false},
		{"decision vertex without id", TypeDecision, replaceJSON(t, []byte(decision), "vertices", []any{map[string]any{}}), false},
		{"result step without name", TypeResult, replaceJSON(t, []byte(result), "steps", []any{map[string]any{"durationMs": 1}}), false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			schemaErr := ValidateSchema(tt.typ, []byte(tt.data))
			_, runtimeErr := decodePayload(tt.typ, []byte(tt.data))
			if tt.valid {
				require.NoError(t, schemaErr)
				require.NoError(t, runtimeErr)
				return
			}
			require.ErrorIs(t, schemaErr, ErrInvalid)
			require.ErrorIs(t, runtimeErr, ErrInvalid)
		})
	}
}

func replaceJSON(t *testing.T, data []byte, key string, v any) string {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m))
	m[key] = v
	out, err := json.Marshal(m)
	require.NoError(t, err)
	return string(out)
}

func replaceVertex(t *testing.T, data []byte, key string, v any) string {
	t.Helper()
	var m map[string]any
	require.NoError(t, json.Unmarshal(data, &m))
	m["vertices"].([]any)[0].(map[string]any)[key] = v
	out, err := json.Marshal(m)
	require.NoError(t, err)
	return string(out)
}
