package decider

import (
	"encoding/json"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/internal/events"
)

// recordCases are records as decide stores them: the benchmark's job with
// and without an outbox, an empty topology, no window.
func recordCases(tb testing.TB) map[string]record {
	full := newPathBench(tb, true).stored(tb)
	withOutbox := full
	withOutbox.Outbox = &events.Decision{DecisionID: "d", Cluster: "demo", JobID: jobID, Rationale: `a <"quoted"> rationale`,
		Vertices: []events.VertexDecision{{ID: "v", Current: 1, Target: 2}}, DecidedAt: t0}
	noTopology := full
	noTopology.State.Topology = ""
	noWindow := full
	noWindow.State.Window = nil
	return map[string]record{"full": full, "outbox": withOutbox, "no topology": noTopology, "no window": noWindow, "empty": {}}
}

// encodeRecord writes json.Marshal's bytes; decodeRecord reads them as
// json.Unmarshal does, the window by policy.ParseWindow.
func TestRecordJSON(t *testing.T) {
	for name, r := range recordCases(t) {
		t.Run(name, func(t *testing.T) {
			want, err := json.Marshal(r)
			require.NoError(t, err)
			got, err := encodeRecord(r)
			require.NoError(t, err)
			require.Equal(t, string(want), string(got))
			_, _, cut := cutWindow(got)
			require.Equal(t, len(r.State.Window) > 0, cut, "a stored window is read by policy.ParseWindow (State's fields before Window reordered?)")
			requireDecodesAsJSON(t, got)
		})
	}
}

// requireDecodesAsJSON: decodeRecord and json.Unmarshal agree on data.
func requireDecodesAsJSON(t *testing.T, data []byte) {
	t.Helper()
	var want, got record
	wantErr := json.Unmarshal(data, &want)
	gotErr := decodeRecord(data, &got)
	if wantErr != nil {
		require.EqualError(t, gotErr, wantErr.Error())
		return
	}
	require.NoError(t, gotErr)
	require.Equal(t, want, got)
}

// TestDecodeRecordForms: records not in encodeRecord's form read as
// json.Unmarshal reads them.
func TestDecodeRecordForms(t *testing.T) {
	const smp = `{"t":"2026-11-21T09:00:00Z","e":"2026-11-21T09:00:00Z","o":1,"v":[{"p":4,"bm":0.9,"ba":0.8,"bp":0,"i":1,"x":1,"q":-1}]}`
	const head = `{"state":{"version":1,"topology":"a;b\u003ca\"","lastObservedAt":"2026-11-21T09:00:00Z","epoch":"2026-11-21T09:00:00Z"`
	for _, tc := range []struct {
		name, in string
		cut      bool // read by cutWindow
	}{
		{"plain", head + `,"window":[` + smp + `]},"jobName":"j"}`, true},
		{"window then another", head + `,"window":[` + smp + `],"window":[]}}`, false},
		{"window then null window", head + `,"window":[` + smp + `],"window":null}}`, false},
		{"a metric named window", head + `,"window":[` + smp + `],"metrics":{"window":{"name":"window"}}}}`, false},
		{"spaces", `{ "state":{"version":1,"window":[` + smp + `]}}`, false},
		{"window first", `{"state":{"window":[` + smp + `],"version":1}}`, false},
		{"rest invalid", head + `,"window":[` + smp + `],}}`, true},
		{"window invalid", head + `,"window":[` + smp + `,]}}`, false},
		{"truncated", head + `,"window":[` + smp, false},
		{"not JSON", `garbage`, false},
		{"empty", ``, false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, _, cut := cutWindow([]byte(tc.in))
			require.Equal(t, tc.cut, cut)
			requireDecodesAsJSON(t, []byte(tc.in))
		})
	}
}

// FuzzDecodeRecord: decodeRecord reads whatever it is given as
// json.Unmarshal reads it.
func FuzzDecodeRecord(f *testing.F) {
	r := record{State: policy.State{Version: 1, Topology: "a;b<a", LastObservedAt: t0, Epoch: t0,
		Window: []policy.Sample{{At: t0, Epoch: t0, Offered: 1.5, V: []policy.VertexSample{{P: 2, BusyMax: 0.5, In: 3}}}}},
		JobName: "job", Outbox: &events.Decision{DecisionID: "d", DecidedAt: t0.Add(time.Second)}}
	b, err := encodeRecord(r)
	require.NoError(f, err)
	f.Add(b)
	f.Add([]byte(`{"state":{"version":1,"lastObservedAt":"2026-11-21T09:00:00Z","epoch":"2026-11-21T09:00:00Z","window":[]}}`))
	f.Fuzz(func(t *testing.T, data []byte) { requireDecodesAsJSON(t, data) })
}
