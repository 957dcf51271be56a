package bench

import (
	"fmt"
	"strings"

	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
)

// OracleName is the oracle's name; it is accounted, not run (see Run).
const OracleName = "oracle"

// Policies are the policies the benchmark compares, in report order: ours
// first, the oracle last.
var Policies = []string{policy.Name, policy.NameV1, "ds2", "flink-operator", "threshold", "keda-lag", OracleName}

// newPolicy returns the policy called name, configured as docs/BENCHMARK.md
// describes (each baseline with its reference defaults).
func newPolicy(name string) (policy.Policy, error) {
	switch name {
	case policy.Name:
		return policy.Ours{}, nil
	case policy.NameV1:
		return policy.V1{}, nil
	case "ds2":
		return policy.NewDS2(), nil
	case "flink-operator":
		return policy.NewFlinkOperator(), nil
	case "threshold":
		return policy.NewThreshold(), nil
	case "keda-lag":
		return policy.NewKEDALag(), nil
	case OracleName:
		return policy.Oracle{}, nil
	}
	return nil, fmt.Errorf("%w: unknown policy %q (known: %s)", ErrUsage, name, strings.Join(Policies, ", "))
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
		if _, err := newPolicy(name); err != nil {
			return nil, err
		}
		if !seen[name] {
			seen[name] = true
			out = append(out, name)
		}
	}
	return out, nil
}
