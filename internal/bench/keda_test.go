package bench_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/flinkscaler/flinkscaler/functions/decide/policy"
	"github.com/flinkscaler/flinkscaler/internal/bench"
)

// TestKEDAScaleDownsFold: with KEDA owning the TaskManagers (an emulated
// HPA applying actuate's declared count every 15 s), a scale-down serves
// the lower count first and declares the requirements while the job
// restarts on the TaskManagers left. On wordcount-flatmap (spread, the
// start's drain released in two scale-downs) that saves the second restart
// of each scale-down the old order paid, and costs what actuate owning the
// TaskManagers costs. Counted as the restarts beyond one a decision: the
// runs differ in their decisions too (since session 19 the plain order's
// run makes two, its scale-down two restarts: 3 rescales, as the fold's
// three decisions; before, it raised again after that scale-down, 4).
func TestKEDAScaleDownsFold(t *testing.T) {
	scs, err := bench.LoadScenarios([]string{"../../scenarios/wordcount-flatmap.yaml"})
	require.NoError(t, err)
	restarts := func(opt bench.Options) int {
		r, err := bench.Run(context.Background(), scs[0], bench.Setting{Policy: policy.Name}, opt)
		require.NoError(t, err)
		require.Zero(t, r.Failed, "%v", r.Errors)
		return r.Summary.Rescales - r.Summary.Decisions
	}
	folded, plain := restarts(bench.Options{KEDA: true}), restarts(bench.Options{KEDA: true, PlainScaleDown: true})
	require.Less(t, folded, plain, "KEDA: the fold saves restarts")
	require.Equal(t, restarts(bench.Options{}), folded, "as many restarts as when actuate owns the TaskManagers")
}
