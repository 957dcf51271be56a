package bench

import (
	"fmt"
	"slices"
	"strings"

	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
)

// Invariants ours must hold on every scenario, over its seeds
// (docs/BENCHMARK.md "Targets"). They name no figure a policy could be tuned
// to: they compare ours with every baseline setting and bound what users
// feel relative to the scenario's own SLO.
const (
	TargetNotDominated = "not dominated on cost and p99 lag"
	TargetNoFailed     = "no failed or timed-out actuation"
	TargetRecovery     = "lag recovery after a restart bounded"
)

// RecoveryBoundSLOs bounds the recovery after a restart: the 95th
// percentile over seeds of a run's longest recovery must stay within this
// many SLOs (10 min for a 60 s SLO).
const RecoveryBoundSLOs = 10

// Finding is one invariant checked on one scenario.
type Finding struct {
	Scenario, Target string
	Met              bool
	Detail           string
}

// CheckTargets checks ours' rows against the baselines' in rows
// (Aggregate's output); scs give each scenario's SLO.
func CheckTargets(rows []Row, scs []*flinksim.Scenario) []Finding {
	var out []Finding
	for _, group := range scenarioRows(rows) {
		i := slices.IndexFunc(group, func(r Row) bool { return r.Setting.Policy == policy.Name })
		if i < 0 {
			continue
		}
		slo := 60.0
		if k := slices.IndexFunc(scs, func(sc *flinksim.Scenario) bool { return sc.Name == group[0].Scenario }); k >= 0 {
			slo = scs[k].SLO.MaxLagSeconds
		}
		out = append(out, checkScenario(group[i], group, slo)...)
	}
	return out
}

func checkScenario(ours Row, group []Row, slo float64) []Finding {
	f := func(target string, met bool, format string, args ...any) Finding {
		return Finding{Scenario: ours.Scenario, Target: target, Met: met, Detail: fmt.Sprintf(format, args...)}
	}
	var by []string
	for _, r := range group {
		if baseline(r.Setting.Policy) && Dominates(r, ours) {
			by = append(by, fmt.Sprintf("%s (cost %.2f× oracle, p99 lag %.1f s)", r.Name, r.Mean["costVsOracle"], r.Mean["lagP99Seconds"]))
		}
	}
	m, p := ours.Mean, ours.P95
	out := []Finding{f(TargetNotDominated, len(by) == 0, "ours: cost %.2f× oracle, p99 lag %.1f s (means over %d seeds); dominated by %s",
		m["costVsOracle"], m["lagP99Seconds"], ours.Seeds, strings.Join(by, ", "))}
	out = append(out, f(TargetNoFailed, p["failedActuations"] == 0,
		"failed actuations: mean %.1f, p95 %.0f (timed out: mean %.1f); first errors: %s",
		m["failedActuations"], p["failedActuations"], m["timedOutActuations"], strings.Join(ours.Errors, "; ")))
	bound := RecoveryBoundSLOs * slo
	out = append(out, f(TargetRecovery, p["recoveryMaxSeconds"] <= bound,
		"longest recovery per run: p95 %.0f s, mean %.0f s (bound %.0f s = %d SLOs); mean recovery %.0f s, unrecovered restarts per run %.1f",
		p["recoveryMaxSeconds"], m["recoveryMaxSeconds"], bound, RecoveryBoundSLOs, m["recoverySeconds"], m["unrecovered"]))
	return out
}

// baseline reports whether a policy is one ours is compared with: not
// ours, not its previous version, not the oracle.
func baseline(name string) bool {
	return name != policy.Name && name != policy.NameV1 && name != OracleName
}

func byScenario(results []Result) [][]Result {
	return runs(results, func(a, b Result) bool { return a.Scenario == b.Scenario })
}
