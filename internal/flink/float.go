package flink

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math"
	"strconv"
)

// Float is a double from Flink. It decodes from a JSON number or a JSON
// string ("873.4", "NaN", "Infinity", "-Infinity"), which is how Flink's
// Jackson writes non-finite doubles and every metric value. A JSON null
// decodes to NaN: the value is unknown.
type Float float64

// UnmarshalJSON implements json.Unmarshaler.
func (f *Float) UnmarshalJSON(b []byte) error {
	b = bytes.TrimSpace(b)
	if bytes.Equal(b, []byte("null")) {
		*f = Float(math.NaN())
		return nil
	}
	s := string(b)
	if len(b) > 0 && b[0] == '"' {
		if err := json.Unmarshal(b, &s); err != nil {
			return fmt.Errorf("float: %w", err)
		}
	}
	v, err := ParseFloat(s)
	if err != nil {
		return err
	}
	*f = Float(v)
	return nil
}

// MarshalJSON writes finite values as numbers and non-finite ones as the
// quoted strings Flink uses.
func (f Float) MarshalJSON() ([]byte, error) {
	v := float64(f)
	switch {
	case math.IsNaN(v):
		return []byte(`"NaN"`), nil
	case math.IsInf(v, 1):
		return []byte(`"Infinity"`), nil
	case math.IsInf(v, -1):
		return []byte(`"-Infinity"`), nil
	}
	return strconv.AppendFloat(nil, v, 'g', -1, 64), nil
}

// Finite reports whether f is neither NaN nor infinite.
func (f Float) Finite() bool {
	return !math.IsNaN(float64(f)) && !math.IsInf(float64(f), 0)
}

// ParseFloat parses a double the way Java prints it, including "NaN",
// "Infinity" and "-Infinity".
func ParseFloat(s string) (float64, error) {
	switch s {
	case "NaN":
		return math.NaN(), nil
	case "Infinity", "+Infinity":
		return math.Inf(1), nil
	case "-Infinity":
		return math.Inf(-1), nil
	}
	v, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return 0, fmt.Errorf("float %q: not a number", s)
	}
	return v, nil
}
