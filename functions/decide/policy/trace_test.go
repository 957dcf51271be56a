package policy_test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/internal/bench"
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
	fmt.Printf("summary: %+v\n", res.Summary)
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
