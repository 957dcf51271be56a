package flinksim

import (
	"encoding/csv"
	"errors"
	"fmt"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
)

// Load patterns (docs/scenarios.md "load").
const (
	PatternConstant   = "constant"
	PatternStep       = "step"
	PatternSine       = "sine"
	PatternCosine     = "cosine"
	PatternRandomWalk = "randomwalk"
	PatternSpikes     = "spikes"
	PatternTrace      = "trace"
)

// patternFields lists the fields each pattern takes besides pattern and noise.
var patternFields = map[string][]string{
	PatternConstant:   {"rate"},
	PatternStep:       {"steps"},
	PatternSine:       {"mean", "amplitude", "period", "phase"},
	PatternCosine:     {"mean", "amplitude", "period", "phase"},
	PatternRandomWalk: {"start", "maxStep", "min", "max"},
	PatternSpikes:     {"base", "probabilityPerMinute", "magnitude", "spikeDuration"},
	PatternTrace:      {"file"},
}

// Load is the records/s offered to the job's sources over time. Only the
// fields of its Pattern are meaningful.
type Load struct {
	Pattern string
	Rate    float64    // constant
	Steps   []LoadStep // step: each rate holds until the next step
	// sine and cosine: Mean + Amplitude·sin|cos(2π·t/Period + Phase).
	Mean, Amplitude float64
	Period          time.Duration
	Phase           float64
	// randomwalk: starts at Start, moves by U(−MaxStep, MaxStep) per minute,
	// kept within [Min, Max], linear within each minute.
	Start, MaxStep, Min, Max float64
	// spikes: Base's rate, multiplied by Magnitude for SpikeDuration; in each
	// minute without an active spike one starts with ProbabilityPerMinute.
	Base                 *Load
	ProbabilityPerMinute float64
	Magnitude            float64
	SpikeDuration        time.Duration
	// trace: File (as written) and its points, linearly interpolated.
	File  string
	Trace []TracePoint
	// Noise is relative and uniform: rate · (1 + U(−Noise, Noise)), drawn
	// anew every second.
	Noise float64
	// CorrelatedNoise is the standard deviation of a relative fluctuation
	// with time structure: rate · (1 + x), x an Ornstein–Uhlenbeck process
	// whose correlation time is NoiseCorrelation (real ingest wanders at
	// minute scale; Flink's 60 s meters erase per-second noise).
	CorrelatedNoise  float64
	NoiseCorrelation time.Duration
	// Bursts, if set, multiply the rate at random times.
	Bursts *Bursts
}

// Bursts are random surges on top of a load: each second outside a burst
// one starts with probability PerHour/3600 and multiplies the rate by
// Magnitude for Duration.
type Bursts struct {
	PerHour   float64
	Magnitude float64
	Duration  time.Duration
}

// defaultNoiseCorrelation is load.noiseCorrelation when correlatedNoise is
// set without it.
const defaultNoiseCorrelation = 5 * time.Minute

// LoadStep is one step of the step pattern.
type LoadStep struct {
	At   time.Duration
	Rate float64
}

// TracePoint is one row of a trace file.
type TracePoint struct {
	At   time.Duration
	Rate float64
}

func buildLoad(raw *rawLoad, path, dir string, ps *problems) Load {
	if raw == nil {
		ps.add(path, "required")
		return Load{}
	}
	l := Load{Pattern: raw.Pattern}
	allowed, ok := patternFields[raw.Pattern]
	switch {
	case raw.Pattern == "":
		ps.add(path+".pattern", "required (one of %s)", patternNames())
	case !ok:
		ps.add(path+".pattern", "unknown pattern %q (one of %s)", raw.Pattern, patternNames())
	}
	for _, f := range raw.setFields() {
		if ok && !slices.Contains(allowed, f) {
			ps.add(path+"."+f, "not a field of pattern %s (it takes %s)", raw.Pattern, strings.Join(allowed, ", "))
		}
	}
	if raw.Noise != nil {
		l.Noise = *raw.Noise
		if !(l.Noise >= 0 && l.Noise < 1) {
			ps.add(path+".noise", "must be in [0, 1), got %g", l.Noise)
		}
	}
	b := loadBuilder{raw: raw, path: path, ps: ps}
	b.disturbances(&l)
	switch raw.Pattern {
	case PatternConstant:
		l.Rate = b.rate("rate", raw.Rate, true)
	case PatternStep:
		l.Steps = b.steps()
	case PatternSine, PatternCosine:
		l.Mean = b.rate("mean", raw.Mean, true)
		l.Amplitude = b.rate("amplitude", raw.Amplitude, true)
		l.Period = b.duration("period", raw.Period, true)
		if raw.Phase != nil {
			l.Phase = *raw.Phase
		}
	case PatternRandomWalk:
		b.randomWalk(&l)
	case PatternSpikes:
		b.spikes(&l, dir)
	case PatternTrace:
		l.File, l.Trace = b.trace(dir)
	}
	return l
}

func patternNames() string {
	return "constant, step, sine, cosine, randomwalk, spikes, trace"
}

func (r *rawLoad) setFields() []string {
	set := []struct {
		name string
		ok   bool
	}{
		{"rate", r.Rate != nil}, {"steps", r.Steps != nil}, {"mean", r.Mean != nil},
		{"amplitude", r.Amplitude != nil}, {"period", r.Period != nil}, {"phase", r.Phase != nil},
		{"start", r.Start != nil}, {"maxStep", r.MaxStep != nil}, {"min", r.Min != nil},
		{"max", r.Max != nil}, {"base", r.Base != nil},
		{"probabilityPerMinute", r.ProbabilityPerMinute != nil}, {"magnitude", r.Magnitude != nil},
		{"spikeDuration", r.SpikeDuration != nil}, {"file", r.File != nil},
	}
	var names []string
	for _, s := range set {
		if s.ok {
			names = append(names, s.name)
		}
	}
	return names
}

type loadBuilder struct {
	raw  *rawLoad
	path string
	ps   *problems
}

// rate checks a non-negative finite number; required fields must be set.
func (b loadBuilder) rate(field string, v *float64, required bool) float64 {
	switch {
	case v == nil:
		if required {
			b.ps.add(b.path+"."+field, "required for pattern %s", b.raw.Pattern)
		}
		return 0
	case !(*v >= 0) || math.IsInf(*v, 1):
		b.ps.add(b.path+"."+field, "must be a non-negative number, got %g", *v)
		return 0
	}
	return *v
}

func (b loadBuilder) duration(field string, v *time.Duration, required bool) time.Duration {
	switch {
	case v == nil:
		if required {
			b.ps.add(b.path+"."+field, "required for pattern %s", b.raw.Pattern)
		}
		return 0
	case *v <= 0:
		b.ps.add(b.path+"."+field, "must be a positive duration, got %s", *v)
		return 0
	}
	return *v
}

// disturbances reads the fields every pattern takes besides noise:
// correlatedNoise, noiseCorrelation and bursts.
func (b loadBuilder) disturbances(l *Load) {
	raw := b.raw
	if raw.CorrelatedNoise != nil {
		l.CorrelatedNoise = *raw.CorrelatedNoise
		if !(l.CorrelatedNoise >= 0 && l.CorrelatedNoise < 1) {
			b.ps.add(b.path+".correlatedNoise", "must be in [0, 1), got %g", l.CorrelatedNoise)
		}
		l.NoiseCorrelation = defaultNoiseCorrelation
	}
	if raw.NoiseCorrelation != nil {
		if raw.CorrelatedNoise == nil {
			b.ps.add(b.path+".noiseCorrelation", "only meaningful with correlatedNoise")
		}
		l.NoiseCorrelation = b.duration("noiseCorrelation", raw.NoiseCorrelation, false)
	}
	if rb := raw.Bursts; rb != nil {
		l.Bursts = &Bursts{}
		p := b.path + ".bursts"
		if rb.PerHour == nil || !(*rb.PerHour > 0 && *rb.PerHour <= 3600) {
			b.ps.add(p+".perHour", "required, the mean number of bursts per hour in (0, 3600]")
		} else {
			l.Bursts.PerHour = *rb.PerHour
		}
		if rb.Magnitude == nil || !(*rb.Magnitude > 0) || math.IsInf(*rb.Magnitude, 1) {
			b.ps.add(p+".magnitude", "required, a positive multiplier of the rate")
		} else {
			l.Bursts.Magnitude = *rb.Magnitude
		}
		if rb.Duration == nil || *rb.Duration <= 0 {
			b.ps.add(p+".duration", "required, a positive duration")
		} else {
			l.Bursts.Duration = *rb.Duration
		}
	}
}

func (b loadBuilder) steps() []LoadStep {
	if len(b.raw.Steps) == 0 {
		b.ps.add(b.path+".steps", "at least one step is required")
		return nil
	}
	steps := make([]LoadStep, len(b.raw.Steps))
	for i, rs := range b.raw.Steps {
		p := fmt.Sprintf("%s.steps[%d]", b.path, i)
		sb := loadBuilder{raw: b.raw, path: p, ps: b.ps}
		steps[i].Rate = sb.rate("rate", rs.Rate, true)
		switch {
		case rs.At == nil:
			b.ps.add(p+".at", "required")
		case *rs.At < 0:
			b.ps.add(p+".at", "must not be negative, got %s", *rs.At)
		case i == 0 && *rs.At != 0:
			b.ps.add(p+".at", "the first step must be at 0s, got %s", *rs.At)
		case i > 0 && *rs.At <= steps[i-1].At:
			b.ps.add(p+".at", "%s is not after the previous step's %s", *rs.At, steps[i-1].At)
		default:
			steps[i].At = *rs.At
		}
	}
	return steps
}

func (b loadBuilder) randomWalk(l *Load) {
	l.Start = b.rate("start", b.raw.Start, true)
	l.MaxStep = b.rate("maxStep", b.raw.MaxStep, true)
	l.Min = b.rate("min", b.raw.Min, false)
	l.Max = math.Inf(1)
	if b.raw.Max != nil {
		l.Max = b.rate("max", b.raw.Max, false)
		if l.Max < l.Min {
			b.ps.add(b.path+".max", "%g is below min %g", l.Max, l.Min)
		}
	}
	if l.Start < l.Min || l.Start > l.Max {
		b.ps.add(b.path+".start", "%g is outside [min, max]", l.Start)
	}
}

func (b loadBuilder) spikes(l *Load, dir string) {
	if b.raw.Base == nil {
		b.ps.add(b.path+".base", "required for pattern spikes (another load block)")
	} else {
		base := buildLoad(b.raw.Base, b.path+".base", dir, b.ps)
		l.Base = &base
	}
	if p := b.raw.ProbabilityPerMinute; p == nil || !(*p >= 0 && *p <= 1) {
		b.ps.add(b.path+".probabilityPerMinute", "required, a probability in [0, 1]")
	} else {
		l.ProbabilityPerMinute = *p
	}
	if m := b.raw.Magnitude; m == nil || !(*m > 0) || math.IsInf(*m, 1) {
		b.ps.add(b.path+".magnitude", "required, a positive multiplier of the base rate")
	} else {
		l.Magnitude = *m
	}
	l.SpikeDuration = b.duration("spikeDuration", b.raw.SpikeDuration, true)
}

func (b loadBuilder) trace(dir string) (string, []TracePoint) {
	if b.raw.File == nil || *b.raw.File == "" {
		b.ps.add(b.path+".file", "required for pattern trace (CSV of seconds,rate)")
		return "", nil
	}
	file := *b.raw.File
	full := file
	if !filepath.IsAbs(full) {
		full = filepath.Join(dir, full)
	}
	points, err := readTrace(full)
	if err != nil {
		b.ps.add(b.path+".file", "%v", err)
	}
	return file, points
}

// readTrace reads a CSV of seconds,rate rows with ascending seconds; a first
// row that is not numeric is taken as a header.
func readTrace(path string) ([]TracePoint, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	r := csv.NewReader(f)
	r.FieldsPerRecord = 2
	r.TrimLeadingSpace = true
	var points []TracePoint
	for line := 1; ; line++ {
		rec, err := r.Read()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		p, err := parseTraceRow(rec, points)
		if err != nil {
			if line == 1 && errors.Is(err, strconv.ErrSyntax) {
				continue // header
			}
			return nil, fmt.Errorf("%s line %d: %w", path, line, err)
		}
		points = append(points, p)
	}
	if len(points) == 0 {
		return nil, fmt.Errorf("%s: no rows of seconds,rate", path)
	}
	return points, nil
}

func parseTraceRow(rec []string, prev []TracePoint) (TracePoint, error) {
	sec, err := strconv.ParseFloat(strings.TrimSpace(rec[0]), 64)
	if err != nil {
		return TracePoint{}, err
	}
	rate, err := strconv.ParseFloat(strings.TrimSpace(rec[1]), 64)
	if err != nil {
		return TracePoint{}, err
	}
	at := time.Duration(sec * float64(time.Second))
	switch {
	case !(sec >= 0) || math.IsInf(sec, 1):
		return TracePoint{}, fmt.Errorf("seconds %g must be a non-negative number", sec)
	case !(rate >= 0) || math.IsInf(rate, 1):
		return TracePoint{}, fmt.Errorf("rate %g must be a non-negative number", rate)
	case len(prev) > 0 && at <= prev[len(prev)-1].At:
		return TracePoint{}, fmt.Errorf("seconds %g not after the previous row", sec)
	}
	return TracePoint{At: at, Rate: rate}, nil
}
