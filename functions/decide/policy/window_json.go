package policy

import (
	"math"
	"strconv"
	"time"
)

// The window's JSON, written and read without reflection. A job's window
// (State.Window: up to 60 samples of every vertex) is ~95 % of the state
// decide stores per job and reads back for every snapshot, and encoding/json
// spent most of decide's per-snapshot CPU on it. AppendWindow writes exactly
// the bytes json.Marshal writes for a []Sample (TestWindowJSON). ParseWindow
// reads the form AppendWindow writes (keys in State's order, no white
// space, times without escapes) and reports false for anything else, which
// the caller leaves to encoding/json; when it reads a window, it reads what
// json.Unmarshal reads (FuzzParseWindow).

// AppendWindow appends w to b as json.Marshal writes it; false when
// json.Marshal would fail (a NaN or infinite figure, a time it cannot
// write), b then holding a part of it.
func AppendWindow(b []byte, w []Sample) ([]byte, bool) {
	if w == nil {
		return append(b, "null"...), true
	}
	b = append(b, '[')
	for i := range w {
		if i > 0 {
			b = append(b, ',')
		}
		var ok bool
		if b, ok = appendSample(b, &w[i]); !ok {
			return b, false
		}
	}
	return append(b, ']'), true
}

func appendSample(b []byte, s *Sample) ([]byte, bool) {
	ok := true
	b = append(b, `{"t":`...)
	b = appendTime(b, s.At, &ok)
	b = append(b, `,"e":`...)
	b = appendTime(b, s.Epoch, &ok)
	b = append(b, `,"o":`...)
	b = appendFloat(b, s.Offered, &ok)
	b = append(b, `,"v":`...)
	if s.V == nil {
		return append(b, "null}"...), ok
	}
	b = append(b, '[')
	for i := range s.V {
		v := &s.V[i]
		if i > 0 {
			b = append(b, ',')
		}
		b = append(b, `{"p":`...)
		b = strconv.AppendInt(b, int64(v.P), 10)
		b = append(b, `,"bm":`...)
		b = appendFloat(b, v.BusyMax, &ok)
		b = append(b, `,"ba":`...)
		b = appendFloat(b, v.BusyAvg, &ok)
		b = append(b, `,"bp":`...)
		b = appendFloat(b, v.BP, &ok)
		b = append(b, `,"i":`...)
		b = appendFloat(b, v.In, &ok)
		b = append(b, `,"x":`...)
		b = appendFloat(b, v.Out, &ok)
		b = append(b, `,"q":`...)
		b = appendFloat(b, v.Pending, &ok)
		b = append(b, '}')
	}
	return append(b, "]}"...), ok
}

// appendTime appends t as time.Time's MarshalJSON writes it (a quoted
// RFC 3339 time, its fraction without trailing zeros); *ok becomes false
// when MarshalJSON would fail.
func appendTime(b []byte, t time.Time, ok *bool) []byte {
	b = append(b, '"')
	out, err := t.AppendText(b)
	if err != nil {
		*ok = false
		return b
	}
	return append(out, '"')
}

// appendFloat appends f as encoding/json writes a float64: the shortest
// decimal that reads back as f, in exponent form below 1e-6 and from 1e21
// on (with e-07 written e-7); *ok becomes false for NaN and infinities,
// which encoding/json refuses.
func appendFloat(b []byte, f float64, ok *bool) []byte {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		*ok = false
		return b
	}
	format := byte('f')
	if abs := math.Abs(f); abs != 0 && (abs < 1e-6 || abs >= 1e21) {
		format = 'e'
	}
	b = strconv.AppendFloat(b, f, format, -1, 64)
	if format == 'e' {
		if n := len(b); n >= 4 && b[n-4] == 'e' && b[n-3] == '-' && b[n-2] == '0' {
			b[n-2] = b[n-1]
			b = b[:n-1]
		}
	}
	return b
}

// ParseWindow reads a window from the start of b in the form AppendWindow
// writes, and returns it with the number of bytes it took. ok is false when
// b does not start with a window in that form; anything may follow it.
func ParseWindow(b []byte) (w []Sample, n int, ok bool) {
	r := windowReader{b: b}
	if !r.lit("[") {
		return nil, 0, false
	}
	w = []Sample{}
	if r.lit("]") {
		return w, r.i, true
	}
	width := 0 // the previous sample's vertices: the next one's likely count
	for {
		var s Sample
		if !r.sample(&s, width) {
			return nil, 0, false
		}
		width = len(s.V)
		w = append(w, s)
		if r.lit("]") {
			return w, r.i, true
		}
		if !r.lit(",") {
			return nil, 0, false
		}
	}
}

// windowReader reads the plain form of a window from b, from b[i] on.
// Each method consumes what it reads and reports whether it could.
type windowReader struct {
	b []byte
	i int
}

func (r *windowReader) sample(s *Sample, width int) bool {
	if !r.lit(`{"t":`) || !r.time(&s.At) || !r.lit(`,"e":`) || !r.time(&s.Epoch) ||
		!r.lit(`,"o":`) || !r.float(&s.Offered) || !r.lit(`,"v":[`) {
		return false
	}
	s.V = make([]VertexSample, 0, width)
	if r.lit("]}") {
		return true
	}
	for {
		var v VertexSample
		if !r.lit(`{"p":`) || !r.int(&v.P) || !r.lit(`,"bm":`) || !r.float(&v.BusyMax) ||
			!r.lit(`,"ba":`) || !r.float(&v.BusyAvg) || !r.lit(`,"bp":`) || !r.float(&v.BP) ||
			!r.lit(`,"i":`) || !r.float(&v.In) || !r.lit(`,"x":`) || !r.float(&v.Out) ||
			!r.lit(`,"q":`) || !r.float(&v.Pending) || !r.lit("}") {
			return false
		}
		s.V = append(s.V, v)
		if r.lit("]}") {
			return true
		}
		if !r.lit(",") {
			return false
		}
	}
}

// lit consumes s when b continues with it.
func (r *windowReader) lit(s string) bool {
	if len(r.b)-r.i < len(s) || string(r.b[r.i:r.i+len(s)]) != s {
		return false
	}
	r.i += len(s)
	return true
}

// time reads a quoted time with no escapes in it, as time.Time's
// UnmarshalJSON reads it (encoding/json hands it the quoted bytes).
func (r *windowReader) time(t *time.Time) bool {
	if r.i >= len(r.b) || r.b[r.i] != '"' {
		return false
	}
	end := r.i + 1
	for end < len(r.b) && r.b[end] != '"' {
		if c := r.b[end]; c == '\\' || c < 0x20 || c >= 0x80 {
			return false
		}
		end++
	}
	if end == len(r.b) || t.UnmarshalJSON(r.b[r.i:end+1]) != nil {
		return false
	}
	r.i = end + 1
	return true
}

// float reads a JSON number as encoding/json reads one into a float64.
func (r *windowReader) float(f *float64) bool {
	start, ok := r.number()
	if !ok {
		return false
	}
	x, err := strconv.ParseFloat(string(r.b[start:r.i]), 64)
	if err != nil {
		return false
	}
	*f = x
	return true
}

// int reads a JSON number as encoding/json reads one into an int: digits
// only, within int's range.
func (r *windowReader) int(n *int) bool {
	start, ok := r.number()
	if !ok {
		return false
	}
	x, err := strconv.ParseInt(string(r.b[start:r.i]), 10, strconv.IntSize)
	if err != nil {
		return false
	}
	*n = int(x)
	return true
}

// number consumes a number in JSON's grammar,
// -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, and returns where it
// began (it ends at r.i).
func (r *windowReader) number() (int, bool) {
	b, start := r.b, r.i
	i := start
	if i < len(b) && b[i] == '-' {
		i++
	}
	switch {
	case i < len(b) && b[i] == '0':
		i++
	case i < len(b) && '1' <= b[i] && b[i] <= '9':
		i = digitsEnd(b, i)
	default:
		return 0, false
	}
	if i < len(b) && b[i] == '.' {
		j := digitsEnd(b, i+1)
		if j == i+1 {
			return 0, false
		}
		i = j
	}
	if i < len(b) && (b[i] == 'e' || b[i] == 'E') {
		i++
		if i < len(b) && (b[i] == '+' || b[i] == '-') {
			i++
		}
		if j := digitsEnd(b, i); j > i {
			i = j
		} else {
			return 0, false
		}
	}
	r.i = i
	return start, true
}

// digitsEnd returns where the run of decimal digits from b[i] on ends.
func digitsEnd(b []byte, i int) int {
	for i < len(b) && '0' <= b[i] && b[i] <= '9' {
		i++
	}
	return i
}
