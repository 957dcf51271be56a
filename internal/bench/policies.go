package bench

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
)

// OracleName is the oracle's name; it is accounted, not run (see Run).
const OracleName = "oracle"

// Policies are the policies the benchmark compares, in report order: ours
// first, the oracle last.
var Policies = []string{policy.Name, policy.NameV1, "ds2", "flink-operator", "threshold", "keda-lag", OracleName}

// Setting is one policy with one value of its main knob; the zero Knob is
// the policy with its reference defaults.
type Setting struct {
	Policy string  `json:"policy"`
	Knob   string  `json:"knob,omitempty"`
	Value  float64 `json:"value,omitempty"`
}

// String names the setting in reports: the policy, and the knob's value
// when one is set ("flink-operator target=0.5").
func (s Setting) String() string {
	if s.Knob == "" {
		return s.Policy
	}
	return s.Policy + " " + s.Knob + "=" + strconv.FormatFloat(s.Value, 'f', -1, 64)
}

// knob is a baseline's main knob, its reference default and the values the
// sweep tries.
type knob struct {
	name  string
	def   float64
	sweep []float64
}

// Knobs swept by `flinkscaler bench` (docs/BENCHMARK.md "Baselines"): the
// operator's and the HPA's utilization target, DS2's over-provisioning
// factor, KEDA's lag threshold (records per TaskManager: its default 10,
// and two values four and six decades up, as the scenarios' rates run from
// hundreds to millions of records a second).
var knobs = map[string]knob{
	"ds2":            {"overprovision", 0, []float64{0, 0.1, 0.25}},
	"flink-operator": {"target", 0.7, []float64{0.5, 0.7, 0.85}},
	"threshold":      {"target", 0.7, []float64{0.5, 0.7, 0.85}},
	"keda-lag":       {"lagThreshold", 10, []float64{10, 1e4, 1e6}},
}

// Default reports whether s runs the policy at its reference default.
func (s Setting) Default() bool {
	return s.Knob == "" || knobs[s.Policy].name == s.Knob && knobs[s.Policy].def == s.Value
}

// Settings expands policies into settings: with sweep, every value of each
// baseline's main knob; without, each policy at its defaults.
func Settings(policies []string, sweep bool) []Setting {
	var out []Setting
	for _, p := range policies {
		k, ok := knobs[p]
		if !sweep || !ok || len(k.sweep) == 0 {
			out = append(out, Setting{Policy: p})
			continue
		}
		for _, v := range k.sweep {
			out = append(out, Setting{Policy: p, Knob: k.name, Value: v})
		}
	}
	return out
}

// newPolicy returns the policy of setting s for scenario sc: each baseline
// with its reference defaults, its main knob set when s names one, and the
// job's lag SLO where the baseline has a knob for it (the operator's
// catch-up duration, with its expected restart time set to the scenario's).
// Every policy also gets the same policy.Config (ConfigFor), SLO included.
func newPolicy(s Setting, sc *flinksim.Scenario) (policy.Policy, error) {
	if s.Knob != "" {
		if k, ok := knobs[s.Policy]; !ok || k.name != s.Knob {
			return nil, fmt.Errorf("%w: policy %q has no knob %q", ErrUsage, s.Policy, s.Knob)
		}
		if s.Value <= 0 && s.Knob != "overprovision" || s.Value < 0 {
			return nil, fmt.Errorf("%w: %s: value must be positive", ErrUsage, s)
		}
	}
	switch s.Policy {
	case policy.Name:
		return policy.Ours{}, nil
	case policy.NameV1:
		return policy.V1{}, nil
	case "ds2":
		p := policy.NewDS2()
		if s.Knob != "" {
			p.ScalingFactor = s.Value
		}
		return p, nil
	case "flink-operator":
		p := policy.NewFlinkOperator()
		if s.Knob != "" {
			p.Target = s.Value
		}
		if sc != nil && sc.SLO.MaxLagSeconds > 0 {
			p.CatchUp = secondsDuration(sc.SLO.MaxLagSeconds)
			p.Restart = sc.Cluster.Restart
		}
		return p, nil
	case "threshold":
		p := policy.NewThreshold()
		if s.Knob != "" {
			p.Target = s.Value
		}
		return p, nil
	case "keda-lag":
		p := policy.NewKEDALag()
		if s.Knob != "" {
			p.LagThreshold = s.Value
		}
		return p, nil
	case OracleName:
		return policy.Oracle{}, nil
	}
	return nil, fmt.Errorf("%w: unknown policy %q (known: %s)", ErrUsage, s.Policy, strings.Join(Policies, ", "))
}

// ParsePolicies parses a comma-separated list of policy names; empty means
// all of Policies.
func ParsePolicies(list string) ([]string, error) {
	if strings.TrimSpace(list) == "" {
		return Policies, nil
	}
	var out []string
	seen := map[string]bool{}
	for _, name := range strings.Split(list, ",") {
		name = strings.TrimSpace(name)
		if _, err := newPolicy(Setting{Policy: name}, nil); err != nil {
			return nil, err
		}
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	return out, nil
}
