package flink

import (
	"encoding/json"
	"strings"
)

// A fast path for the answers metrics-ingest reads for every vertex on every
// poll: metric listings and aggregated metrics, arrays of flat objects
// ([{"id":"busyTimeMsPerSecond","avg":12.5,"max":"NaN"}, …]). It decodes
// only the plain form of that shape: known keys spelled exactly, strings
// without escapes or non-ASCII bytes, numbers in JSON's grammar that parse
// as finite doubles. Anything else (including every malformed body) is left
// to encoding/json, so the result is always the one json.Unmarshal gives
// (FuzzFastDecode checks it).

// metricID is one entry of a metric listing.
type metricID struct {
	ID string `json:"id"`
}

// fastDecode decodes raw into out when out is a metric list and raw is in
// the plain form; it reports whether it did. It leaves out untouched when
// it does not.
func fastDecode(raw []byte, out any) bool {
	switch o := out.(type) {
	case *[]AggregatedMetric:
		return decodeList(raw, o, setAggregated)
	case *[]MetricValue:
		return decodeList(raw, o, setMetricValue)
	case *latestOnly:
		return decodeLatest(raw, o)
	case *JobDetails:
		return decodeJobDetails(raw, o)
	case *[]metricID:
		return decodeList(raw, o, func(m *metricID, key string, v value) bool {
			if key != "id" || !v.str {
				return false
			}
			m.ID = v.text
			return true
		})
	}
	return false
}

// value is one scalar of a plain object: a string (text unquoted) or a
// number (text as written).
type value struct {
	text string
	str  bool
}

func setAggregated(m *AggregatedMetric, key string, v value) bool {
	if key == "id" {
		if !v.str {
			return false
		}
		m.ID = v.text
		return true
	}
	var field **Float
	switch key {
	case "min":
		field = &m.Min
	case "max":
		field = &m.Max
	case "avg":
		field = &m.Avg
	case "sum":
		field = &m.Sum
	case "skew":
		field = &m.Skew
	default:
		return false
	}
	f, err := ParseFloat(v.text)
	if err != nil || (!v.str && !Float(f).Finite()) {
		return false
	}
	x := Float(f)
	*field = &x
	return true
}

func setMetricValue(m *MetricValue, key string, v value) bool {
	if !v.str {
		return false
	}
	switch key {
	case "id":
		m.ID = v.text
	case "value":
		m.Value = v.text
	default:
		return false
	}
	return true
}

// decodeList decodes raw as an array of plain objects, each key and value
// handed to set; false when raw is not in the plain form or set refuses.
func decodeList[T any](raw []byte, out *[]T, set func(*T, string, value) bool) bool {
	s := scanner{b: raw}
	if !s.byte('[') {
		return false
	}
	list := make([]T, 0, 16)
	if !s.byte(']') {
		for {
			var item T
			if !s.object(func(key string, v value) bool { return set(&item, key, v) }) {
				return false
			}
			list = append(list, item)
			if s.byte(']') {
				break
			}
			if !s.byte(',') {
				return false
			}
		}
	}
	s.space()
	if s.i != len(s.b) {
		return false
	}
	*out = list
	return true
}

// scanner reads the plain form; every method skips white space first and
// reports false, consuming nothing useful, on anything outside it.
type scanner struct {
	b []byte
	i int
}

func (s *scanner) space() {
	for s.i < len(s.b) {
		switch s.b[s.i] {
		case ' ', '\t', '\n', '\r':
			s.i++
		default:
			return
		}
	}
}

// byte consumes c if it comes next.
func (s *scanner) byte(c byte) bool {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

// object reads {"key":scalar, …} handing each pair to set.
func (s *scanner) object(set func(string, value) bool) bool {
	if !s.byte('{') {
		return false
	}
	if s.byte('}') {
		return true
	}
	for {
		key, ok := s.str()
		if !ok || !s.byte(':') {
			return false
		}
		v, ok := s.scalar()
		if !ok || !set(key, v) {
			return false
		}
		if s.byte('}') {
			return true
		}
		if !s.byte(',') {
			return false
		}
	}
}

// str reads a string without escapes, control characters or non-ASCII
// bytes.
func (s *scanner) str() (string, bool) {
	if !s.byte('"') {
		return "", false
	}
	start := s.i
	for ; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '"':
			text := string(s.b[start:s.i])
			s.i++
			return text, true
		case c == '\\' || c < 0x20 || c >= 0x80:
			return "", false
		}
	}
	return "", false
}

// scalar reads a plain string or a number in JSON's grammar.
func (s *scanner) scalar() (value, bool) {
	s.space()
	if s.i < len(s.b) && s.b[s.i] == '"' {
		text, ok := s.str()
		return value{text: text, str: true}, ok
	}
	start := s.i
	if !s.number() {
		return value{}, false
	}
	return value{text: string(s.b[start:s.i])}, true
}

// number consumes -?(0|[1-9][0-9]*)(\.[0-9]+)?([eE][+-]?[0-9]+)?.
func (s *scanner) number() bool {
	s.optional('-')
	switch {
	case s.optional('0'):
	case s.i < len(s.b) && s.b[s.i] >= '1' && s.b[s.i] <= '9':
		s.digits()
	default:
		return false
	}
	if s.optional('.') && s.digits() == 0 {
		return false
	}
	if s.optional('e') || s.optional('E') {
		if !s.optional('+') {
			s.optional('-')
		}
		if s.digits() == 0 {
			return false
		}
	}
	return true
}

func (s *scanner) optional(c byte) bool {
	if s.i < len(s.b) && s.b[s.i] == c {
		s.i++
		return true
	}
	return false
}

func (s *scanner) digits() int {
	start := s.i
	for s.i < len(s.b) && s.b[s.i] >= '0' && s.b[s.i] <= '9' {
		s.i++
	}
	return s.i - start
}

// latestOnly is the part of GET /jobs/:jobid/checkpoints LatestCheckpoints
// decodes.
type latestOnly struct {
	Latest LatestCheckpoints `json:"latest"`
}

// decodeLatest decodes raw into out by checking the whole document and
// handing only the top-level "latest" value to encoding/json, instead of
// decoding the counts, summary and history it skips. It declines (false)
// on anything where that could differ from json.Unmarshal(raw, out): a
// document that is not an object, a key that is not plain ASCII or that
// matches "latest" only ignoring case, "latest" twice, or a "latest" that
// does not decode (the caller then reports encoding/json's own error).
func decodeLatest(raw []byte, out *latestOnly) bool {
	s := scanner{b: raw}
	if !s.byte('{') {
		return false
	}
	var latest []byte
	if !s.byte('}') {
		for {
			key, ok := s.str()
			if !ok || !s.byte(':') {
				return false
			}
			s.space()
			start := s.i
			if !s.skip(0) {
				return false
			}
			switch {
			case key == "latest":
				if latest != nil {
					return false
				}
				latest = raw[start:s.i]
			case foldsTo(key, "latest"):
				return false
			}
			if s.byte('}') {
				break
			}
			if !s.byte(',') {
				return false
			}
		}
	}
	s.space()
	if s.i != len(s.b) {
		return false
	}
	var got latestOnly
	if latest != nil && json.Unmarshal(latest, &got.Latest) != nil {
		return false
	}
	*out = got
	return true
}

// foldsTo reports whether key equals want ignoring ASCII case.
func foldsTo(key, want string) bool {
	return len(key) == len(want) && strings.EqualFold(key, want)
}

// maxSkipDepth bounds the nesting skip follows; deeper documents are left
// to encoding/json (which has its own limit).
const maxSkipDepth = 1000

// skip consumes one JSON value of any kind, checking it as encoding/json
// would; false on anything invalid or nested deeper than maxSkipDepth.
func (s *scanner) skip(depth int) bool {
	if depth > maxSkipDepth {
		return false
	}
	s.space()
	if s.i >= len(s.b) {
		return false
	}
	switch c := s.b[s.i]; {
	case c == '"':
		return s.skipString()
	case c == '{':
		s.i++
		if s.byte('}') {
			return true
		}
		for {
			s.space()
			if !s.skipString() || !s.byte(':') || !s.skip(depth+1) {
				return false
			}
			if s.byte('}') {
				return true
			}
			if !s.byte(',') {
				return false
			}
		}
	case c == '[':
		s.i++
		if s.byte(']') {
			return true
		}
		for {
			if !s.skip(depth + 1) {
				return false
			}
			if s.byte(']') {
				return true
			}
			if !s.byte(',') {
				return false
			}
		}
	case c == 't':
		return s.literal("true")
	case c == 'f':
		return s.literal("false")
	case c == 'n':
		return s.literal("null")
	}
	return s.number()
}

func (s *scanner) literal(word string) bool {
	if !strings.HasPrefix(string(s.b[s.i:min(len(s.b), s.i+len(word))]), word) {
		return false
	}
	s.i += len(word)
	return true
}

// skipString consumes a string with any valid escapes.
func (s *scanner) skipString() bool {
	if s.i >= len(s.b) || s.b[s.i] != '"' {
		return false
	}
	for s.i++; s.i < len(s.b); s.i++ {
		switch c := s.b[s.i]; {
		case c == '"':
			s.i++
			return true
		case c < 0x20:
			return false
		case c == '\\':
			s.i++
			if s.i >= len(s.b) {
				return false
			}
			switch s.b[s.i] {
			case '"', '\\', '/', 'b', 'f', 'n', 'r', 't':
			case 'u':
				if s.i+4 >= len(s.b) {
					return false
				}
				for _, h := range s.b[s.i+1 : s.i+5] {
					if !isHex(h) {
						return false
					}
				}
				s.i += 4
			default:
				return false
			}
		}
	}
	return false
}

func isHex(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'a' && c <= 'f' || c >= 'A' && c <= 'F'
}
