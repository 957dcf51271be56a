package decider

import (
	"bytes"
	"encoding/json"

	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
)

// A job's record is stored as json.Marshal writes it: replicas of two
// versions read each other's records during a rolling update. Its state's
// window (State.Window, ~95 % of the bytes) is written and read by
// policy.AppendWindow and policy.ParseWindow, the rest of the record by
// encoding/json, so encoding/json's reflection and its scans of the whole
// record pass over a few kilobytes, not over the ~75 KB of a 10-vertex
// job's window. encodeRecord's bytes are json.Marshal's (TestRecordJSON);
// decodeRecord reads what json.Unmarshal reads, and leaves any record not
// in encodeRecord's form to json.Unmarshal (FuzzDecodeRecord).

// windowKey is the window's member in the state object; it follows the
// state's epoch (State's field order).
const windowKey = `,"window":`

// encodeRecord returns json.Marshal(r).
func encodeRecord(r record) ([]byte, error) {
	w := r.State.Window
	if len(w) == 0 {
		return json.Marshal(r) // omitempty: no window member
	}
	r.State.Window = nil
	head, err := json.Marshal(r)
	if err != nil {
		return nil, err
	}
	at := windowAt(head)
	if at < 0 {
		r.State.Window = w
		return json.Marshal(r) // a layout windowAt does not know
	}
	out := make([]byte, 0, len(head)+len(windowKey)+len(w)*(96+144*len(w[0].V)))
	out = append(out, head[:at]...)
	out = append(out, windowKey...)
	out, ok := policy.AppendWindow(out, w)
	if !ok {
		r.State.Window = w
		return json.Marshal(r) // for encoding/json's error
	}
	return append(out, head[at:]...), nil
}

// decodeRecord is json.Unmarshal(data, r) for a new record r.
func decodeRecord(data []byte, r *record) error {
	if w, rest, ok := cutWindow(data); ok {
		var out record
		if json.Unmarshal(rest, &out) == nil {
			out.State.Window = w
			*r = out
			return nil
		}
	}
	return json.Unmarshal(data, r)
}

// cutWindow splits a record in encodeRecord's form into its state's window
// and the record without it; false for a record in any other form, or one
// with another member named window after it (json.Unmarshal would keep the
// last).
func cutWindow(data []byte) (w []policy.Sample, rest []byte, ok bool) {
	at := windowAt(data)
	if at < 0 || !bytes.HasPrefix(data[at:], []byte(windowKey)) {
		return nil, nil, false
	}
	w, n, ok := policy.ParseWindow(data[at+len(windowKey):])
	if !ok {
		return nil, nil, false
	}
	end := at + len(windowKey) + n
	if bytes.Contains(data[end:], []byte(`"window":`)) {
		return nil, nil, false
	}
	rest = make([]byte, 0, len(data)-(end-at))
	rest = append(rest, data[:at]...)
	return w, append(rest, data[end:]...), true
}

// windowAt returns where the state's window member goes in b, just after
// the state's epoch, when b begins as json.Marshal begins a record,
//
//	{"state":{"version":N,"topology":"…","lastObservedAt":"…","epoch":"…"
//
// (the topology omitted when empty); -1 otherwise.
func windowAt(b []byte) int {
	p := prefixReader{b: b}
	if !p.lit(`{"state":{"version":`) || !p.digits() || !p.lit(",") {
		return -1
	}
	if p.lit(`"topology":`) && (!p.str() || !p.lit(",")) {
		return -1
	}
	if !p.lit(`"lastObservedAt":`) || !p.str() || !p.lit(`,"epoch":`) || !p.str() {
		return -1
	}
	return p.i
}

// prefixReader reads the start of a record. Each method consumes what it
// reads and reports whether it could.
type prefixReader struct {
	b []byte
	i int
}

func (p *prefixReader) lit(s string) bool {
	if !bytes.HasPrefix(p.b[p.i:], []byte(s)) {
		return false
	}
	p.i += len(s)
	return true
}

func (p *prefixReader) digits() bool {
	start := p.i
	for p.i < len(p.b) && '0' <= p.b[p.i] && p.b[p.i] <= '9' {
		p.i++
	}
	return p.i > start
}

// str consumes a JSON string, finding its end past escaped quotes; what is
// inside is left to encoding/json, which reads the record without its
// window.
func (p *prefixReader) str() bool {
	if !p.lit(`"`) {
		return false
	}
	for p.i < len(p.b) {
		switch p.b[p.i] {
		case '\\':
			p.i += 2
		case '"':
			p.i++
			return true
		default:
			p.i++
		}
	}
	return false
}
