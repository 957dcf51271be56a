package events

import (
	"strings"
	"testing"

	"github.com/nats-io/nats.go"
)

// FuzzDecode feeds arbitrary headers and bodies to the decoder and the
// checks behind it: they must return an event or an ErrInvalid error, never
// panic. Seeds live in testdata/fuzz/FuzzDecode.
func FuzzDecode(f *testing.F) {
	ev, _ := New(TypeMetric, "publish", "demo", "wordcount", Metric{Cluster: "demo", Job: "wordcount", Name: "lag", Value: 1})
	good, _ := ToMsg(MetricSubject("demo", "wordcount"), ev)
	f.Add(headerLines(good.Header), good.Data, good.Subject)
	f.Add("content-type: application/cloudevents+json\n", []byte(`{"specversion":"1.0","id":"1","source":"/x","type":"io.flinkscaler.metric.v1","data":{}}`), "flinkscaler.metric.a.b")
	f.Add("ce-specversion: 1.0\nce-id: \nce-type: x\n", []byte{0xff, 0xfe}, "flinkscaler.snapshot.a.b")
	f.Fuzz(func(t *testing.T, headers string, body []byte, subject string) {
		msg := &nats.Msg{Subject: subject, Header: parseHeaderLines(headers), Data: body}
		ev, err := Decode(msg)
		if err != nil {
			return
		}
		_ = Check(subject, ev)
		_, _ = Data[Snapshot](ev)
		_ = RejectionOf("fuzz", subject, msg.Header, body, "fuzz")
	})
}

func headerLines(h nats.Header) string {
	var b strings.Builder
	for k, vs := range h {
		for _, v := range vs {
			b.WriteString(k + ": " + v + "\n")
		}
	}
	return b.String()
}

func parseHeaderLines(s string) nats.Header {
	h := nats.Header{}
	for _, line := range strings.Split(s, "\n") {
		k, v, ok := strings.Cut(line, ":")
		if ok {
			h.Add(strings.TrimSpace(k), strings.TrimSpace(v))
		}
	}
	return h
}
