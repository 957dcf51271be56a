package flinksim

import (
	"encoding/json"
	"math"
	"strconv"
)

// Encoders of the metric answers every poll reads, writing exactly the
// bytes encoding/json writes for the same values (TestMetricEncoders) at a
// fraction of the cost: a metrics-ingest poll reads two per vertex.

// appendJSONString appends s quoted as encoding/json quotes it. Strings
// that need escaping (control characters, quotes, backslashes, HTML
// characters, non-ASCII) are left to encoding/json.
func appendJSONString(b []byte, s string) []byte {
	for i := 0; i < len(s); i++ {
		if c := s[i]; c < 0x20 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' || c >= 0x80 {
			q, _ := json.Marshal(s) // a string always marshals
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, s...)
	return append(b, '"')
}

// appendTo appends f as MarshalJSON writes it.
func (f jsonFloat) appendTo(b []byte) []byte {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return append(b, `"NaN"`...)
	case math.IsInf(v, 1):
		return append(b, `"Infinity"`...)
	case math.IsInf(v, -1):
		return append(b, `"-Infinity"`...)
	}
	return strconv.AppendFloat(b, v, 'f', -1, 64)
}

// encodeMetricIDs is json.Marshal(ms).
func encodeMetricIDs(ms []metricIDValue) []byte {
	if ms == nil {
		return []byte("null")
	}
	b := make([]byte, 0, 2+len(ms)*48)
	b = append(b, '[')
	for i, m := range ms {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"id":`...)
		b = appendJSONString(b, m.ID)
		if m.Value != "" {
			b = append(b, `,"value":`...)
			b = appendJSONString(b, m.Value)
		}
		b = append(b, '}')
	}
	return append(b, ']')
}

// encodeAggregated is json.Marshal(ms).
func encodeAggregated(ms []aggregatedMetric) []byte {
	if ms == nil {
		return []byte("null")
	}
	b := make([]byte, 0, 2+len(ms)*96)
	b = append(b, '[')
	for i, m := range ms {
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, '{')
		if m.Avg != nil {
			b = append(b, `"avg":`...)
			b = append(m.Avg.appendTo(b), ',')
		}
		b = append(b, `"id":`...)
		b = appendJSONString(b, m.ID)
		for _, f := range [...]struct {
			key string
			v   *jsonFloat
		}{{`,"max":`, m.Max}, {`,"min":`, m.Min}, {`,"sum":`, m.Sum}} {
			if f.v != nil {
				b = append(b, f.key...)
				b = f.v.appendTo(b)
			}
		}
		b = append(b, '}')
	}
	return append(b, ']')
}
