package policy_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/bench"
	"github.com/flinkscaler/flinkscaler/internal/flinksim"
	"github.com/flinkscaler/flinkscaler/internal/scorecard"
)

// TestTraceDecisions prints one run's decisions with their rationales and
// what the job was doing at each (offered rate, lag, parallelism, the
// oracle's): how a rescale's cause is read. It runs only when
// FLINKSCALER_TRACE names a scenario file; FLINKSCALER_TRACE_SEED sets the
// seed (default: the scenario's own) and FLINKSCALER_TRACE_POLICY the
// policy (default: ours; a baseline's name, e.g. ds2, at its default
// setting, to read its decisions beside ours). A relative path is taken
// from the repository's root, where the command runs:
//
//	FLINKSCALER_TRACE=scenarios/chains-windows.yaml go test -run TestTraceDecisions -v ./functions/decide/policy/
//	FLINKSCALER_TRACE=scenarios/constant-noise.yaml FLINKSCALER_TRACE_POLICY=ds2 go test -run TestTraceDecisions -v ./functions/decide/policy/
func TestTraceDecisions(t *testing.T) {
	file := os.Getenv("FLINKSCALER_TRACE")
	if file == "" {
		t.Skip("set FLINKSCALER_TRACE=<scenario file> to trace a run's decisions")
	}
	scs, err := bench.LoadScenarios([]string{fromRoot(file)})
	require.NoError(t, err)
	sc := scs[0]
	if s, err := strconv.ParseInt(os.Getenv("FLINKSCALER_TRACE_SEED"), 10, 64); err == nil {
		sc.Seed = s
	}
	pol := "flinkscaler"
	if p := os.Getenv("FLINKSCALER_TRACE_POLICY"); p != "" {
		pol = p
	}
	res, err := bench.Run(context.Background(), sc, bench.Setting{Policy: pol}, bench.Options{})
	require.NoError(t, err)
	s := res.Series
	j := 0
	for _, m := range s.Decisions {
		for j+1 < len(s.Samples) && s.Samples[j+1].Elapsed <= m.Elapsed {
			j++
		}
		x := s.Samples[j]
		fmt.Printf("%6s offered %.0f lag %.0fs running %v oracle %v tms %d → %v\n    %s\n", m.Elapsed, x.OfferedRate, x.LagSeconds, x.Parallelism, x.OracleParallelism, x.TaskManagers, m.Targets, m.Rationale)
	}
	traceLagBack(s)
	traceSamples(s)
	fmt.Printf("summary: %+v\n", res.Summary)
}

// traceLagBack prints every restart with how long its lag took to come
// back under the lag-back bound (scorecard.RecoveredFraction of the SLO)
// and the lag and parallelism each minute until then: which restart a
// slow lag back belongs to, and what the job ran at meanwhile.
func traceLagBack(s scorecard.Series) {
	limit := scorecard.RecoveredFraction * s.MaxLagSeconds
	ss := s.Samples
	for i := 1; i < len(ss); i++ {
		if ss[i].Restarts == ss[i-1].Restarts {
			continue
		}
		at := ss[i].Elapsed
		line := fmt.Sprintf("restart %s at %v:", at, ss[i].Parallelism)
		next := at
		back := "not back by the end"
		for _, x := range ss[i:] {
			if x.State == flinksim.StateRunning && x.LagSeconds <= limit {
				back = fmt.Sprintf("back after %s", x.Elapsed-at)
				break
			}
			if x.Elapsed >= next {
				line += fmt.Sprintf(" %s lag %.0fs %v;", x.Elapsed-at, x.LagSeconds, x.Parallelism)
				next += time.Minute
			}
		}
		fmt.Printf("%s %s\n", line, back)
	}
}

// fromRoot is a path given on the command line, which runs at the
// repository's root, as seen from this package's directory (where go test
// runs the test).
func fromRoot(file string) string {
	if filepath.IsAbs(file) {
		return file
	}
	return filepath.Join("..", "..", "..", file)
}

// traceSamples prints every sample between FLINKSCALER_TRACE_FROM and
// FLINKSCALER_TRACE_TO (durations into the run), when both are set.
func traceSamples(s scorecard.Series) {
	from, err1 := time.ParseDuration(os.Getenv("FLINKSCALER_TRACE_FROM"))
	to, err2 := time.ParseDuration(os.Getenv("FLINKSCALER_TRACE_TO"))
	if err1 != nil || err2 != nil {
		return
	}
	for _, x := range s.Samples {
		if x.Elapsed >= from && x.Elapsed <= to {
			fmt.Printf("%8s %-10s offered %6.0f lag %5.1fs backlog %8.0f running %v oracle %v busy %.2f tms %d slots %d restarts %d\n", x.Elapsed, x.State, x.OfferedRate, x.LagSeconds, x.Backlog, x.Parallelism, x.OracleParallelism, x.MaxBusy, x.TaskManagers, x.Slots, x.Restarts)
		}
	}
}
