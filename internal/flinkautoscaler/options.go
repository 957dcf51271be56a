package flinkautoscaler

import (
	"fmt"
	"time"
)

// Option is one autoscaler option a run sets, with its shipped default.
type Option struct {
	Key     string `json:"key"`
	Value   string `json:"value"`
	Default string `json:"default"`
	Why     string `json:"why"`
}

// Enabled turns the autoscaler on: job.autoscaler.enabled ships false, so
// a run with every other option at its default still sets it.
var Enabled = Option{Key: "job.autoscaler.enabled", Value: "true", Default: "false", Why: "the autoscaler ships disabled"}

// timeOption is an option holding a duration, with its shipped default
// (AutoScalerOptions, AutoscalerStandaloneOptions).
type timeOption struct {
	key string
	def time.Duration
}

// TimeOptions are the autoscaler's options that pace it along the job's
// timeline (windows, waits, the catch-up horizon), each with its default in
// the releases this package runs (1.10+), and its restart estimate, which
// it weighs against the catch-up horizon (a scale-up adds target rate ×
// restart.time ÷ catch-up.duration): dividing the horizon alone would
// change its sizing. Compressing a run's timeline divides each of them.
// Left alone: lag thresholds (seconds of input, not of the timeline) and
// the control-loop interval (bounded below by Flink's 10 s metric fetch
// interval, which does not shrink).
var TimeOptions = []timeOption{
	{"job.autoscaler.metrics.window", 15 * time.Minute},
	{"job.autoscaler.stabilization.interval", 5 * time.Minute},
	{"job.autoscaler.scale-down.interval", time.Hour},
	{"job.autoscaler.catch-up.duration", 30 * time.Minute},
	{"job.autoscaler.restart.time", 5 * time.Minute},
}

// Scaled returns the options of a run whose timeline is divided by factor
// (1 = the shipped defaults): Enabled, and every TimeOptions entry divided
// by factor (rounded to the millisecond) when factor > 1.
func Scaled(factor float64) []Option {
	out := []Option{Enabled}
	if factor <= 1 {
		return out
	}
	for _, o := range TimeOptions {
		d := time.Duration(float64(o.def) / factor).Round(time.Millisecond)
		out = append(out, Option{
			Key: o.key, Value: fmt.Sprintf("%dms", d.Milliseconds()), Default: o.def.String(),
			Why: fmt.Sprintf("timeline compressed %g×", factor),
		})
	}
	return out
}

// Map is opts as Config.Options.
func Map(opts []Option) map[string]string {
	m := make(map[string]string, len(opts))
	for _, o := range opts {
		m[o.Key] = o.Value
	}
	return m
}
