package events

import (
	"context"
	"encoding/json"
	"testing"

	"github.com/cloudevents/sdk-go/v2/binding"
	"github.com/nats-io/nats.go"
	"github.com/stretchr/testify/require"
)

func TestBinaryRoundTrip(t *testing.T) {
	ev := snapshotEvent(t)
	msg, err := ToMsg("flinkscaler.snapshot.demo.x", ev)
	require.NoError(t, err)
	require.Equal(t, ev.ID(), msg.Header.Get(HeaderMsgID))
	require.Equal(t, "1.0", msg.Header.Get("ce-specversion"))
	require.Equal(t, TypeSnapshot, msg.Header.Get("ce-type"))
	require.Equal(t, "/flinkscaler/metrics-ingest/demo", msg.Header.Get("ce-source"))
	require.Equal(t, "demo", msg.Header.Get("ce-cluster"))
	require.Equal(t, DataJSON, msg.Header.Get("content-type"))

	got, err := Decode(msg)
	require.NoError(t, err)
	require.Equal(t, ev.ID(), got.ID())
	require.Equal(t, ev.Type(), got.Type())
	require.Equal(t, ev.Source(), got.Source())
	require.Equal(t, ev.Subject(), got.Subject())
	require.True(t, ev.Time().Equal(got.Time()))
	require.Equal(t, "demo", got.Extensions()[ExtCluster])
	require.JSONEq(t, string(ev.Data()), string(got.Data()))
}

// TestSDKReadsOurBinaryOutput reads our output with the SDK's own
// binding.ToEvent through a reader over the raw headers, as a consumer
// written against sdk-go would.
func TestSDKReadsOurBinaryOutput(t *testing.T) {
	ev := snapshotEvent(t)
	msg, err := ToMsg(SnapshotSubject("demo", ev.Subject()), ev)
	require.NoError(t, err)
	got, err := binding.ToEvent(context.Background(), newNATSMessage(msg))
	require.NoError(t, err)
	require.NoError(t, got.Validate())
	require.Equal(t, "1.0", got.SpecVersion())
	require.Equal(t, ev.ID(), got.ID())
	require.Equal(t, ev.Type(), got.Type())
	require.Equal(t, ev.Source(), got.Source())
	require.Equal(t, ev.Subject(), got.Subject())
	require.Equal(t, DataJSON, got.DataContentType())
	require.True(t, ev.Time().Equal(got.Time()))
	require.Equal(t, ev.Extensions(), got.Extensions())
	require.JSONEq(t, string(ev.Data()), string(got.Data()))
}

func TestDecodeStructured(t *testing.T) {
	ev := snapshotEvent(t)
	body, err := json.Marshal(ev)
	require.NoError(t, err)
	msg := nats.NewMsg("flinkscaler.snapshot.demo.x")
	msg.Header.Set("Content-Type", StructuredJSON+"; charset=utf-8")
	msg.Data = body
	got, err := Decode(msg)
	require.NoError(t, err)
	require.Equal(t, ev.ID(), got.ID())
	require.JSONEq(t, string(ev.Data()), string(got.Data()))
}

func TestDecodeHandBuiltBinary(t *testing.T) {
	msg := nats.NewMsg("flinkscaler.metric.demo.wordcount")
	msg.Header.Set("ce-specversion", "1.0")
	msg.Header.Set("ce-id", "lag-1")
	msg.Header.Set("ce-type", TypeMetric)
	msg.Header.Set("ce-source", "/kafka-exporter")
	msg.Header.Set("ce-subject", "wordcount")
	msg.Header.Set("Content-Type", "application/json")
	msg.Data = []byte(`{"cluster":"demo","job":"wordcount","name":"lag","value":1200,"observedAt":"2026-11-21T10:00:00Z"}`)
	ev, err := Decode(msg)
	require.NoError(t, err)
	require.NoError(t, Check(msg.Subject, ev))
	m, err := Data[Metric](ev)
	require.NoError(t, err)
	require.Equal(t, 1200.0, m.Value)
}

func TestDecodeRejects(t *testing.T) {
	valid := snapshotEvent(t)
	good, err := ToMsg("flinkscaler.snapshot.demo.x", valid)
	require.NoError(t, err)
	tests := []struct {
		name   string
		mutate func(m *nats.Msg)
		want   string
	}{
		{"plain JSON, no CloudEvent", func(m *nats.Msg) { m.Header = nats.Header{}; m.Data = []byte(`{"a":1}`) }, "not a CloudEvent"},
		{"unknown spec version", func(m *nats.Msg) { m.Header.Set("ce-specversion", "0.3") }, `spec version "0.3"`},
		{"missing id", func(m *nats.Msg) { m.Header.Del("ce-id") }, "id"},
		{"missing source", func(m *nats.Msg) { m.Header.Del("ce-source") }, "source"},
		{"structured garbage", func(m *nats.Msg) {
			m.Header = nats.Header{"Content-Type": {StructuredJSON}}
			m.Data = []byte(`{"specversion":`)
		}, "invalid event"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := nats.NewMsg(good.Subject)
			for k, v := range good.Header {
				m.Header[k] = append([]string(nil), v...)
			}
			m.Data = append([]byte(nil), good.Data...)
			tt.mutate(m)
			_, err := Decode(m)
			require.ErrorIs(t, err, ErrInvalid)
			require.Contains(t, err.Error(), tt.want)
		})
	}
}
