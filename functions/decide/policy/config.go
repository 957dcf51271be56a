package policy

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"math"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/flinkscaler/flinkscaler/internal/events"
)

// ErrConfig wraps every configuration problem that Load, Merge and Validate
// report.
var ErrConfig = errors.New("invalid policy configuration")

// Config is the policy of one job: Defaults, then a YAML policy file, then the
// job's overrides from the policy KV bucket (Merge), then Validate.
type Config struct {
	// Mode is reactive, adaptive, session or keda (docs/scaling-modes.md).
	Mode string `yaml:"mode" json:"mode"`
	// DryRun marks decisions so actuate records but does not apply them.
	DryRun bool `yaml:"dryRun" json:"dryRun"`
	// Paused stops decisions for the job; snapshots still feed the window.
	Paused bool `yaml:"paused" json:"paused"`
	// Workload names the TaskManager workload ([KIND/]NAMESPACE/NAME).
	Workload string      `yaml:"workload" json:"workload"`
	Slots    SlotsConfig `yaml:"slots" json:"slots"`
	// MaxTaskManagers caps the TaskManagers a decision asks for, standby
	// included; 0 means no cap.
	MaxTaskManagers int               `yaml:"maxTaskManagers" json:"maxTaskManagers"`
	Parallelism     Bounds            `yaml:"parallelism" json:"parallelism"`
	Vertices        map[string]Bounds `yaml:"vertices" json:"vertices"` // by vertex name or id
	// MaxStepFactor bounds one rescale to [current/f, current·f]; 0 = no cap.
	MaxStepFactor float64           `yaml:"maxStepFactor" json:"maxStepFactor"`
	Utilization   UtilizationConfig `yaml:"utilization" json:"utilization"`
	// CatchUp is the time in which a backlog is to be worked off.
	CatchUp time.Duration `yaml:"catchUp" json:"catchUp"`
	// Backlog is the lag (pending records ÷ input rate) above which the job
	// counts as working off a backlog: no scale-down then.
	Backlog time.Duration `yaml:"backlog" json:"backlog"`
	// Settle is how long the job must have run since its last (re)start
	// before its metrics are used. The flinkscaler policy waits at least
	// MeterSettle whatever it says (Flink's rates ramp for a minute after
	// a restart); flinkscaler-v1 reads it as set.
	Settle time.Duration `yaml:"settle" json:"settle"`
	// RateWindow is the span of settled samples averaged into the current
	// rates.
	RateWindow time.Duration `yaml:"rateWindow" json:"rateWindow"`
	// MetricWindow is the history kept for volatility; MaxSamples bounds it.
	MetricWindow time.Duration `yaml:"metricWindow" json:"metricWindow"`
	MaxSamples   int           `yaml:"maxSamples" json:"maxSamples"`
	// ScaleUpDelay is how long a scale-up signal must persist.
	ScaleUpDelay time.Duration `yaml:"scaleUpDelay" json:"scaleUpDelay"`
	// ScaleDownWindow: a scale-down waits this long and goes to the highest
	// recommendation inside the window.
	ScaleDownWindow time.Duration `yaml:"scaleDownWindow" json:"scaleDownWindow"`
	// RestartDowntime estimates the job's downtime per rescale until one has
	// been observed.
	RestartDowntime time.Duration `yaml:"restartDowntime" json:"restartDowntime"`
	// Replay is the input a restart replays from the last checkpoint, as
	// seconds of offered load (about half the checkpoint interval).
	Replay time.Duration `yaml:"replay" json:"replay"`
	// RescaleTimeout bounds the wait for a decision to show in snapshots.
	RescaleTimeout time.Duration `yaml:"rescaleTimeout" json:"rescaleTimeout"`
	// MinInterval is the cool-down: no decision sooner than this after the
	// job's current run began or after the last decision. Keep it above
	// actuate's --min-interval (its safety net against a runaway decider),
	// so actuate never skips a decision for its rate limit; 0 disables it.
	MinInterval time.Duration    `yaml:"minInterval" json:"minInterval"`
	Efficiency  EfficiencyConfig `yaml:"efficiency" json:"efficiency"`
	SLO         SLOConfig        `yaml:"slo" json:"slo"`
	// Disturbances is the budget of unplanned restarts per hour (failovers,
	// lost TaskManagers) the job must absorb: each is priced like a rescale's
	// restart when candidates are compared, so it buys headroom.
	Disturbances float64 `yaml:"disturbances" json:"disturbances"`
	// Forecast is the period of the load's shape that the policy learns and
	// scales ahead of; 0 turns forecasting off.
	Forecast time.Duration `yaml:"forecast" json:"forecast"`
}

// SlotsConfig is how subtasks map onto TaskManagers.
type SlotsConfig struct {
	// PerTaskManager is the slots one TaskManager offers. 0 (the default)
	// takes it from the cluster: the snapshot's slotsPerTaskManager (what
	// the registered TaskManagers report), else slotsTotal ÷ taskManagers,
	// else 1.
	PerTaskManager int    `yaml:"perTaskManager" json:"perTaskManager"`
	Sharing        string `yaml:"sharing" json:"sharing"` // shared | dedicated
	Standby        int    `yaml:"standby" json:"standby"`
	// Groups declares vertices' slot-sharing groups by vertex name or id, for
	// Flink versions whose REST API does not report them (1.18, 1.19).
	Groups map[string]string `yaml:"groups" json:"groups"`
}

// Bounds are inclusive parallelism limits; 0 means unbounded on that side.
type Bounds struct {
	Min int `yaml:"min" json:"min"`
	Max int `yaml:"max" json:"max"`
}

// UtilizationConfig sets the busy-time target. The target for a steady load
// is Max; load volatility (coefficient of variation of the offered rate over
// the metric window, times VolatilityFactor) lowers it towards Min. A vertex
// scales down only below target − Band, and up only when it cannot keep up
// (utilization with catch-up above 100 %).
type UtilizationConfig struct {
	Max              float64 `yaml:"max" json:"max"`
	Min              float64 `yaml:"min" json:"min"`
	Band             float64 `yaml:"band" json:"band"`
	VolatilityFactor float64 `yaml:"volatilityFactor" json:"volatilityFactor"`
}

// EfficiencyConfig bounds the learned scaling exponent a (capacity ∝ p^a).
type EfficiencyConfig struct {
	// Prior is the exponent assumed before a vertex's own rescale was seen.
	Prior float64 `yaml:"prior" json:"prior"`
	Min   float64 `yaml:"min" json:"min"`
	Max   float64 `yaml:"max" json:"max"`
}

// SLOConfig is the job's service level.
type SLOConfig struct {
	MaxLag time.Duration `yaml:"maxLag" json:"maxLag"`
	// Weight is what one second with the lag above MaxLag costs, in
	// slot-seconds per slot the job runs: the exchange rate between the
	// SLO and the bill when candidates are compared.
	Weight float64 `yaml:"weight" json:"weight"`
	// Recovery is how soon after a restart a decision makes the lag is to
	// be back under a tenth of MaxLag: a change whose restart's backlog
	// (outage, replay, the lag already built) its spare capacity does not
	// drain that soon, with the load's rise, is not chosen while another
	// does. 0 prices recovery only through the lag.
	Recovery time.Duration `yaml:"recovery" json:"recovery"`
}

// Defaults returns a configuration that works for most jobs.
func Defaults() Config {
	return Config{
		Mode:            events.ModeAdaptive,
		Slots:           SlotsConfig{Sharing: events.SlotSharingShared},
		MaxStepFactor:   32,
		Utilization:     UtilizationConfig{Max: 1.0, Min: 0.6, Band: 0.1, VolatilityFactor: 3},
		CatchUp:         10 * time.Minute,
		Backlog:         30 * time.Second,
		Settle:          30 * time.Second,
		RateWindow:      time.Minute,
		MetricWindow:    10 * time.Minute,
		MaxSamples:      120,
		ScaleUpDelay:    10 * time.Second,
		ScaleDownWindow: 5 * time.Minute,
		RestartDowntime: 30 * time.Second,
		Replay:          30 * time.Second,
		RescaleTimeout:  5 * time.Minute,
		MinInterval:     time.Minute,
		Efficiency:      EfficiencyConfig{Prior: 0.9, Min: 0.3, Max: 1.0},
		SLO:             SLOConfig{MaxLag: time.Minute, Weight: 20, Recovery: 3 * time.Minute},
		Disturbances:    0.2,
		Forecast:        24 * time.Hour,
	}
}

// Load decodes a YAML policy file over base. Unknown fields are errors. It
// does not validate.
func Load(r io.Reader, base Config) (Config, error) {
	cfg := base
	dec := yaml.NewDecoder(r)
	dec.KnownFields(true)
	if err := dec.Decode(&cfg); err != nil && !errors.Is(err, io.EOF) {
		return Config{}, fmt.Errorf("%w: %w", ErrConfig, err)
	}
	return cfg, nil
}

// Merge decodes a job's overrides (YAML or JSON, as stored in the policy KV
// bucket) over cfg: only the fields present change. Vertex bounds merge by
// key.
func Merge(cfg Config, overrides []byte) (Config, error) {
	if len(bytes.TrimSpace(overrides)) == 0 {
		return cfg, nil
	}
	vertices := make(map[string]Bounds, len(cfg.Vertices))
	for k, v := range cfg.Vertices {
		vertices[k] = v
	}
	cfg.Vertices = vertices
	if cfg.Slots.Groups != nil {
		groups := make(map[string]string, len(cfg.Slots.Groups))
		for k, v := range cfg.Slots.Groups {
			groups[k] = v
		}
		cfg.Slots.Groups = groups
	}
	return Load(bytes.NewReader(overrides), cfg)
}

// Validate reports every problem with its field path and changes nothing.
func (c Config) Validate() error {
	var p problems
	switch c.Mode {
	case events.ModeReactive, events.ModeAdaptive, events.ModeSession, events.ModeKEDA:
	default:
		p.add("mode", "%q is not reactive, adaptive, session or keda", c.Mode)
	}
	p.nonNegativeInt("slots.perTaskManager", c.Slots.PerTaskManager)
	if c.Slots.Sharing != events.SlotSharingShared && c.Slots.Sharing != events.SlotSharingDedicated {
		p.add("slots.sharing", "%q is not shared or dedicated", c.Slots.Sharing)
	}
	p.nonNegativeInt("slots.standby", c.Slots.Standby)
	p.nonNegativeInt("maxTaskManagers", c.MaxTaskManagers)
	if c.MaxTaskManagers > 0 && c.MaxTaskManagers <= c.Slots.Standby {
		p.add("maxTaskManagers", "%d leaves no TaskManager beside %d standby", c.MaxTaskManagers, c.Slots.Standby)
	}
	p.bounds("parallelism", c.Parallelism)
	for k, b := range c.Vertices {
		p.bounds("vertices["+k+"]", b)
	}
	if c.MaxStepFactor != 0 && !(c.MaxStepFactor > 1 && c.MaxStepFactor <= 1e6) {
		p.add("maxStepFactor", "%v: use 0 (no cap) or a factor in (1, 1e6]", c.MaxStepFactor)
	}
	c.Utilization.validate(&p)
	c.Efficiency.validate(&p)
	p.positiveDuration("catchUp", c.CatchUp)
	p.nonNegativeDuration("backlog", c.Backlog)
	p.nonNegativeDuration("settle", c.Settle)
	p.positiveDuration("rateWindow", c.RateWindow)
	p.positiveDuration("metricWindow", c.MetricWindow)
	if c.RateWindow > c.MetricWindow {
		p.add("rateWindow", "%v is longer than metricWindow %v", c.RateWindow, c.MetricWindow)
	}
	if c.MaxSamples < 2 || c.MaxSamples > 10000 {
		p.add("maxSamples", "%d: use 2 to 10000", c.MaxSamples)
	}
	p.nonNegativeDuration("scaleUpDelay", c.ScaleUpDelay)
	p.nonNegativeDuration("scaleDownWindow", c.ScaleDownWindow)
	p.nonNegativeDuration("restartDowntime", c.RestartDowntime)
	p.nonNegativeDuration("replay", c.Replay)
	p.positiveDuration("rescaleTimeout", c.RescaleTimeout)
	p.nonNegativeDuration("minInterval", c.MinInterval)
	p.positiveDuration("slo.maxLag", c.SLO.MaxLag)
	if !(c.SLO.Weight >= 0 && c.SLO.Weight <= 1e6) {
		p.add("slo.weight", "%v: use [0, 1e6]", c.SLO.Weight)
	}
	p.nonNegativeDuration("slo.recovery", c.SLO.Recovery)
	if !(c.Disturbances >= 0 && c.Disturbances <= 60) {
		p.add("disturbances", "%v: use [0, 60] per hour", c.Disturbances)
	}
	if c.Forecast != 0 && (c.Forecast < time.Hour || c.Forecast > 7*24*time.Hour) {
		p.add("forecast", "%v: use 0 (off) or 1h to 168h", c.Forecast)
	}
	for k, g := range c.Slots.Groups {
		if g == "" {
			p.add("slots.groups["+k+"]", "empty group name")
		}
	}
	return p.err()
}

func (u UtilizationConfig) validate(p *problems) {
	p.fraction("utilization.max", u.Max)
	p.fraction("utilization.min", u.Min)
	if u.Min > u.Max {
		p.add("utilization.min", "%v is above utilization.max %v", u.Min, u.Max)
	}
	if !(u.Band >= 0 && u.Band < 1) {
		p.add("utilization.band", "%v: use [0, 1)", u.Band)
	}
	if !(u.VolatilityFactor >= 0 && u.VolatilityFactor <= 100) {
		p.add("utilization.volatilityFactor", "%v: use [0, 100]", u.VolatilityFactor)
	}
}

func (e EfficiencyConfig) validate(p *problems) {
	for _, f := range []struct {
		path string
		v    float64
	}{{"efficiency.prior", e.Prior}, {"efficiency.min", e.Min}, {"efficiency.max", e.Max}} {
		if !(f.v > 0 && f.v <= 2) {
			p.add(f.path, "%v: use (0, 2]", f.v)
		}
	}
	if e.Min > e.Max {
		p.add("efficiency.min", "%v is above efficiency.max %v", e.Min, e.Max)
	}
	if e.Prior < e.Min || e.Prior > e.Max {
		p.add("efficiency.prior", "%v is outside [efficiency.min, efficiency.max]", e.Prior)
	}
}

// problems collects configuration errors with their field paths.
type problems []string

func (p *problems) add(path, format string, args ...any) {
	*p = append(*p, path+": "+fmt.Sprintf(format, args...))
}

func (p *problems) err() error {
	if len(*p) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s", ErrConfig, strings.Join(*p, "; "))
}

func (p *problems) nonNegativeInt(path string, v int) {
	if v < 0 {
		p.add(path, "%d: must not be negative", v)
	}
}

func (p *problems) positiveDuration(path string, d time.Duration) {
	if d <= 0 {
		p.add(path, "%v: must be positive", d)
	}
}

func (p *problems) nonNegativeDuration(path string, d time.Duration) {
	if d < 0 {
		p.add(path, "%v: must not be negative", d)
	}
}

func (p *problems) fraction(path string, v float64) {
	if math.IsNaN(v) || v <= 0 || v > 1 {
		p.add(path, "%v: use (0, 1]", v)
	}
}

func (p *problems) bounds(path string, b Bounds) {
	p.nonNegativeInt(path+".min", b.Min)
	p.nonNegativeInt(path+".max", b.Max)
	if b.Max > 0 && b.Min > b.Max {
		p.add(path+".min", "%d is above %s.max %d", b.Min, path, b.Max)
	}
}
