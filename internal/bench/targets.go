package bench

import (
	"fmt"
	"slices"
	"strings"

	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/internal/scorecard"
)

// The targets ours must meet on every scenario, over its seeds
// (docs/BENCHMARK.md "Targets" says how each is aggregated). None names a
// figure of a scenario: they compare ours with every baseline setting and
// bound what users feel relative to the scenario's own SLO, the oracle's
// cost and the load's own changes.
const (
	// TargetNotDominated: no baseline at any setting of its knob has a
	// mean cost ≤ ours and a mean p99 lag ≤ ours, better on one.
	TargetNotDominated = "not dominated on cost and p99 lag"
	// TargetSteadyLag: the mean over seeds of the steady-state p99 lag is
	// at most SteadyLagShare of the SLO.
	TargetSteadyLag = "steady-state p99 lag ≤ half the SLO"
	// TargetLagBack: after every restart, rescale or failover, of every
	// seed, the lag is back under scorecard.RecoveredFraction of the SLO
	// within scorecard.RecoveryTarget.
	TargetLagBack = "lag under 10 % of the SLO within 3 min of every restart"
	// TargetRescales: the mean over seeds of rescales per load change is at
	// most MaxRescalesPerLoadChange.
	TargetRescales = "≤ 1 rescale per load change on average"
	// TargetNoOscillation: no seed has a decided flap, a move a decision
	// made undone by a decision within scorecard.OscillationWindow with no
	// load change in between (every flap, Flink's own moves included, and
	// the moves undone whatever the load did, scorecard's oscillations, are
	// reported beside it).
	TargetNoOscillation = "no oscillation"
	// TargetCost: the mean over seeds of the cost against the oracle that
	// keeps scorecard.HeadroomOracle spare is at most MaxCostVsOracle15.
	TargetCost = "cost ≤ 1.25 × the 15 %-headroom oracle"
	// TargetNoFailed: no seed has a failed or timed-out actuation.
	TargetNoFailed = "no failed or timed-out actuation"
	// TargetRecovery: the 95th percentile over seeds of a run's longest
	// recovery (cut at the next restart) is at most RecoveryBoundSLOs SLOs.
	TargetRecovery = "lag recovery after a restart bounded"
	// TargetAhead replaces TargetNotDominated where ours ran once beside
	// one peer autoscaler on the same scenario and seed (`flinkscaler
	// compare`): ours is ahead on p99 lag at equal or lower cost, or equal
	// on lag at lower cost — no worse on either, better on one
	// (Dominates).
	TargetAhead = "ahead of the peer on p99 lag at equal or lower cost"
)

// Targets lists the targets in the order reports show them.
var Targets = []string{
	TargetNotDominated, TargetSteadyLag, TargetLagBack, TargetRescales,
	TargetNoOscillation, TargetCost, TargetNoFailed, TargetRecovery,
}

// Bounds of the targets.
const (
	// SteadyLagShare of the SLO bounds the steady-state p99 lag.
	SteadyLagShare = 0.5
	// MaxRescalesPerLoadChange bounds the mean rescales per load change.
	MaxRescalesPerLoadChange = 1.0
	// MaxCostVsOracle15 bounds the mean cost against the 15 %-headroom
	// oracle.
	MaxCostVsOracle15 = 1.25
	// RecoveryBoundSLOs bounds the recovery after a restart: the 95th
	// percentile over seeds of a run's longest recovery must stay within
	// this many SLOs (10 min for a 60 s SLO).
	RecoveryBoundSLOs = 10
)

// Finding is one target checked on one scenario: whether it is met, the
// figure it was checked on (Figure, short, for the targets table) and
// the figures behind it (Detail). NotApplicable marks a target the runs
// give nothing to check on (a steady-state target when no seed's run was
// ever steady, "not dominated" when no baseline ran); it counts as met.
type Finding struct {
	Scenario      string `json:"scenario"`
	Target        string `json:"target"`
	Met           bool   `json:"met"`
	NotApplicable bool   `json:"notApplicable,omitempty"`
	Figure        string `json:"figure"`
	Detail        string `json:"detail"`
}

// Mark is how tables show a finding: "ok" (met), "MISS" (not met) or
// "n/a" (nothing to check on).
func (f Finding) Mark() string {
	switch {
	case f.NotApplicable:
		return "n/a"
	case f.Met:
		return "ok"
	}
	return "MISS"
}

// CheckTargets checks ours' rows against the targets and the baselines'
// rows (Aggregate's output), in Targets order per scenario. A scenario
// ours did not run on has no findings.
func CheckTargets(rows []Row) []Finding {
	var out []Finding
	for _, group := range scenarioRows(rows) {
		if i := slices.IndexFunc(group, func(r Row) bool { return r.Setting.Policy == policy.Name }); i >= 0 {
			out = append(out, checkScenario(group[i], group)...)
		}
	}
	return out
}

// CheckRun checks one run of ours (a seed: its figures are the mean and
// the p95) against the targets, with the run of a peer autoscaler on the
// same scenario and seed in place of the baselines' sweep: the first
// finding is TargetAhead instead of TargetNotDominated. A nil peer (it did
// not run to the end) makes that finding not applicable. `flinkscaler
// compare` checks its runs with it.
func CheckRun(ours Result, peer *Result) []Finding {
	row := aggregate([]Result{ours})
	f := Finding{Scenario: row.Scenario, Target: TargetAhead}
	m := row.Mean
	if peer == nil {
		f.Met, f.NotApplicable, f.Figure = true, true, "peer did not run"
		f.Detail = fmt.Sprintf("ours: cost %.2f× oracle, p99 lag %.1f s; the peer did not run to the end", m["costVsOracle"], m["lagP99Seconds"])
	} else {
		pr := aggregate([]Result{*peer})
		pm := pr.Mean
		f.Met = Dominates(row, pr)
		f.Figure = fmt.Sprintf("%.2f× vs %.2f×, %.0f s vs %.0f s", m["costVsOracle"], pm["costVsOracle"], m["lagP99Seconds"], pm["lagP99Seconds"])
		f.Detail = fmt.Sprintf("ours: cost %.2f× oracle, p99 lag %.1f s; %s: cost %.2f× oracle, p99 lag %.1f s; ours %s",
			m["costVsOracle"], m["lagP99Seconds"], pr.Name, pm["costVsOracle"], pm["lagP99Seconds"], versus(row, pr))
	}
	return append([]Finding{f}, checkRow(row)...)
}

// versus says how ours' row stands against another on mean cost and p99
// lag.
func versus(ours, other Row) string {
	switch {
	case Dominates(ours, other):
		return "is ahead (no worse on either, better on one)"
	case Dominates(other, ours):
		return "is behind (worse on one, no better on either)"
	case ours.Mean["costVsOracle"] == other.Mean["costVsOracle"] && ours.Mean["lagP99Seconds"] == other.Mean["lagP99Seconds"]:
		return "ties"
	}
	return "trades: better on one, worse on the other"
}

func checkScenario(ours Row, group []Row) []Finding {
	return append([]Finding{notDominated(ours, group)}, checkRow(ours)...)
}

// notDominated checks TargetNotDominated against group's baseline rows.
func notDominated(ours Row, group []Row) Finding {
	m := ours.Mean
	var by []string
	baselines := 0
	for _, r := range group {
		if !baseline(r.Setting.Policy) {
			continue
		}
		baselines++
		if Dominates(r, ours) {
			by = append(by, fmt.Sprintf("%s (cost %.2f× oracle, p99 lag %.1f s)", r.Name, r.Mean["costVsOracle"], r.Mean["lagP99Seconds"]))
		}
	}
	dominated := "none"
	if len(by) > 0 {
		dominated = strings.Join(by, ", ")
	}
	if baselines == 0 {
		return Finding{Scenario: ours.Scenario, Target: TargetNotDominated, Met: true, NotApplicable: true, Figure: "no baseline ran",
			Detail: fmt.Sprintf("ours: cost %.2f× oracle, p99 lag %.1f s (means over %d seeds); no baseline ran to compare with",
				m["costVsOracle"], m["lagP99Seconds"], ours.Seeds)}
	}
	return Finding{Scenario: ours.Scenario, Target: TargetNotDominated, Met: len(by) == 0,
		Figure: fmt.Sprintf("%.2f×, %.0f s; by %d of %d", m["costVsOracle"], m["lagP99Seconds"], len(by), baselines),
		Detail: fmt.Sprintf("ours: cost %.2f× oracle, p99 lag %.1f s (means over %d seeds); of %d baseline settings, dominated by %s",
			m["costVsOracle"], m["lagP99Seconds"], ours.Seeds, baselines, dominated)}
}

// checkRow checks the targets that bound ours' own figures (every target
// after the first of Targets).
func checkRow(ours Row) []Finding {
	m, p, slo := ours.Mean, ours.P95, ours.SLOSeconds
	var out []Finding
	add := func(target string, met bool, figure, format string, args ...any) {
		out = append(out, Finding{Scenario: ours.Scenario, Target: target, Met: met, Figure: figure,
			Detail: fmt.Sprintf(format, args...)})
	}

	bound := SteadyLagShare * slo
	if steady := m["steadyRun"]; steady == 0 {
		add(TargetSteadyLag, true, "no steady part",
			"no seed's run had a steady part (5 min after a load change or restart, 1 min before the next load change); run's p99 lag %.1f s",
			m["lagP99Seconds"])
		out[len(out)-1].NotApplicable = true
	} else {
		// Runs without a steady part add 0 to the mean: average over the
		// others.
		lag := m["steadyLagP99Seconds"] / steady
		add(TargetSteadyLag, lag <= bound, fmt.Sprintf("%.1f / %.0f s", lag, bound),
			"steady-state p99 lag: mean %.1f s over the %.0f %% of seeds with a steady part, p95 %.1f s (bound %.1f s = %.0f %% of the %.0f s SLO); steady part %.0f s of a run on average; run's p99 lag %.1f s",
			lag, 100*steady, p["steadyLagP99Seconds"], bound, 100*SteadyLagShare, slo, m["steadySeconds"], m["lagP99Seconds"])
	}

	add(TargetLagBack, p["slowRecoveries"] == 0, fmt.Sprintf("%.0f s; %.1f slow", p["lagBackMaxSeconds"], m["slowRecoveries"]),
		"longest time from a restart to lag under %.1f s (%.0f %% of the SLO) per run: p95 %.0f s, mean %.0f s over seeds (bound %.0f s); restarts slower than that: %.1f per run (p95 %.0f) of %.1f restarts",
		scorecard.RecoveredFraction*slo, 100*scorecard.RecoveredFraction, p["lagBackMaxSeconds"], m["lagBackMaxSeconds"],
		scorecard.RecoveryTarget.Seconds(), m["slowRecoveries"], p["slowRecoveries"], m["rescales"])

	add(TargetRescales, m["rescalesPerLoadChange"] <= MaxRescalesPerLoadChange, fmt.Sprintf("%.2f", m["rescalesPerLoadChange"]),
		"rescales (parallelism changes) per load change: mean %.2f, p95 %.2f over seeds (bound %.0f); %.1f rescales for %.1f load changes per run; %.1f restarts in all (failovers included)",
		m["rescalesPerLoadChange"], p["rescalesPerLoadChange"], MaxRescalesPerLoadChange, m["parallelismChanges"], m["loadChanges"], m["rescales"])

	add(TargetNoOscillation, p["decidedFlaps"] == 0, fmt.Sprintf("%.1f (%.1f; %.1f)", m["decidedFlaps"], m["flaps"], m["oscillations"]),
		"moves a decision made undone by a decision within %.0f min with no load change in between (decided flaps): mean %.1f, p95 %.0f per run over seeds; "+
			"every flap, Flink's own moves included (a failed-over job run on the slots left and back): mean %.1f, p95 %.0f; "+
			"every move undone whatever the load did (oscillations): mean %.1f, p95 %.0f (decided %.1f)",
		scorecard.OscillationWindow.Minutes(), m["decidedFlaps"], p["decidedFlaps"], m["flaps"], p["flaps"],
		m["oscillations"], p["oscillations"], m["decidedOscillations"])

	add(TargetCost, m["costVsOracle15"] <= MaxCostVsOracle15, fmt.Sprintf("%.3f×", m["costVsOracle15"]),
		"cost against the %.0f %%-headroom oracle: mean %.3f×, p95 %.3f× over seeds (bound %.2f×)",
		100*scorecard.HeadroomOracle, m["costVsOracle15"], p["costVsOracle15"], MaxCostVsOracle15)

	add(TargetNoFailed, p["failedActuations"] == 0, fmt.Sprintf("%.1f", m["failedActuations"]),
		"failed actuations: mean %.1f, p95 %.0f (timed out: mean %.1f); first errors: %s",
		m["failedActuations"], p["failedActuations"], m["timedOutActuations"], strings.Join(ours.Errors, "; "))

	bound = RecoveryBoundSLOs * slo
	add(TargetRecovery, p["recoveryMaxSeconds"] <= bound, fmt.Sprintf("%.0f / %.0f s", p["recoveryMaxSeconds"], bound),
		"longest recovery per run: p95 %.0f s, mean %.0f s (bound %.0f s = %d SLOs); mean recovery %.0f s, unrecovered restarts per run %.1f",
		p["recoveryMaxSeconds"], m["recoveryMaxSeconds"], bound, RecoveryBoundSLOs, m["recoverySeconds"], m["unrecovered"])
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
