package compare

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/flinkscaler/flinkscaler/functions/actuate/actuator"
	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/internal/flinkautoscaler"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
)

// Timings.
const (
	TimingDefault = "default"
	TimingFast    = "fast"
)

// FastFactor is how much --timing fast compresses a run: the scenario's
// load timeline and every autoscaler option that paces along it, for both
// policies alike.
const FastFactor = 5

// metricFloor is the least a compressed metric window or wait becomes:
// two of Flink's metric fetch intervals (10 s, which does not shrink).
const metricFloor = 20 * time.Second

// Option is one setting a run changes from its shipped default.
type Option struct {
	Policy  string `json:"policy"`
	Key     string `json:"key"`
	Value   string `json:"value"`
	Default string `json:"default"`
	Why     string `json:"why"`
}

// factor is the compression of a timing.
func factor(timing string) float64 {
	if timing == TimingFast {
		return FastFactor
	}
	return 1
}

// compress divides a pacing duration by f, not below metricFloor unless
// it was already shorter.
func compress(d time.Duration, f float64) time.Duration {
	if f <= 1 {
		return d
	}
	return max(time.Duration(float64(d)/f), min(d, metricFloor))
}

// peerOptions are the real autoscaler's options for a timing.
func peerOptions(timing string) []flinkautoscaler.Option {
	return flinkautoscaler.Scaled(factor(timing))
}

// pacing lists decide's policy durations that pace along the job's
// timeline, and its restart estimate (divided as the peer's is, weighed
// against the catch-up horizon; decide replaces it by the restarts it
// observes). Left alone, as for the peer: settle (decide never reads a
// run younger than Flink's 60 s rate-meter window plus a metric fetch,
// policy.MeterSettle, which does not shrink), rateWindow (the span of
// pending-records growth decide adds to the sources' records in, which
// Flink's meters average over the last 60 s whatever the timeline: at
// 20 s the two spans disagree, and the minute in which a backlog drained
// reads as load, 52k rec/s on wordcount 34 s after it fell to 12k),
// backlog (a lag threshold), scaleUpDelay (already below the floor),
// replay (a share of the checkpoint interval, which does not shrink),
// rescaleTimeout (a bound on a physical wait).
var pacing = []struct {
	key   string
	field func(*policy.Config) *time.Duration
}{
	{"catchUp", func(p *policy.Config) *time.Duration { return &p.CatchUp }},
	{"metricWindow", func(p *policy.Config) *time.Duration { return &p.MetricWindow }},
	{"scaleDownWindow", func(p *policy.Config) *time.Duration { return &p.ScaleDownWindow }},
	{"minInterval", func(p *policy.Config) *time.Duration { return &p.MinInterval }},
	{"restartDowntime", func(p *policy.Config) *time.Duration { return &p.RestartDowntime }},
}

// tuneOurs returns the policy and actuate adjustments of a timing and the
// options they change (nil, nil, nil for the defaults).
func tuneOurs(timing string) (func(*policy.Config), func(*actuator.Options), []Option) {
	f := factor(timing)
	if f <= 1 {
		return nil, nil, nil
	}
	why := fmt.Sprintf("timeline compressed %g×", f)
	def := policy.Defaults()
	var opts []Option
	for _, x := range pacing {
		d := *x.field(&def)
		opts = append(opts, Option{Policy: PolicyOurs, Key: "decide policy " + x.key, Value: compress(d, f).String(), Default: d.String(), Why: why})
	}
	// actuate's rate limit is a safety net kept below decide's minInterval,
	// not a window over metrics: divided without a floor.
	actDef := actuator.DefaultConfig().Options.MinInterval
	actMin := time.Duration(float64(actDef) / f)
	opts = append(opts, Option{Policy: PolicyOurs, Key: "actuate --min-interval", Value: actMin.String(), Default: actDef.String(), Why: why + " (no floor: kept below decide's minInterval)"})
	tunePolicy := func(p *policy.Config) {
		for _, x := range pacing {
			d := x.field(p)
			*d = compress(*d, f)
		}
	}
	tuneActuate := func(o *actuator.Options) { o.MinInterval = actMin }
	return tunePolicy, tuneActuate, opts
}

// compressScenario writes the scenario at path with its load timeline
// divided by f into dir and returns the new file's path and the changes.
// Only timelines that compress without changing their meaning are
// accepted: constant, step, sine, cosine and spikes loads (compressLoad).
func compressScenario(path, dir string, f float64) (string, []Option, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return "", nil, err
	}
	var doc map[string]any
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return "", nil, fmt.Errorf("%s: %w", path, err)
	}
	why := fmt.Sprintf("timeline compressed %g×", f)
	var opts []Option
	scale := func(where string, m map[string]any, key string) error {
		v, ok := m[key]
		if !ok {
			return nil
		}
		s, isString := v.(string)
		d, err := time.ParseDuration(s)
		if !isString || err != nil {
			return fmt.Errorf("%s: %s %v is not a duration", path, where, v)
		}
		nd := time.Duration(float64(d) / f).Round(time.Second)
		m[key] = nd.String()
		if nd == d {
			return nil
		}
		opts = append(opts, Option{Policy: PolicyBoth, Key: "scenario " + where, Value: nd.String(), Default: d.String(), Why: why})
		return nil
	}
	multiply := func(where string, m map[string]any, key string) (float64, error) {
		x, ok := number(m[key])
		if !ok {
			return 0, fmt.Errorf("%s %v is not a number", where, m[key])
		}
		m[key] = x * f
		opts = append(opts, Option{Policy: PolicyBoth, Key: "scenario " + where, Value: strconv.FormatFloat(x*f, 'g', -1, 64), Default: strconv.FormatFloat(x, 'g', -1, 64), Why: why})
		return x * f, nil
	}
	if err := scale("duration", doc, "duration"); err != nil {
		return "", nil, err
	}
	if err := compressFaults(doc, f, why, &opts); err != nil {
		return "", nil, fmt.Errorf("%s: %w", path, err)
	}
	orig, err := flinksim.LoadScenario(path)
	if err != nil {
		return "", nil, err
	}
	load, _ := doc["load"].(map[string]any)
	if err := compressLoad("load", load, &orig.Load, f, scale, multiply); err != nil {
		return "", nil, fmt.Errorf("%s: %w", path, err)
	}
	out, err := yaml.Marshal(doc)
	if err != nil {
		return "", nil, err
	}
	dst := filepath.Join(dir, "fast-"+filepath.Base(path))
	if err := os.WriteFile(dst, out, 0o644); err != nil {
		return "", nil, err
	}
	return dst, opts, nil
}

// compressFaults moves the scenario's lost TaskManagers with its timeline:
// each of cluster.faults.lostTaskManagerAt divided by f and
// lostTaskManagerPerHour multiplied by f, so a compressed run loses the
// TaskManagers at the same points of its load (left alone, a fault at 20m
// of a 1h30m scenario would fall after the compressed run's end).
func compressFaults(doc map[string]any, f float64, why string, opts *[]Option) error {
	cluster, _ := doc["cluster"].(map[string]any)
	faults, _ := cluster["faults"].(map[string]any)
	if faults == nil {
		return nil
	}
	if at, ok := faults["lostTaskManagerAt"].([]any); ok {
		for i, v := range at {
			s, isString := v.(string)
			d, err := time.ParseDuration(s)
			if !isString || err != nil {
				return fmt.Errorf("cluster.faults.lostTaskManagerAt[%d] %v is not a duration", i, v)
			}
			nd := time.Duration(float64(d) / f).Round(time.Second)
			at[i] = nd.String()
			*opts = append(*opts, Option{Policy: PolicyBoth, Key: fmt.Sprintf("scenario cluster.faults.lostTaskManagerAt[%d]", i), Value: nd.String(), Default: d.String(), Why: why})
		}
	}
	if v, ok := faults["lostTaskManagerPerHour"]; ok {
		r, ok := number(v)
		if !ok {
			return fmt.Errorf("cluster.faults.lostTaskManagerPerHour %v is not a number", v)
		}
		faults["lostTaskManagerPerHour"] = r * f
		*opts = append(*opts, Option{Policy: PolicyBoth, Key: "scenario cluster.faults.lostTaskManagerPerHour", Value: strconv.FormatFloat(r*f, 'g', -1, 64), Default: strconv.FormatFloat(r, 'g', -1, 64), Why: why})
	}
	return nil
}

// compressLoad divides the timeline of the load block m (at where; l is
// the same block as loaded, with its defaults) by f: step times, periods,
// a spike's length, bursts' length and the correlated noise's correlation
// time shrink by f; spikes and bursts start f times as often, so a fast
// run has the scenario's spikes and bursts at the same points of its
// compressed timeline. A spike can start only at a whole minute, so a
// compressed run's spikes start on a grid f times coarser in scenario
// time. Random walks (a step per minute) and traces are refused.
func compressLoad(where string, m map[string]any, l *flinksim.Load, f float64,
	scale func(string, map[string]any, string) error, multiply func(string, map[string]any, string) (float64, error)) error {
	switch l.Pattern {
	case flinksim.PatternConstant:
	case flinksim.PatternStep:
		steps, _ := m["steps"].([]any)
		for i, s := range steps {
			if sm, ok := s.(map[string]any); ok {
				if err := scale(fmt.Sprintf("%s.steps[%d].at", where, i), sm, "at"); err != nil {
					return err
				}
			}
		}
	case flinksim.PatternSine, flinksim.PatternCosine:
		if err := scale(where+".period", m, "period"); err != nil {
			return err
		}
	case flinksim.PatternSpikes:
		base, _ := m["base"].(map[string]any)
		if err := compressLoad(where+".base", base, l.Base, f, scale, multiply); err != nil {
			return err
		}
		if err := scale(where+".spikeDuration", m, "spikeDuration"); err != nil {
			return err
		}
		if p, err := multiply(where+".probabilityPerMinute", m, "probabilityPerMinute"); err != nil {
			return err
		} else if p > 1 {
			return fmt.Errorf("--timing fast: %s.probabilityPerMinute × %g is %g, above 1: use --timing default, with --duration to shorten it", where, f, p)
		}
	default:
		return fmt.Errorf("--timing fast compresses constant, step, sine, cosine and spikes loads; this one has a %q load (a random walk's per-minute steps or a trace file would change meaning): use --timing default, with --duration to shorten it", l.Pattern)
	}
	if b, ok := m["bursts"].(map[string]any); ok {
		if err := scale(where+".bursts.duration", b, "duration"); err != nil {
			return err
		}
		if _, err := multiply(where+".bursts.perHour", b, "perHour"); err != nil {
			return err
		}
	}
	if l.CorrelatedNoise > 0 {
		if _, ok := m["noiseCorrelation"]; !ok {
			m["noiseCorrelation"] = l.NoiseCorrelation.String() // the default, made explicit to compress it
		}
		if err := scale(where+".noiseCorrelation", m, "noiseCorrelation"); err != nil {
			return err
		}
	}
	return nil
}

// number is a YAML scalar as a float64.
func number(v any) (float64, bool) {
	switch x := v.(type) {
	case int:
		return float64(x), true
	case float64:
		return x, true
	}
	return 0, false
}
